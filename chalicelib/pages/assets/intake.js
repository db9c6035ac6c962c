/* The intake page's behaviour: read the form by the schema, validate it with the same schema
 * the server uses, send it once (one Idempotency-Key per form fill), show errors and the result.
 * The HTML is complete without this file; it only adds what needs a script.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("page-data").textContent);
  var form = document.getElementById("intake");
  var submitButton = document.getElementById("submit");
  var summary = document.getElementById("error-summary");
  var statusLine = document.getElementById("form-status");
  var problem = document.getElementById("send-problem");
  var problemText = document.getElementById("send-problem-text");
  var retryButton = document.getElementById("retry");
  var TIMEOUT_MS = 30000;

  var schema = null;
  var schemaRequest = null;
  var inFlight = false;
  var attempted = false;
  var touched = {};
  // One key for this form fill: a double tap, a retry or a resend after a lost answer all carry
  // it, so the server stores at most one case whatever the network did. It is kept for the tab
  // (sessionStorage), with the body whose answer was lost, so that a reload or a switch of the
  // page's language after a lost answer still finds that case instead of storing a second one.
  var FILL_KEY = "migranet.intake.fill";
  var fill = readStored(FILL_KEY) || {};
  var idempotencyKey = fill.key || newKey();
  // Sent, its answer lost: the server may hold a case for it under this form fill's key.
  var lostBody = fill.lost || null;
  rememberFill();

  function readStored(name) {
    try {
      return JSON.parse(window.sessionStorage.getItem(name) || "null");
    } catch (e) {
      return null;  // storage off (private mode): this page still works, only without memory
    }
  }

  function store(name, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(name);
      else window.sessionStorage.setItem(name, JSON.stringify(value));
    } catch (e) { /* storage off */ }
  }

  function rememberFill() {
    store(FILL_KEY, { key: idempotencyKey, lost: lostBody });
  }

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function loadSchema() {
    if (schema) return Promise.resolve(schema);
    if (!schemaRequest) {
      schemaRequest = fetch(data.schema, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("schema " + r.status); return r.json(); })
        .then(function (s) { schema = s; return s; })
        .catch(function (e) { schemaRequest = null; throw e; });
    }
    return schemaRequest;
  }

  /* ---- reading the form, guided by the schema ---- */

  function controls(path) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name === path; });
  }

  function convert(node, raw) {
    if (node.type === "boolean" || typeof node["const"] === "boolean") return raw === "true";
    if (Array.isArray(node["enum"])) {
      for (var i = 0; i < node["enum"].length; i++) if (String(node["enum"][i]) === raw) return node["enum"][i];
    }
    if ((node.type === "integer" || node.type === "number") && raw.trim() !== "" && !isNaN(Number(raw))) return Number(raw);
    return raw;
  }

  function readValue(node, path) {
    if (node.type === "object" || node.properties) return readObject(node, path);
    var els = controls(path);
    if (!els.length) return undefined;
    if (node.type === "array" && els[0].getAttribute("data-list") === "lines") {
      // Free answers, one per line (form.py): blank lines are no answers.
      var lines = els[0].value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
      return lines.length ? lines.map(function (line) { return convert(node.items || {}, line); }) : undefined;
    }
    if (node.type === "array") {
      return els.filter(function (el) { return el.checked; }).map(function (el) { return convert(node.items || {}, el.value); });
    }
    var first = els[0];
    if (first.type === "radio") {
      var chosen = els.filter(function (el) { return el.checked; })[0];
      return chosen ? convert(node, chosen.value) : undefined;
    }
    if (first.type === "checkbox") return first.checked;
    // An empty answer is no answer: the schema then says "required" (or nothing, if optional).
    if (first.value.trim() === "") return undefined;
    return convert(node, first.value);
  }

  function readObject(node, prefix) {
    var out = {};
    Object.keys(node.properties || {}).forEach(function (name) {
      var value = readValue(node.properties[name], prefix ? prefix + "." + name : name);
      if (value !== undefined) out[name] = value;
    });
    return out;
  }

  /* ---- showing errors next to their fields ---- */

  function fieldBox(field) {
    var path = field.replace(/\[\d+\]/g, "");
    while (path) {
      var box = form.querySelector('[data-field="' + path.replace(/"/g, '\\"') + '"]');
      if (box) return { box: box, path: path };
      path = path.indexOf(".") === -1 ? "" : path.slice(0, path.lastIndexOf("."));
    }
    return null;
  }

  function errorText(error, path, box) {
    var texts = data.errors;
    var code = error.code;
    if (code === "required" && (box.classList.contains("choice") || box.querySelector("select"))) code = "required_choice";
    // The number is optional until SMS reminders are asked for: "fill in this field" under "(optional)" puzzled.
    if (code === "required" && path === "phone") code = "required_phone_for_sms";
    var text = texts[code] || texts.invalid || error.message;
    var node = schema && window.SchemaValidate.subschema(schema, path);
    return text.replace("{max}", node && node.maxLength ? String(node.maxLength) : "");
  }

  function describe(el, errorId, on) {
    var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && id !== errorId; });
    if (on) ids.push(errorId);
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  }

  function clearFieldErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-field].invalid"), function (box) {
      box.classList.remove("invalid");
      var slot = document.getElementById(box.getAttribute("data-error-id"));
      if (slot) { slot.hidden = true; slot.textContent = ""; }
      controls(box.getAttribute("data-field")).forEach(function (el) {
        el.removeAttribute("aria-invalid");
        describe(el, box.getAttribute("data-error-id"), false);
      });
    });
  }

  function clearErrors() {
    clearFieldErrors();
    summary.hidden = true;
    summary.querySelector("ul").textContent = "";
  }

  function labelOf(box) {
    var label = box.querySelector("legend, label");
    return label ? label.textContent.replace(/\s*\([^)]*\)\s*$/, "").trim() : "";
  }

  /* Show `errors` at their fields. With `announce`, list them in the summary and focus the
   * first one; without, only keep an already visible summary up to date (no focus jumps). */
  function showErrors(errors, announce) {
    var summaryVisible = !summary.hidden;
    clearFieldErrors();
    var shown = [];
    var loose = [];
    errors.forEach(function (error) {
      var found = fieldBox(error.field);
      if (!found) { loose.push(error.message); return; }
      if (found.box.classList.contains("invalid")) return;
      var slot = found.box.querySelector(".error");
      var text = errorText(error, found.path, found.box);
      found.box.classList.add("invalid");
      found.box.setAttribute("data-error-id", slot.id);
      slot.textContent = text;
      slot.hidden = false;
      var els = controls(found.path);
      if (!els.length) els = Array.prototype.slice.call(found.box.querySelectorAll("input, select, textarea"), 0, 1);
      els.forEach(function (el) {
        el.setAttribute("aria-invalid", "true");
        describe(el, slot.id, true);
      });
      shown.push({ box: found.box, text: text, target: els[0] });
    });
    if (!announce && !summaryVisible) return;
    // Document order, so the summary reads top to bottom like the form.
    shown.sort(function (a, b) { return a.box.compareDocumentPosition(b.box) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1; });
    var list = summary.querySelector("ul");
    list.textContent = "";
    shown.forEach(function (item) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + (item.target ? item.target.id : item.box.id);
      link.textContent = labelOf(item.box);
      link.addEventListener("click", function (ev) {
        if (item.target) { ev.preventDefault(); item.target.focus(); }
      });
      li.appendChild(link);
      list.appendChild(li);
    });
    loose.forEach(function (message) {
      var li = document.createElement("li");
      li.textContent = message;
      list.appendChild(li);
    });
    summary.hidden = list.children.length === 0;
    if (!announce) return;
    if (shown.length && shown[0].target) shown[0].target.focus();
    else if (!summary.hidden) summary.focus();
  }

  /* ---- live checks: after a change, or everywhere once the applicant tried to send ---- */

  function recheck(ev) {
    if (!schema || inFlight) return;
    if (ev && ev.target && ev.target.name) touched[ev.target.name] = true;
    var errors = window.SchemaValidate.validate(schema, readObject(schema, ""));
    if (!attempted) {
      errors = errors.filter(function (e) {
        var found = fieldBox(e.field);
        return found && touched[found.path];
      });
    }
    showErrors(errors, false);
  }

  /* ---- sending ---- */

  function setBusy(busy) {
    inFlight = busy;
    submitButton.disabled = busy;
    retryButton.disabled = busy;
    form.setAttribute("aria-busy", busy ? "true" : "false");
    statusLine.textContent = busy ? data.texts.sending : "";
  }

  // Keyboard users keep their place: the disabled send button lost focus, so put it here.
  function showProblem(text, canRetry) {
    problemText.textContent = text;
    retryButton.hidden = !canRetry;
    problem.hidden = false;
    if (canRetry) retryButton.focus();
    else problem.focus();
  }

  /* The answer outlives a reload of this tab (a phone reloads a page when it was in the background):
   * the reference and the status link are shown once only by the server. "New request" forgets it. */
  var RESULT_KEY = "migranet.intake.result";

  function copyStatusLink() {
    var done = document.getElementById("copy-status-link-done");
    navigator.clipboard.writeText(document.getElementById("result-status-link").href).then(function () {
      done.textContent = data.texts.link_copied;
    }, function () {
      done.textContent = "";
    });
  }

  function showResult(body, changesLost) {
    store(RESULT_KEY, { reference: body.reference, partner: body.partner, partner_name: body.partner_name,
      status_link: body.status_link, changes_lost: !!changesLost, sms: body.sms });
    store(DRAFT_KEY, null);  // sent: nothing of it may reappear in a later form in this tab
    var lost = document.getElementById("result-changes-lost");
    lost.textContent = changesLost ? data.texts.changes_not_saved : "";
    lost.hidden = !changesLost;
    document.getElementById("result-reference").textContent = body.reference;
    document.getElementById("result-partner").textContent = body.partner_name || body.partner;
    document.getElementById("result-partner-about").textContent = data.partners[body.partner] || "";
    document.getElementById("result-sms-not-possible").hidden = body.sms !== "not_possible";
    var statusLink = document.getElementById("result-status-link");
    if (body.status_link) {
      statusLink.href = body.status_link;
      statusLink.textContent = body.status_link;
      statusLink.parentNode.hidden = false;
      // Copying needs a secure context (https, or this machine); without it the link is still there to select.
      document.querySelector(".copy-link").hidden = !(navigator.clipboard && window.isSecureContext);
    }
    form.hidden = true;
    summary.hidden = true;
    var result = document.getElementById("result");
    result.hidden = false;
    result.focus();
    window.scrollTo(0, 0);
  }

  /* POST `body`; the caller has already set the form busy. `recovering`: the body whose answer was
   * lost, sent again because the applicant's changed one found it stored. */
  function send(body, recovering) {
    problem.hidden = true;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    fetch(data.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey, "Accept": "application/json" },
      body: body,
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) { return { status: response.status, body: json }; });
    }).then(function (answer) {
      clearTimeout(timer);
      setBusy(false);
      if (answer.status === 200 || answer.status === 201) {
        lostBody = null;
        rememberFill();
        showResult(answer.body, !!recovering);
      } else if (answer.status === 400 && Array.isArray(answer.body.errors)) {
        showErrors(answer.body.errors, true);
      } else if (answer.status === 409 && answer.body.code === "idempotency_key_reused" && lostBody && lostBody !== body) {
        // The send whose answer was lost did arrive, and the entries changed since: its stored answer
        // (reference and link) is what the applicant needs, with word that the changes were not saved.
        var earlier = lostBody;
        lostBody = null;
        rememberFill();
        setBusy(true);
        send(earlier, true);
      } else if (answer.status === 409) {
        store(FILL_KEY, null);  // the text says a reload gives a new form: it gets a new key then
        keepDraft = false;  // ...and an empty one: this one has probably arrived already
        showProblem(data.texts.conflict, false);
      } else {
        showProblem(data.texts.server_error, answer.status >= 500 || answer.status === 429);
      }
    }, function () {
      clearTimeout(timer);
      setBusy(false);
      // The answer was lost, not necessarily the request: whatever is sent next carries the same key.
      lostBody = body;
      rememberFill();
      showProblem(data.texts.network_error, true);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (inFlight) return;
    attempted = true;
    setBusy(true);  // at once: a second tap in the same instant finds the form busy
    loadSchema().then(function (s) {
      var doc = readObject(s, "");
      var errors = window.SchemaValidate.validate(s, doc);
      if (errors.length) { setBusy(false); showErrors(errors, true); return; }
      clearErrors();
      send(JSON.stringify(doc));
    }, function () {
      setBusy(false);
      showProblem(data.texts.network_error, true);
    });
  });

  // The entries as they are now: unchanged, the same body and key fetch the first answer; changed
  // after a lost answer, the 409 path above shows that answer and says the change was not saved.
  retryButton.addEventListener("click", function () {
    if (inFlight) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { cancelable: true }));
  });

  form.addEventListener("change", recheck);
  // Phones in Arabic and Persian keyboards type ٠١٢… or ۰۱۲…; numbers and postcodes need 0-9.
  function latinDigits(text) {
    return text.replace(/[\u0660-\u0669\u06f0-\u06f9]/g, function (d) { return String(d.charCodeAt(0) & 0xf); });
  }

  form.addEventListener("input", function (ev) {
    var el = ev.target;
    if (el.type === "tel" || el.getAttribute("inputmode") === "numeric") {
      var latin = latinDigits(el.value);
      if (latin !== el.value) el.value = latin;
    }
    // Typing clears an error at once; new errors wait for the change (blur) event.
    if (ev.target.getAttribute("aria-invalid") === "true") recheck(ev);
  });

  /* Switching the page's language keeps what was typed (the same form, other words): only the
   * entries changed from the page's defaults travel, so the new page's own defaults stay. */
  var DRAFT_KEY = "migranet.intake.draft";

  function changedEntries() {
    var changed = {};
    Array.prototype.forEach.call(form.elements, function (c) {
      // Consent is given to the texts as shown: in another language, they are read and ticked anew.
      if (!c.id || c.id.indexOf("f-consent") === 0) return;
      if (c.type === "checkbox" || c.type === "radio") {
        if (c.checked !== c.defaultChecked) changed[c.id] = c.checked;
      } else if (c.tagName === "SELECT") {
        var initial = Array.prototype.filter.call(c.options, function (o) { return o.defaultSelected; })[0] || c.options[0];
        if (initial && c.value !== initial.value) changed[c.id] = c.value;
      } else if (c.type !== "submit" && c.type !== "button" && c.value !== c.defaultValue) {
        changed[c.id] = c.value;
      }
    });
    return changed;
  }

  /* Kept for half an hour: long enough to look something up in another app, not to greet the next
   * person on a shared phone with what someone left unsent. */
  var DRAFT_MINUTES = 30;
  function saveDraft() {
    store(DRAFT_KEY, { at: Date.now(), entries: changedEntries() });
  }

  function restoreEntries() {
    var kept = readStored(DRAFT_KEY);
    store(DRAFT_KEY, null);
    var draft = kept && kept.at > Date.now() - DRAFT_MINUTES * 60000 ? kept.entries : null;
    if (!draft) return;
    // Unchecking first: checking one radio button then unchecks the others of its group.
    [false, true].forEach(function (pass) {
      Object.keys(draft).forEach(function (id) {
        var c = document.getElementById(id);
        if (!c || !form.contains(c)) return;
        var value = draft[id];
        if (c.type === "checkbox" || c.type === "radio") { if (value === pass) c.checked = value; }
        else if (pass && typeof value === "string") c.value = value;
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".lang-picker a"), function (link) {
    link.addEventListener("click", function (event) {
      // Only when this tab goes there: a link opened in a new tab would leave the draft for a later form here.
      if (form.hidden || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      saveDraft();
    });
  });

  /* A phone reloads a tab it had in the background, and people switch apps to look up a certificate's
   * title: what was typed comes back in this tab (the consent excepted, as on a language switch). */
  var keepDraft = true;
  function keepEntries() {
    if (!form.hidden && keepDraft) saveDraft();
  }
  window.addEventListener("pagehide", keepEntries);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") keepEntries();
  });

  document.getElementById("copy-status-link").addEventListener("click", copyStatusLink);

  document.getElementById("new-request").addEventListener("click", function () {
    [RESULT_KEY, FILL_KEY, DRAFT_KEY].forEach(function (name) { store(name, null); });
    window.location.reload();  // an empty form with a new key
  });

  var kept = readStored(RESULT_KEY);
  if (kept && kept.reference) showResult(kept, kept.changes_lost);
  else restoreEntries();
  loadSchema().catch(function () { /* retried when the applicant sends */ });
  submitButton.disabled = false;
})();
