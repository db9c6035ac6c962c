/* The staff page's shared pieces: texts, DOM building, Berlin time, the signed-in session and the API.
 *
 * Nothing here touches innerHTML: every value from the API reaches the page as text.
 * The token lives in sessionStorage only (gone with the tab, never sent as a cookie).
 */
(function (global) {
  "use strict";

  var data = JSON.parse(document.getElementById("page-data").textContent);
  var TOKEN_KEY = "migranet.staff.token";
  var REFRESH_KEY = "migranet.staff.refresh";  // Cognito's refresh token: renews the hour-long ID token
  var BERLIN = "Europe/Berlin";
  var LOCALE = data.lang === "de" ? "de-DE" : "en-GB";
  var TIMEOUT_MS = 30000;

  /* ---- texts ---- */

  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : whole;
    });
  }

  function t(key, values) {
    return fill(data.texts[key] !== undefined ? data.texts[key] : key, values);
  }

  function humanize(code) {
    var text = String(code || "").replace(/[_-]+/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /* A name from one of the label maps (statuses, outcomes, actions …), the code itself when unknown. */
  function label(map, code) {
    var names = data[map] || {};
    return names[code] !== undefined ? names[code] : humanize(code);
  }

  /* ---- DOM ---- */

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  var statusLine = byId("status");
  /* Polite announcement for screen readers, also visible; the same text twice is announced twice. */
  function announce(message) {
    statusLine.textContent = "";
    global.setTimeout(function () { statusLine.textContent = message; }, 30);
  }

  /* An action's result that a view change would otherwise talk over ("claimed", "transferred"):
   * said instead of the next "case opened" / "cases shown". */
  var afterLoad = null;
  function announceAfterLoad(message) {
    afterLoad = message;
  }

  function announceLoaded(message) {
    announce(afterLoad || message);
    afterLoad = null;
  }

  function showProblem(box, message) {
    statusLine.textContent = "";  // an earlier success ("booked …") must not stand beside the problem
    clear(box).appendChild(el("p", { text: message }));
    box.hidden = false;
    box.focus();
  }

  function hideProblem(box) {
    box.hidden = true;
    clear(box);
  }

  /* ---- time: always Europe/Berlin, whatever the computer's zone ---- */

  var formats = {};
  function formatter(kind) {
    if (!formats[kind]) {
      var options = { timeZone: BERLIN };
      if (kind === "datetime") { options.dateStyle = "medium"; options.timeStyle = "short"; }
      if (kind === "date") { options.dateStyle = "medium"; }
      if (kind === "weekday") { options.weekday = "short"; options.day = "numeric"; options.month = "short";
        options.year = "numeric"; options.hour = "2-digit"; options.minute = "2-digit"; }
      if (kind === "parts") {
        return new Intl.DateTimeFormat("en-CA", { timeZone: BERLIN, year: "numeric", month: "2-digit", day: "2-digit",
          hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
      }
      formats[kind] = new Intl.DateTimeFormat(LOCALE, options);
    }
    return formats[kind];
  }

  /* Wall-clock parts in Berlin of an instant: {date: "YYYY-MM-DD", time: "HH:MM"}. */
  function berlinParts(instant) {
    var parts = {};
    formatter("parts").formatToParts(instant).forEach(function (p) { parts[p.type] = p.value; });
    return { date: parts.year + "-" + parts.month + "-" + parts.day, time: parts.hour + ":" + parts.minute,
      seconds: parts.second };
  }

  /* The instant of a Berlin wall-clock time (DST-aware: corrects the guessed offset twice). */
  function berlinInstant(date, time) {
    var d = date.split("-").map(Number);
    var c = time.split(":").map(Number);
    var wanted = Date.UTC(d[0], d[1] - 1, d[2], c[0], c[1] || 0);
    var guess = wanted;
    for (var i = 0; i < 2; i++) {
      var p = berlinParts(new Date(guess));
      var pd = p.date.split("-").map(Number);
      var pc = p.time.split(":").map(Number);
      var shown = Date.UTC(pd[0], pd[1] - 1, pd[2], pc[0], pc[1]);
      guess += wanted - shown;
    }
    return new Date(guess);
  }

  /* An API timestamp as a Date: with an offset it is exact; without one it is Berlin wall-clock time. */
  function parseTime(value) {
    if (!value) return null;
    var text = String(value);
    if (/[zZ]$|[+-]\d\d:?\d\d$/.test(text)) return new Date(text);
    var m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(text);
    return m ? berlinInstant(m[1], m[2]) : new Date(text);
  }

  function formatTime(value, kind) {
    var instant = value instanceof Date ? value : parseTime(value);
    if (!instant || isNaN(instant.getTime())) return value ? String(value) : t("none");
    return formatter(kind || "datetime").format(instant);
  }

  function todayBerlin(offsetDays) {
    var now = new Date(Date.now() + (offsetDays || 0) * 86400000);
    return berlinParts(now).date;
  }

  function hours(value) {
    if (value === null || value === undefined) return t("no_data");
    return t("hours", { n: new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value) });
  }

  function percent(value) {
    if (value === null || value === undefined) return t("no_data");
    return t("percent", { n: new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value * 100) });
  }

  function displayName(kind, code) {
    try {
      return new Intl.DisplayNames([LOCALE], { type: kind }).of(code) || code;
    } catch (e) {
      return code;
    }
  }

  /* ---- the signed-in session ---- */

  function base64urlDecode(text) {
    var padded = text.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) padded += "=";
    var binary = global.atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder("utf-8").decode(bytes);
  }

  /* The token's claims, read only to show who is signed in and when it expires (the API verifies it). */
  function readClaims(token) {
    var parts = String(token || "").split(".");
    if (parts.length !== 3) return null;
    try {
      var claims = JSON.parse(base64urlDecode(parts[1]));
      return claims && typeof claims === "object" ? claims : null;
    } catch (e) {
      return null;
    }
  }

  var session = {
    token: null,
    claims: null,
    partners: {},
    get staffId() { return this.claims ? this.claims.sub : null; },
    get name() { return this.claims ? (this.claims.name || this.claims.email || this.claims.sub) : ""; },
    get role() { return this.claims ? this.claims["custom:role"] : null; },
    get partner() { return this.claims ? this.claims["custom:partner"] || null : null; },
    get isCoordinator() { return this.role === "coordinator"; },
    expiresAt: function () { return this.claims && this.claims.exp ? this.claims.exp * 1000 : 0; },
    load: function () {
      var token = null;
      try { token = global.sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
      return token ? this.set(token, false) : false;
    },
    set: function (token, keep) {
      var claims = readClaims(token);
      if (!claims) return false;
      this.token = token;
      this.claims = claims;
      if (keep !== false) {
        try { global.sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: this tab only */ }
      }
      return true;
    },
    clear: function () {
      this.token = null;
      this.claims = null;
      try {
        global.sessionStorage.removeItem(TOKEN_KEY);
        global.sessionStorage.removeItem(REFRESH_KEY);
      } catch (e) { /* nothing stored */ }
    },
    refreshToken: function () {
      try { return global.sessionStorage.getItem(REFRESH_KEY); } catch (e) { return null; }
    },
    keepRefreshToken: function (value) {
      try { if (value) global.sessionStorage.setItem(REFRESH_KEY, value); } catch (e) { /* private mode */ }
    },
    partnerName: function (id) {
      return (this.partners[id] && this.partners[id].name) || id || "";
    }
  };

  /* ---- the API ---- */

  var unauthorizedHandler = function () {};

  function ApiError(kind, status, body, retryAfter) {
    this.kind = kind;
    this.status = status;
    this.body = body || {};
    this.retryAfter = retryAfter;
  }

  /* One JSON request with the bearer token; resolves the parsed body, rejects an ApiError.
   * A 401 signs the person out (expired or revoked token) before rejecting. */
  function api(method, path, body, options) {
    var headers = { Accept: (options && options.accept) || "application/json" };
    if (session.token) headers.Authorization = "Bearer " + session.token;
    if (options && options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    var controller = global.AbortController ? new AbortController() : null;
    var timer = controller ? global.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(data.base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) global.clearTimeout(timer);
      var raw = options && options.raw;
      return (raw ? response.text() : response.text().then(function (text) {
        try { return text ? JSON.parse(text) : {}; } catch (e) { return { error: text }; }
      })).then(function (parsed) {
        if (response.ok) return parsed;
        var parsedBody = typeof parsed === "string" ? { error: parsed } : parsed;
        var error = new ApiError("http", response.status, parsedBody, response.headers.get("Retry-After"));
        if (response.status === 401) unauthorizedHandler(error);
        throw error;
      });
    }, function () {
      if (timer) global.clearTimeout(timer);
      throw new ApiError("network", 0, {});
    });
  }

  function explain(error) {
    if (!(error instanceof ApiError)) return t("server_error", { error: String(error && error.message || error) });
    if (error.kind === "network") return t("network_error");
    if (error.status === 503) return t("busy", { seconds: error.retryAfter || 5 });
    if (error.status === 404) return t("not_found");
    // The server explains in English; the page says it in its own language wherever it knows the code.
    var problems = data.problems || {};
    if (error.body && problems[error.body.code]) return problems[error.body.code];
    return t("server_error", { error: error.body.error || error.status });
  }

  /* Field errors of a 400 (or of the schema in the browser) next to their controls: "<prefix>-<field>". */
  function showFieldErrors(prefix, errors) {
    var first = null;
    (errors || []).forEach(function (fe) {
      var field = String(fe.field || "").split(".")[0].split("[")[0];
      var control = byId(prefix + "-" + field);
      if (!control || !markInvalid(control, data.errors[fe.code] || fe.message || data.errors.invalid)) return;
      if (!first) first = control;
    });
    if (first) first.focus();
    return first !== null;
  }

  /* One control's problem in its "<id>-error" slot, tied to it for screen readers. */
  function markInvalid(control, message) {
    var slot = byId(control.id + "-error");
    if (!slot) return false;
    slot.textContent = message;
    slot.hidden = false;
    control.setAttribute("aria-invalid", "true");
    var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(slot.id) === -1) described.push(slot.id);
    control.setAttribute("aria-describedby", described.join(" "));
    return true;
  }

  function clearFieldErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".error"), function (slot) {
      slot.hidden = true;
      slot.textContent = "";
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (control) {
      control.removeAttribute("aria-invalid");
    });
  }

  var schemas = {};
  function schema(name) {
    if (!schemas[name]) {
      schemas[name] = fetch(data.schemas[name], { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error("schema " + r.status);
        return r.json();
      }).catch(function (e) { delete schemas[name]; throw e; });
    }
    return schemas[name];
  }

  /* A button that cannot be pressed twice while its request runs. */
  function busy(button, promise) {
    if (button) button.disabled = true;
    return promise.then(function (value) {
      if (button) button.disabled = false;
      return value;
    }, function (error) {
      if (button) button.disabled = false;
      throw error;
    });
  }

  /* A random Idempotency-Key (32 hex characters). */
  function newKey() {
    var raw = new Uint8Array(16);
    global.crypto.getRandomValues(raw);
    return Array.prototype.map.call(raw, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
  }

  /* A link cannot carry the bearer token: what the API answered is handed to the browser as a file. */
  function download(text, type, filename) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var link = el("a", { href: url, download: filename, hidden: true });
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    global.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  global.Staff = {
    data: data,
    t: t,
    label: label,
    el: el,
    clear: clear,
    byId: byId,
    announce: announce,
    announceAfterLoad: announceAfterLoad,
    announceLoaded: announceLoaded,
    showProblem: showProblem,
    hideProblem: hideProblem,
    parseTime: parseTime,
    formatTime: formatTime,
    berlinParts: berlinParts,
    berlinInstant: berlinInstant,
    todayBerlin: todayBerlin,
    hours: hours,
    percent: percent,
    displayName: displayName,
    readClaims: readClaims,
    session: session,
    api: api,
    newKey: newKey,
    ApiError: ApiError,
    explain: explain,
    onUnauthorized: function (handler) { unauthorizedHandler = handler; },
    showFieldErrors: showFieldErrors,
    markInvalid: markInvalid,
    clearFieldErrors: clearFieldErrors,
    schema: schema,
    busy: busy,
    download: download,
    LOCALE: LOCALE
  };
})(window);
