/* The staff page: sign-in (pasted token locally, Cognito hosted UI with PKCE in production),
 * the views (routed / claimed by me / closed, coordinators: all partners and metrics), the queue
 * with paging and claiming, and the hash routes (#/case/<id>) that open a case.
 */
(function (global) {
  "use strict";

  var S = global.Staff;
  var data = S.data;
  var t = S.t;
  var session = S.session;
  var PKCE_KEY = "migranet.staff.pkce";
  var PAGE_SIZE = 25;

  var signin = S.byId("signin");
  var signinMessage = S.byId("signin-message");
  var workspace = S.byId("workspace");
  var tabs = Array.prototype.slice.call(document.querySelectorAll("#tabs [role=tab]"));
  var queuePanel = S.byId("panel-queue");
  var metricsPanel = S.byId("panel-metrics");
  var queueTitle = S.byId("queue-title");
  var queueBody = document.querySelector("#queue-table tbody");
  var queueEmpty = S.byId("queue-empty");
  var moreButton = S.byId("queue-more");
  var networkFilter = S.byId("network-filter");
  var expiryTimer = null;

  var state = { view: null, rows: [], cursor: null, loading: 0 };

  /* ---- signing in and out ---- */

  function showSignin(message) {
    workspace.hidden = true;
    S.byId("who").hidden = true;
    signin.hidden = false;
    if (message) S.showProblem(signinMessage, message);
    else S.hideProblem(signinMessage);
    var field = S.byId("token");
    if (field && !message) field.focus();
  }

  function expire(message) {
    if (expiryTimer) global.clearTimeout(expiryTimer);
    S.announce("");  // "signed in as …" must not stand above the refusal of that very token
    session.clear();
    state.view = null;
    state.rows = [];
    S.caseView.reset();
    S.metrics.reset();
    showSignin(message);
  }

  S.onUnauthorized(function (error) {
    var expired = error.body && error.body.code === "token_expired";
    expire(expired ? t("expired") : t("token_rejected", { error: error.body.error || error.status }));
  });

  /* Cognito's ID token lasts an hour: with the refresh token from the sign-in it is renewed two
   * minutes ahead, so nobody is signed out (and loses what they were typing) every hour. Without
   * one (a pasted local token), or when renewing fails, the page signs out when the token ends. */
  var RENEW_AHEAD_MS = 2 * 60 * 1000;

  function watchExpiry() {
    if (expiryTimer) global.clearTimeout(expiryTimer);
    var left = session.expiresAt() - Date.now();
    if (!session.expiresAt() || left >= 2147483647) return;
    if (data.auth.mode === "cognito" && session.refreshToken()) {
      expiryTimer = global.setTimeout(renew, Math.max(0, left - RENEW_AHEAD_MS));
      return;
    }
    expireWhenDue();
  }

  function expireWhenDue() {
    if (expiryTimer) global.clearTimeout(expiryTimer);
    var left = Math.max(0, session.expiresAt() - Date.now());
    expiryTimer = global.setTimeout(function () { expire(t("expired")); }, left);
  }

  function renew() {
    var auth = data.auth;
    var before = session.expiresAt();
    fetch(auth.token_url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      credentials: "omit",
      body: new URLSearchParams({
        grant_type: "refresh_token", client_id: auth.client_id, refresh_token: session.refreshToken()
      }).toString()
    }).then(function (response) {
      if (!response.ok) throw new Error("not renewed");
      return response.json();
    }).then(function (tokens) {
      if (!session.token) return;  // signed out meanwhile
      var previous = session.token;
      if (!tokens.id_token || !session.set(tokens.id_token) || session.expiresAt() <= before) {
        session.set(previous);
        throw new Error("not renewed");
      }
      session.keepRefreshToken(tokens.refresh_token);  // Cognito sends a new one only when it rotates them
      watchExpiry();
    }).catch(function () {
      if (session.token) expireWhenDue();
    });
  }

  function startSession() {
    if (session.expiresAt() && session.expiresAt() <= Date.now()) {
      expire(t("expired"));
      return;
    }
    watchExpiry();
    signin.hidden = true;
    S.hideProblem(signinMessage);
    workspace.hidden = false;
    loadPartners().then(function () {
      showWho();
      S.byId("tab-network").hidden = !session.isCoordinator;
      S.byId("tab-metrics").hidden = !session.isCoordinator;
      var ownQueue = !!session.partner;
      ["routed", "mine", "closed"].forEach(function (v) { S.byId("tab-" + v).hidden = !ownQueue; });
      announceSignedIn();
      route();
      // Keyboard and screen-reader users start at the list they came for (a case link focuses its case).
      if (!document.body.classList.contains("case-open")) queueTitle.focus({ preventScroll: true });
    }, function (error) {
      if (session.token) S.announce(S.explain(error));
    });
  }

  function announceSignedIn() {
    S.announce(t("signed_in", { name: session.name }));
  }

  function showWho() {
    var who = S.byId("who");
    S.byId("who-name").textContent = session.name;
    var role = t(session.isCoordinator ? "role_coordinator" : "role_staff");
    var where = session.partner ? session.partnerName(session.partner) : t("network");
    S.byId("who-detail").textContent = role + " · " + where;
    who.hidden = false;
  }

  function loadPartners() {
    return S.api("GET", "/partners").then(function (body) {
      session.partners = {};
      (body.partners || []).forEach(function (p) { session.partners[p.id] = p; });
      S.caseView.setPartners(body.partners || []);
      fillPartnerFilter(body.partners || []);
    });
  }

  function signOut() {
    var auth = data.auth;
    expire(null);
    S.announce(t("signed_out"));
    if (auth.mode === "cognito") {
      global.location.assign(auth.logout_url + "?" + new URLSearchParams({
        client_id: auth.client_id, logout_uri: auth.redirect_uri
      }).toString());
    }
  }

  function wireTokenForm() {
    var form = S.byId("token-form");
    if (!form) return;
    var field = S.byId("token");
    var button = S.byId("token-submit");
    button.disabled = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      S.clearFieldErrors(form);
      // As the command's hint says to send it ("Authorization: Bearer …"), the prefix may come along.
      var token = field.value.replace(/^\s*(Authorization:\s*)?Bearer\s+/i, "").replace(/\s+/g, "");
      var problem = !token ? t("token_empty") : !session.set(token) ? t("token_malformed") : null;
      if (problem) {
        S.markInvalid(field, problem);
        field.focus();
        return;
      }
      field.value = "";
      startSession();
    });
  }

  /* ---- Cognito hosted UI: authorization code flow with PKCE (a browser cannot keep a secret) ---- */

  function randomString(bytes) {
    var raw = new Uint8Array(bytes);
    global.crypto.getRandomValues(raw);
    return base64url(raw);
  }

  function base64url(bytes) {
    var binary = "";
    new Uint8Array(bytes).forEach(function (b) { binary += String.fromCharCode(b); });
    return global.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function hostedSignIn() {
    var auth = data.auth;
    var pending = { verifier: randomString(48), state: randomString(16), lang: data.lang, hash: global.location.hash };
    global.sessionStorage.setItem(PKCE_KEY, JSON.stringify(pending));
    return global.crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier)).then(function (digest) {
      global.location.assign(auth.authorize_url + "?" + new URLSearchParams({
        response_type: "code",
        client_id: auth.client_id,
        redirect_uri: auth.redirect_uri,
        scope: auth.scope,
        state: pending.state,
        code_challenge: base64url(digest),
        code_challenge_method: "S256",
        lang: data.lang
      }).toString());
    });
  }

  /* Back from the hosted UI with ?code=…&state=…: trade the code for the ID token, then clean the URL. */
  function finishHostedSignIn() {
    var params = new URLSearchParams(global.location.search);
    if (!params.has("code") && !params.has("error")) return null;
    var pending = null;
    try { pending = JSON.parse(global.sessionStorage.getItem(PKCE_KEY) || "null"); } catch (e) { pending = null; }
    global.sessionStorage.removeItem(PKCE_KEY);
    var lang = pending && pending.lang ? pending.lang : data.lang;
    var clean = data.base + "/staff" + (lang !== data.lang ? "?lang=" + lang : "") + (pending && pending.hash || "");
    global.history.replaceState(null, "", data.base + "/staff");
    if (params.has("error") || !pending || pending.state !== params.get("state")) {
      return Promise.reject(new Error(params.get("error_description") || t("signin_failed")));
    }
    var auth = data.auth;
    return fetch(auth.token_url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      credentials: "omit",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: auth.client_id,
        code: params.get("code"),
        redirect_uri: auth.redirect_uri,
        code_verifier: pending.verifier
      }).toString()
    }).then(function (response) {
      if (!response.ok) throw new Error(t("signin_failed"));
      return response.json();
    }).then(function (tokens) {
      if (!tokens.id_token || !session.set(tokens.id_token)) throw new Error(t("signin_failed"));
      session.keepRefreshToken(tokens.refresh_token);
      if (lang !== data.lang) { global.location.replace(clean); return false; }
      if (pending.hash) global.history.replaceState(null, "", clean);
      return true;
    });
  }

  /* ---- views and tabs ---- */

  function selectTab(view, focus) {
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-view") === view;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    });
    var selected = S.byId("tab-" + view);
    queuePanel.setAttribute("aria-labelledby", "queue-title");
    metricsPanel.hidden = view !== "metrics";
    queuePanel.hidden = view === "metrics";
    if (selected) (view === "metrics" ? metricsPanel : queuePanel).setAttribute("data-tab", selected.id);
  }

  function wireTabs() {
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () { go("#/" + tab.getAttribute("data-view")); });
      tab.addEventListener("keydown", function (event) {
        var visible = tabs.filter(function (x) { return !x.hidden; });
        var index = visible.indexOf(tab);
        var next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") next = visible[(index + 1) % visible.length];
        if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = visible[(index - 1 + visible.length) % visible.length];
        if (event.key === "Home") next = visible[0];
        if (event.key === "End") next = visible[visible.length - 1];
        if (next) {
          event.preventDefault();
          next.focus();
          go("#/" + next.getAttribute("data-view"));
        }
      });
    });
  }

  function defaultView() {
    return session.partner ? "routed" : "network";
  }

  function go(hash) {
    if (global.location.hash === hash) route();
    else global.location.hash = hash;
  }

  /* #/routed, #/mine, #/closed, #/network, #/metrics, #/case/<id> */
  function route() {
    if (!session.token) return;
    var hash = global.location.hash.replace(/^#\/?/, "");
    var parts = hash.split("/");
    if (parts[0] === "case" && parts[1]) {
      // The list behind the case loads without a word: the status line is about the case.
      if (!state.view) showView(defaultView(), false, null, true);
      var caseId = decodeURIComponent(parts[1]);
      // Opened from the list: where it was (on a phone the case takes the screen) and which row.
      if (!document.body.classList.contains("case-open")) state.openedFrom = { scroll: global.scrollY, caseId: caseId };
      else if (state.openedFrom) state.openedFrom.caseId = caseId;
      S.caseView.open(caseId);
      return;
    }
    var view = parts[0] || defaultView();
    var allowed = tabs.filter(function (x) { return !x.hidden; }).map(function (x) { return x.getAttribute("data-view"); });
    if (allowed.indexOf(view) === -1) view = defaultView();
    var from = view === state.view ? state.openedFrom : null;
    state.openedFrom = null;
    S.caseView.close();
    showView(view, true, from);
  }

  function showView(view, reload, from, quiet) {
    var changed = state.view !== view;
    state.view = view;
    selectTab(view, false);
    if (view === "metrics") {
      S.metrics.show();
      return;
    }
    networkFilter.hidden = view !== "network";
    queueTitle.textContent = data.page["queue_" + view];
    if (changed || reload) {
      loadQueue(false, quiet).then(function () { if (from && state.view === view) returnTo(from); });
    }
  }

  /* Back from a case: the list where it was left, the focus on that case's row (or the list's
   * heading when the case left the list, claimed or passed on). */
  function returnTo(from) {
    global.scrollTo(0, from.scroll);
    (rowControl(from.caseId, "a.button-link") || queueTitle).focus({ preventScroll: true });
  }

  /* ---- the queue ---- */

  function fillPartnerFilter(partners) {
    var select = S.byId("filter-partner");
    S.clear(select).appendChild(S.el("option", { value: "", text: data.page.filter_all_partners }));
    partners.forEach(function (p) { select.appendChild(S.el("option", { value: p.id, text: p.name })); });
    var status = S.byId("filter-status");
    S.clear(status);
    ["routed", "claimed", "scheduled", "closed", "transferred"].forEach(function (code) {
      status.appendChild(S.el("option", { value: code, text: S.label("statuses", code) }));
    });
  }

  function queuePath(cursor) {
    var params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    var path = "/staff/queue";
    if (state.view === "routed") params.set("status", "routed");
    if (state.view === "mine") { params.set("status", "claimed"); params.set("mine", "true"); }
    if (state.view === "closed") params.set("status", "closed");
    if (state.view === "network") {
      path = "/coordinator/cases";
      var partner = S.byId("filter-partner").value;
      if (partner) params.set("partner", partner);
      params.set("status", S.byId("filter-status").value || "routed");
    }
    if (cursor) params.set("cursor", cursor);
    return path + "?" + params.toString();
  }

  /* `quiet`: a refresh behind an open case; the person did not ask for the list, so it is not announced. */
  function loadQueue(more, quiet) {
    var ticket = ++state.loading;
    var view = state.view;
    if (!more) { state.rows = []; state.cursor = null; }
    moreButton.hidden = true;
    queuePanel.setAttribute("aria-busy", "true");
    S.byId("queue-table").removeAttribute("data-loaded");
    return S.busy(more ? moreButton : null, S.api("GET", queuePath(more ? state.cursor : null))).then(function (body) {
      if (ticket !== state.loading || view !== state.view) return;
      state.rows = state.rows.concat(body.cases || []);
      state.cursor = body.next_cursor || null;
      renderQueue();
      // "More": on to the first of the new rows, not back to the top of the page.
      var first = more && (body.cases || [])[0];
      var link = first && rowControl(first.case_id, "a.button-link");
      if (link) link.focus();
      var loaded = state.rows.length === 1 ? "queue_loaded_one" : "queue_loaded";
      if (!quiet) S.announceLoaded(t(loaded, { title: queueTitle.textContent, count: state.rows.length }));
    }, function (error) {
      if (ticket === state.loading && session.token) S.announce(S.explain(error));
    }).then(function () {
      if (ticket !== state.loading) return;
      queuePanel.removeAttribute("aria-busy");
      S.byId("queue-table").setAttribute("data-loaded", "true");  // also what tests wait for
    });
  }

  /* Overdue first (the API lists oldest first, which the sort keeps within each group). */
  function ordered(rows) {
    return rows.map(function (row, i) { return { row: row, i: i }; }).sort(function (a, b) {
      return (b.row.overdue ? 1 : 0) - (a.row.overdue ? 1 : 0) || a.i - b.i;
    }).map(function (x) { return x.row; });
  }

  function cell(column, children) {
    var texts = { reference: "col_reference", queued: "col_queued", due: "col_due", profession: "col_profession",
      language: "col_language", goals: "col_goals", holder: "col_holder", partner: "col_partner", actions: "col_actions" };
    var heading = document.querySelector("#queue-table th.col-" + column);
    return S.el("td", { className: "col-" + column, "data-label": heading ? heading.textContent : texts[column] },
      children);
  }

  function optionName(path, code) {
    var names = data.options[path] || {};
    return names[code] || code;
  }

  /* A deadline at Berlin midnight (the SLA counts whole working days) reads as the day before's end:
   * "02.12., 00:00" was taken for "all of 2 December". */
  function dueText(iso) {
    var instant = S.parseTime(iso);
    if (!instant || S.berlinParts(instant).time !== "00:00") return S.formatTime(iso);
    return t("due_end_of_day", { date: S.formatTime(new Date(instant.getTime() - 1), "date") });
  }

  /* The control of a row that has the focus, to give it back once the list is drawn anew (a refresh
   * behind an open case, the return from one): keyboard users must not land on the page's top. */
  var ROW_CONTROLS = ["a.ref", "a.button-link", "button[data-claim]"];
  function focusedRowControl() {
    var active = document.activeElement;
    var tr = active && queueBody.contains(active) ? active.closest("tr") : null;
    var selector = tr && ROW_CONTROLS.filter(function (s) { return active.matches(s); })[0];
    return selector ? { caseId: tr.getAttribute("data-case"), selector: selector } : null;
  }

  function rowControl(caseId, selector) {
    return queueBody.querySelector('tr[data-case="' + global.CSS.escape(caseId) + '"] ' + selector);
  }

  function renderQueue() {
    var focused = focusedRowControl();
    S.clear(queueBody);
    var table = S.byId("queue-table");
    table.classList.toggle("network", state.view === "network");
    table.classList.toggle("routed", state.view === "routed");
    ordered(state.rows).forEach(function (row) {
      var holder = row.claimed_by ? (row.claimed_by === session.staffId ? t("you") : row.claimed_by_name || "") : "";
      var due = [];
      if (row.overdue) due.push(S.el("span", { className: "badge overdue", text: t("overdue") }), " ");
      if (row.due_at) due.push(S.el("span", { text: dueText(row.due_at) }));
      var actions = [S.el("p", { className: "row-note", hidden: !row.note, "data-note": row.case_id, text: row.note || "" }),
        S.el("a", { href: "#/case/" + encodeURIComponent(row.case_id), className: "button-link",
        "aria-label": t("open_case", { reference: row.reference }), text: t("open") })];
      if (row.status === "routed" && session.partner === row.partner) {
        actions.push(" ", S.el("button", { type: "button", className: "primary small", "data-claim": row.case_id,
          "aria-label": t("claim_case", { reference: row.reference }), text: data.page.claim }));
      }
      var tr = S.el("tr", { "data-case": row.case_id, "data-reference": row.reference,
        className: row.overdue ? "overdue" : "" }, [
        S.el("th", { scope: "row", className: "col-reference" }, [
          S.el("a", { href: "#/case/" + encodeURIComponent(row.case_id), className: "ref", text: row.reference }),
          // An SMS staff must act on (a "2", CANCEL, one that never arrived): the case says which.
          row.attention ? " " : null,
          row.attention ? S.el("span", { className: "badge attention", text: t("attention") }) : null]),
        cell("queued", [S.formatTime(row.queued_at)]),
        cell("due", due.length ? due : [t("none")]),
        cell("profession", [optionName("qualification.profession_group", row.profession_group)]),
        cell("language", [S.displayName("language", row.language)]),
        cell("goals", [(row.goals || []).map(function (g) { return optionName("goals", g); }).join(", ")]),
        cell("holder", [holder || t("none")]),
        cell("partner", [row.partner_name || session.partnerName(row.partner)]),
        cell("actions", actions)
      ]);
      queueBody.appendChild(tr);
    });
    queueEmpty.textContent = t("empty");
    queueEmpty.hidden = state.rows.length > 0;
    moreButton.hidden = !state.cursor;
    var again = focused && rowControl(focused.caseId, focused.selector);
    if (again) again.focus({ preventScroll: true });
  }

  function rowNote(caseId, message) {
    var note = queueBody.querySelector('[data-note="' + caseId + '"]');
    if (!note) return;
    note.textContent = message;
    note.hidden = false;
  }

  function claimFromQueue(button) {
    var caseId = button.getAttribute("data-claim");
    var row = state.rows.filter(function (r) { return r.case_id === caseId; })[0];
    S.busy(button, S.caseView.claim(caseId)).then(function (claimed) {
      S.announceAfterLoad(t("claimed_ok", { reference: claimed.reference }));
      state.rows = state.rows.filter(function (r) { return r.case_id !== caseId; });
      renderQueue();
      go("#/case/" + encodeURIComponent(caseId));
    }, function (error) {
      var message = S.caseView.claimProblem(error);
      if (error.status === 409 && row) {
        row.status = "claimed";
        row.claimed_by_name = error.body.claimed_by_name || "";
        row.claimed_by = "someone-else";
        row.note = message;
        renderQueue();
      }
      rowNote(caseId, message);
      S.announce(message);
    });
  }

  function wireQueue() {
    queueBody.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-claim]") : null;
      if (button) claimFromQueue(button);
    });
    moreButton.addEventListener("click", function () { loadQueue(true); });
    S.byId("queue-reload").addEventListener("click", function () { loadQueue(false); });
    networkFilter.addEventListener("submit", function (event) {
      event.preventDefault();
      loadQueue(false);
    });
    S.byId("find-form").addEventListener("submit", findByReference);
  }

  /* The reference an applicant reads out on the phone: one case opens; none is said at the field. */
  function findByReference(event) {
    event.preventDefault();
    var form = event.target;
    var field = S.byId("find-reference");
    S.clearFieldErrors(form);
    var typed = field.value.trim();
    if (!typed) {
      S.showFieldErrors("find", [{ field: "reference", code: "required" }]);
      return;
    }
    S.api("GET", "/staff/cases?reference=" + encodeURIComponent(typed)).then(function (body) {
      if (body.cases.length) {
        field.value = "";
        go("#/case/" + encodeURIComponent(body.cases[0].case_id));
        return;
      }
      S.showFieldErrors("find", [{ field: "reference", code: "none", message: t("find_none", { reference: body.reference }) }]);
    }, function (error) {
      if (error.status === 400 && error.body && error.body.errors) S.showFieldErrors("find", error.body.errors);
      else S.announce(S.explain(error));
    });
  }

  /* The language links keep the open view (#/…) across the reload. */
  function wireLanguageLinks() {
    Array.prototype.forEach.call(document.querySelectorAll(".staff-lang a"), function (link) {
      link.addEventListener("click", function () {
        link.setAttribute("href", data.base + "/staff?lang=" + link.getAttribute("data-lang") + global.location.hash);
      });
    });
  }

  /* ---- start ---- */

  S.refreshQueue = function () { if (state.view && state.view !== "metrics") loadQueue(false, true); };
  S.backToQueue = function () { go("#/" + (state.view || defaultView())); };

  function start() {
    wireTabs();
    wireQueue();
    wireLanguageLinks();
    S.byId("sign-out").addEventListener("click", signOut);
    global.addEventListener("hashchange", route);
    wireTokenForm();
    var hosted = S.byId("hosted-signin");
    if (hosted) {
      hosted.disabled = false;
      hosted.addEventListener("click", function () {
        hosted.disabled = true;
        hostedSignIn().catch(function () {
          hosted.disabled = false;
          S.showProblem(signinMessage, t("signin_failed"));
        });
      });
    }
    var returning = data.auth.mode === "cognito" ? finishHostedSignIn() : null;
    if (returning) {
      returning.then(function (ready) { if (ready) startSession(); }, function (error) {
        showSignin(error.message || t("signin_failed"));
      });
    } else if (session.load()) {
      startSession();
    } else if (data.auth.mode === "cognito") {
      // Production: straight on to the hosted sign-in page; the button stays for when that fails.
      showSignin(null);
      hosted.disabled = true;
      hostedSignIn().catch(function () {
        hosted.disabled = false;
        S.showProblem(signinMessage, t("signin_failed"));
      });
    } else {
      showSignin(null);
    }
  }

  start();
})(window);
