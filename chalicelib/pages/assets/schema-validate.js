/* A small JSON Schema (draft 2020-12) validator for the browser, no dependencies.
 *
 * It covers the keywords our schemas use (SUPPORTED below; a unit test fails when a schema
 * uses one that is missing) and reports errors exactly like chalicelib/validation.py:
 * the same field paths ("qualification.country", "goals[0]"), the same codes
 * (x-error-code, else one per keyword) and one error per field, sorted by field.
 */
(function (global) {
  "use strict";

  var SUPPORTED = [
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "x-error-code", "x-format",
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "format",
    "minimum", "maximum", "if", "then", "else", "allOf"
  ];

  var KEYWORD_CODES = {
    required: "required", additionalProperties: "not_allowed", maxLength: "too_long",
    minLength: "required", "enum": "invalid_choice", "const": "invalid_choice", type: "wrong_type",
    minItems: "required", uniqueItems: "duplicate", format: "invalid_format", pattern: "invalid_format"
  };

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function typeMatches(type, value) {
    switch (type) {
      case "object": return isObject(value);
      case "array": return Array.isArray(value);
      case "string": return typeof value === "string";
      case "boolean": return typeof value === "boolean";
      case "null": return value === null;
      case "number": return typeof value === "number" && isFinite(value);
      case "integer": return typeof value === "number" && isFinite(value) && Math.floor(value) === value;
      default: return true;
    }
  }

  // JSON equality: jsonschema compares values, not object identity (and true is not 1).
  function equal(a, b) {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return false;
      for (var i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
      return true;
    }
    if (isObject(a) && isObject(b)) {
      var keys = Object.keys(a);
      if (keys.length !== Object.keys(b).length) return false;
      return keys.every(function (k) { return Object.prototype.hasOwnProperty.call(b, k) && equal(a[k], b[k]); });
    }
    return false;
  }

  // Python counts code points; JavaScript's .length counts UTF-16 units.
  function codePoints(text) {
    return Array.from(text).length;
  }

  var FORMATS = {
    email: function (v) { return v.indexOf("@") !== -1; }  // what jsonschema's FormatChecker checks
  };

  var patternCache = {};
  function regex(pattern) {
    if (!patternCache[pattern]) patternCache[pattern] = new RegExp(pattern, "u");
    return patternCache[pattern];
  }

  // Raw errors in the order jsonschema yields them: schema keywords in document order.
  function check(schema, value, path, out) {
    if (schema === true || schema === undefined) return;
    if (schema === false) { out.push({ path: path, keyword: "false", schema: {}, instance: value }); return; }
    Object.keys(schema).forEach(function (keyword) {
      var arg = schema[keyword];
      var fail = function () { out.push({ path: path, keyword: keyword, arg: arg, schema: schema, instance: value }); };
      switch (keyword) {
        case "type":
          if (!(Array.isArray(arg) ? arg : [arg]).some(function (t) { return typeMatches(t, value); })) fail();
          break;
        case "enum":
          if (!arg.some(function (option) { return equal(option, value); })) fail();
          break;
        case "const":
          if (!equal(arg, value)) fail();
          break;
        case "required":
          if (isObject(value)) {
            arg.forEach(function (name) {
              if (!Object.prototype.hasOwnProperty.call(value, name)) {
                out.push({ path: path, keyword: keyword, arg: arg, schema: schema, instance: value, missing: name });
              }
            });
          }
          break;
        case "properties":
          if (isObject(value)) {
            Object.keys(arg).forEach(function (name) {
              if (Object.prototype.hasOwnProperty.call(value, name)) check(arg[name], value[name], path.concat([name]), out);
            });
          }
          break;
        case "additionalProperties":
          if (isObject(value)) {
            var known = schema.properties || {};
            var extra = Object.keys(value).filter(function (name) { return !Object.prototype.hasOwnProperty.call(known, name); });
            if (arg === false) {
              if (extra.length) out.push({ path: path, keyword: keyword, arg: arg, schema: schema, instance: value, extra: extra });
            } else if (isObject(arg)) {
              extra.forEach(function (name) { check(arg, value[name], path.concat([name]), out); });
            }
          }
          break;
        case "items":
          if (Array.isArray(value)) value.forEach(function (item, i) { check(arg, item, path.concat([i]), out); });
          break;
        case "minLength":
          if (typeof value === "string" && codePoints(value) < arg) fail();
          break;
        case "maxLength":
          if (typeof value === "string" && codePoints(value) > arg) fail();
          break;
        case "pattern":
          if (typeof value === "string" && !regex(arg).test(value)) fail();
          break;
        case "format":
          if (typeof value === "string" && FORMATS[arg] && !FORMATS[arg](value)) fail();
          break;
        case "minItems":
          if (Array.isArray(value) && value.length < arg) fail();
          break;
        case "maxItems":
          if (Array.isArray(value) && value.length > arg) fail();
          break;
        case "uniqueItems":
          if (arg && Array.isArray(value)) {
            for (var i = 0; i < value.length; i++) {
              for (var j = i + 1; j < value.length; j++) if (equal(value[i], value[j])) { fail(); return; }
            }
          }
          break;
        case "minimum":
          if (typeof value === "number" && value < arg) fail();
          break;
        case "maximum":
          if (typeof value === "number" && value > arg) fail();
          break;
        case "allOf":
          arg.forEach(function (sub) { check(sub, value, path, out); });
          break;
        case "if":
          var probe = [];
          check(arg, value, path, probe);
          var branch = probe.length === 0 ? schema.then : schema["else"];
          if (branch !== undefined) check(branch, value, path, out);
          break;
        default:
          break;  // annotations (title, description, then/else handled by "if", x-…)
      }
    });
  }

  function fieldPath(parts) {
    var out = "";
    parts.forEach(function (part) {
      if (typeof part === "number") out += "[" + part + "]";
      else out += out ? "." + part : String(part);
    });
    return out;
  }

  function messageFor(error, field, code) {
    // English fallbacks, as the server words them; pages show label texts by code instead.
    if (error.keyword === "maxLength") return field + " is too long (at most " + error.arg + " characters).";
    if (code === "required") return field + " must not be empty.";
    return field + " is invalid (" + error.keyword + ").";
  }

  function toFieldErrors(error) {
    if (error.keyword === "required") {
      var field = fieldPath(error.path.concat([error.missing]));
      return [{ field: field, code: "required", message: field + " is required." }];
    }
    if (error.keyword === "additionalProperties") {
      return error.extra.map(function (name) {
        return { field: fieldPath(error.path.concat([name])), code: "not_allowed", message: "Unknown field '" + name + "' is not allowed." };
      });
    }
    var path = fieldPath(error.path) || "(body)";
    var code = error.schema["x-error-code"];
    if (error.keyword === "type" || error.keyword === "enum" || error.keyword === "maxLength" || !code) {
      code = KEYWORD_CODES[error.keyword] || "invalid";
    }
    return [{ field: path, code: code, message: messageFor(error, path, code) }];
  }

  /* Every problem with `value`: [{field, code, message}], one per field, sorted by field. */
  function validate(schema, value) {
    var raw = [];
    check(schema, value, [], raw);
    var seen = {};
    var byField = {};
    var order = [];
    raw.forEach(function (error) {
      toFieldErrors(error).forEach(function (fe) {
        var key = fe.field + "\u0000" + fe.code;
        if (seen[key]) return;
        seen[key] = true;
        if (!byField[fe.field]) { byField[fe.field] = fe; order.push(fe.field); }
      });
    });
    return order.sort().map(function (field) { return byField[field]; });
  }

  /* The subschema at a field path ("qualification.country", "goals[0]"), or undefined. */
  function subschema(schema, field) {
    var node = schema;
    var parts = field.replace(/\[\d+\]/g, ".[]").split(".").filter(Boolean);
    for (var i = 0; i < parts.length && node; i++) {
      node = parts[i] === "[]" ? node.items : (node.properties || {})[parts[i]];
    }
    return node;
  }

  global.SchemaValidate = { validate: validate, subschema: subschema, SUPPORTED: SUPPORTED };
})(window);
