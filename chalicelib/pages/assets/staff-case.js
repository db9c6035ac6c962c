/* One case on the staff page: what the applicant told us, the routing decision, claim/release,
 * appointments (booked in Berlin time), the SMS log, transfer/reassign and close, history and audit.
 */
(function (global) {
  "use strict";

  var S = global.Staff;
  var data = S.data;
  var t = S.t;
  var el = S.el;
  var session = S.session;

  var panel = S.byId("case");
  var problem = S.byId("case-problem");
  var claimButton = S.byId("case-claim");
  var releaseButton = S.byId("case-release");
  var appointmentForm = S.byId("appointment-form");
  var transferForm = S.byId("transfer-form");
  var closeForm = S.byId("close-form");
  var INTAKE_FIELDS = ["given_name", "family_name", "phone", "email", "postcode", "language", "qualification.country",
    "qualification.title", "qualification.profession_group", "qualification.level", "german_level", "goals",
    "registered_with_employment_agency", "message", "consent.sms"];
  var LTR_FIELDS = { phone: true, email: true, postcode: true };

  var current = null;  // the case as last read
  var openId = null;
  var editing = null;  // the appointment being rescheduled
  var appointments = [];
  var attention = [];  // SMS waiting for staff (a "2", CANCEL, one that never arrived)
  var messageLog = null;  // the SMS log as last read
  var partners = [];
  var ticket = 0;

  function path(suffix) {
    return "/staff/cases/" + encodeURIComponent(openId) + (suffix || "");
  }

  function heldByOther(c) {
    return !!c.claimed_by && c.claimed_by !== session.staffId;
  }

  function mayWork(c) {
    return !heldByOther(c) || session.isCoordinator;
  }

  /* ---- reading ---- */

  /* Nothing of the last case stays on screen, and no action on it is offered. */
  function clearView(state) {
    current = null;
    messageLog = null;
    resetForms();
    ["case-intake", "case-routing", "appointments", "messages", "history", "audit"].forEach(function (id) {
      S.clear(S.byId(id));
    });
    S.byId("case-reference").textContent = "";
    S.byId("case-state").textContent = state;
    // No action on a case before it has loaded: show() decides what this person may do with it.
    [appointmentForm, claimButton, releaseButton, S.byId("section-close"), S.byId("section-move"), S.byId("section-privacy")].forEach(
      function (node) { node.hidden = true; });
  }

  /* A 404 on a case that was open: passed on or erased meanwhile (by a colleague in another tab).
   * Its applicant's data must not stay on this screen, with buttons that can only fail. */
  function gone() {
    clearView("");
    S.showProblem(problem, t("case_gone"));
    S.byId("case-title").focus({ preventScroll: true });
    S.refreshQueue();
  }

  function open(caseId) {
    var mine = ++ticket;
    if (openId !== caseId) {
      openId = caseId;
      clearView(t("loading"));
    }
    S.hideProblem(problem);
    panel.hidden = false;
    document.body.classList.add("case-open");
    return S.api("GET", path()).then(function (c) {
      if (mine !== ticket) return;
      show(c);
      S.byId("case-title").focus();
      S.announceLoaded(t("case_loaded", { reference: c.reference }));
      loadExtras();
    }, function (error) {
      if (mine !== ticket || !session.token) return;
      S.byId("case-state").textContent = "";
      S.showProblem(problem, S.explain(error));
    });
  }

  /* The control just used may vanish with the new state (claim → claimed, a redrawn appointment):
   * keyboard and screen-reader users go back to the case's heading, not to the top of the page. */
  var refocusPending = false;
  function keepFocus() {
    var active = document.activeElement;
    if (!active || active === document.body || !active.isConnected || active.offsetParent === null) {
      S.byId("case-title").focus({ preventScroll: true });
      refocusPending = false;
    }
  }

  function refresh() {
    return S.api("GET", path()).then(function (c) { show(c); loadExtras(); }, function (error) {
      if (error && error.status === 404) gone();
    });
  }

  function loadExtras() {
    var id = openId;
    S.api("GET", path("/audit")).then(function (body) { if (id === openId) renderAudit(body.entries || []); },
      function () { /* the case itself is shown; the log can wait for the next refresh */ });
    S.api("GET", path("/appointments")).then(function (body) {
      if (id !== openId) return;
      appointments = body.appointments || [];
      attention = body.attention || [];
      // Being moved here but cancelled or past meanwhile (another tab): saving could only fail again.
      if (editing && !appointments.some(function (x) { return appointmentId(x) === appointmentId(editing) && isUpcoming(x); })) {
        resetAppointmentForm();
      }
      renderAppointments();
      if (messageLog) renderMessages(messageLog);  // its flags name their appointments' times
    }, function () { appointments = []; renderAppointments(); });
    S.api("GET", path("/messages")).then(function (body) {
      if (id === openId) renderMessages(body);
    }, function () { renderMessages({}); });
  }

  function close() {
    ticket++;
    openId = null;
    current = null;
    panel.hidden = true;
    document.body.classList.remove("case-open");
  }

  function reset() {
    close();
    resetForms();
  }

  /* ---- showing ---- */

  function show(c) {
    current = c;
    // An erased case keeps no reference (the applicant could be found by it) nor its holder's name.
    var erased = !!c.erased_at;
    S.byId("case-reference").textContent = erased ? t("erased_reference") : c.reference;
    var line = [t("status_line", { status: S.label("statuses", c.status) })];
    var holder = c.claimed_by === session.staffId ? t("you") : c.claimed_by_name;
    if (c.claimed_by && holder) line.push(t("held_by", { name: holder }));
    line.push(session.partnerName(c.partner));
    var stateLine = S.clear(S.byId("case-state"));
    if (c.overdue) stateLine.appendChild(el("span", { className: "badge overdue", text: t("overdue") }));
    stateLine.appendChild(document.createTextNode(" " + line.join(" · ")));
    // An erased case is its anonymised record for the statistics: the API refuses every action on it.
    if (erased) stateLine.appendChild(el("span", { className: "erased-note", text: " · " + t("erased_case") }));

    // Only for a case of one's own institution, as in the list: a coordinator holding another
    // institution's case would take it from its staff, and find it in none of their own lists.
    claimButton.hidden = erased || c.status !== "routed" || c.partner !== session.partner;
    releaseButton.hidden = erased || !(c.status === "claimed" && mayWork(c));
    var working = !erased && (c.status === "claimed" || c.status === "scheduled") && mayWork(c);
    appointmentForm.hidden = !working;
    S.byId("section-close").hidden = !working;
    S.byId("close-cancels").hidden = c.status !== "scheduled";
    var movable = !erased && (c.status === "routed" || c.status === "claimed") && mayWork(c);
    var blocked = !erased && c.status === "scheduled" && mayWork(c);  // said, rather than the section vanishing
    S.byId("section-move").hidden = !(movable || blocked);
    S.byId("move-blocked").hidden = !blocked;
    transferForm.hidden = !movable;
    S.byId("move-title-staff").hidden = session.isCoordinator;
    S.byId("move-title-coordinator").hidden = !session.isCoordinator;
    S.byId("transfer-submit").textContent = data.page[session.isCoordinator ? "reassign_submit" : "transfer_submit"];
    fillMoveTargets(c.partner);
    S.privacy.show(c);
    renderIntake(c.intake || {}, c.consent || {});
    renderRouting(c);
    renderHistory(c.history || []);
  }

  function value(intake, field) {
    var node = intake;
    field.split(".").forEach(function (part) { node = node === undefined || node === null ? undefined : node[part]; });
    return node;
  }

  function shown(field, raw) {
    if (raw === undefined || raw === null || raw === "") return null;
    if (typeof raw === "boolean") return t(raw ? "yes" : "no");
    if (field === "qualification.country") return S.displayName("region", raw);
    if (field === "language") return S.displayName("language", raw);
    var names = data.options[field];
    if (Array.isArray(raw)) return raw.map(function (x) { return names && names[x] || x; }).join(", ");
    return names && names[raw] || String(raw);
  }

  /* What the applicant said at intake, unless taken back since: STOP by SMS (in the consent record),
   * or an opt-out the SMS log knows of (Twilio's 21610, a STOP about another case of the number). */
  function smsConsentText(consent) {
    if (!consent.sms) return null;
    if (consent.sms_withdrawn_at) return t("sms_consent_withdrawn", { when: S.formatTime(consent.sms_withdrawn_at) });
    return messageLog && messageLog.opted_out ? t("sms_consent_opted_out") : null;
  }

  function renderIntake(intake, consent) {
    var list = S.clear(S.byId("case-intake"));
    INTAKE_FIELDS.forEach(function (field) {
      var text = shown(field, value(intake, field));
      if (text === null) return;
      if (field === "consent.sms") text = smsConsentText(consent) || text;
      list.appendChild(el("div", { className: "fact" }, [
        el("dt", { text: data.fields[field] || field }),
        el("dd", { text: text, dir: LTR_FIELDS[field] ? "ltr" : "auto", className: "field-" + field.replace(".", "-") })
      ]));
    });
  }

  /* The rule's conditions in the page's language ("Berufsfeld: Gesundheit"); the stored English
   * reason when the server could not read it back into conditions. */
  function routingReason(routing) {
    var conditions = routing.conditions;
    if (!Array.isArray(conditions)) return routing.reason;
    if (!conditions.length) return t("rule_fallback");
    return conditions.map(function (condition) {
      var values = condition.values.map(function (v) {
        return shown(condition.field, v === "true" ? true : v === "false" ? false : v);
      });
      return t(condition.test === "contains" ? "rule_contains" : "rule_is",
        { field: data.fields[condition.field] || condition.field, values: values.join(t("rule_or")) });
    }).join(t("rule_and"));
  }

  function renderRouting(c) {
    var routing = c.routing || {};
    var list = S.clear(S.byId("case-routing"));
    var rows = [["routing_partner", session.partnerName(routing.partner || c.partner)], ["routing_rule", routing.rule && S.label("rules", routing.rule)],
      ["routing_reason", routingReason(routing)]];
    // Passed on since: the partner who holds it now, and why (the routing above is the intake's).
    if (routing.partner && routing.partner !== c.partner) {
      var moves = (c.history || []).filter(function (h) { return h.action === "transferred" || h.action === "reassigned"; });
      var last = moves[moves.length - 1];
      rows.push(["routing_now", session.partnerName(c.partner)]);
      if (last && last.detail && last.detail.reason) rows.push(["routing_moved_reason", last.detail.reason]);
    }
    rows.forEach(function (pair) {
      list.appendChild(el("div", { className: "fact" }, [
        el("dt", { text: data.page[pair[0]] }),
        el("dd", { text: pair[1] || t("none"), "data-routing": pair[0], dir: "auto" })
      ]));
    });
  }

  function detailText(entry) {
    var d = entry.detail || {};
    var parts = [];
    if (entry.by === "system") parts.push(t("by_system"));  // the appointment schedule, not a person
    else if (d.by_name) parts.push(t("by", { name: d.by_name }));
    if (d.from && d.to) parts.push(session.partnerName(d.from) + " → " + session.partnerName(d.to));
    if (d.outcome) parts.push(S.label("outcomes", d.outcome));
    if (d.reason && entry.action === "erased") parts.push(S.label("erase_reasons", d.reason));
    if (d.reason && (entry.action === "sms_attention" || entry.action === "attention_resolved")) {
      parts.push(S.label("attention_kinds", d.reason));  // the short name: a resolved one is no to-do
    }
    // The routing's reason in the page's language where it is the case's own (read back into conditions).
    var routing = (current && current.routing) || {};
    if (d.reason && entry.action === "routed" && d.reason === routing.reason) parts.push(routingReason(routing));
    // Free-text reasons (a transfer's, the routing's); other entries carry codes only.
    else if (d.reason && ["routed", "transferred", "reassigned"].indexOf(entry.action) !== -1) parts.push(t("quoted", { text: d.reason }));
    if (entry.action === "attendance_recorded" && typeof d.attended === "boolean") {
      parts.push(S.label("appointment_statuses", d.attended ? "attended" : "no_show"));
    }
    if (d.note) parts.push(d.note);
    if (d.released_for) parts.push(d.released_for);
    if (d.start) parts.push(S.formatTime(d.start));
    return parts.join(" · ");
  }

  function renderHistory(history) {
    var list = S.clear(S.byId("history"));
    history.slice().reverse().forEach(function (entry) {
      list.appendChild(el("li", {}, [
        el("time", { datetime: entry.at, text: S.formatTime(entry.at) }), " ",
        el("strong", { text: S.label("actions", entry.action) }), " ",
        el("span", { text: detailText(entry), dir: "auto" })
      ]));
    });
    if (!history.length) list.appendChild(el("li", { text: t("no_history") }));
  }

  function renderAudit(entries) {
    var list = S.clear(S.byId("audit"));
    entries.forEach(function (entry) {
      list.appendChild(el("li", {}, [
        el("time", { datetime: entry.at, text: S.formatTime(entry.at) }), " ",
        el("strong", { text: S.label("actions", entry.action) }), " ",
        el("span", { text: t("audit_line", { who: entry.staff_id === "system" ? t("by_system") : entry.staff_name,
          partner: session.partnerName(entry.partner) ||
          t("network") }) })
      ]));
    });
    if (!entries.length) list.appendChild(el("li", { text: t("no_audit") }));
  }

  /* ---- appointments ---- */

  function appointmentId(a) {
    return a.appointment_id || a.id;
  }

  /* Booked and still ahead: it can be moved or cancelled. Begun (and not cancelled): attendance can be recorded. */
  function isUpcoming(a) {
    if (a.upcoming !== undefined) return !!a.upcoming;
    var start = S.parseTime(a.start);
    return (a.status || "booked") === "booked" && !!start && start.getTime() > Date.now();
  }

  function hasBegun(a) {
    var start = S.parseTime(a.start);
    return a.status !== "cancelled" && !!start && start.getTime() <= Date.now();
  }

  /* Each flag with a "dealt with" button (e.g. after a phone call): anyone at the institution may. */
  function attentionItems(flags, appointmentId) {
    var erased = !current || !!current.erased_at;
    return (flags || []).filter(function (f) {
      return appointmentId === undefined || f.appointment_id === appointmentId;
    }).map(function (f) {
      var parts = [el("span", { className: "badge attention", text: t("attention") }), " ",
        t("attention_line", { reason: S.label("attention_reasons", f.reason), when: S.formatTime(f.at) })];
      var about = flagSubject(f);
      if (appointmentId === undefined && about) parts.push(" ", el("strong", { text: about }));
      if (!erased) {
        parts.push(" ", el("button", { type: "button", className: "secondary small", text: t("resolve_attention"),
          "aria-label": t("resolve_attention_named", { reason: S.label("attention_kinds", f.reason) +
            (about ? " – " + about : "") }),
          "data-resolve": f.reason, "data-resolve-appointment": f.appointment_id || "" }));
      }
      return el("p", { className: "attention-line" }, parts);
    });
  }

  /* Which appointment a flag is about (or that it names none: the confirmation), so two flags of
   * one kind can be told apart in the list above the SMS log and by their buttons. */
  function flagSubject(f) {
    if (!f.appointment_id) return f.reason === "sms_not_delivered" ? t("attention_no_appointment") : "";
    var a = appointments.filter(function (x) { return String(appointmentId(x)) === f.appointment_id; })[0];
    return a ? t("attention_appointment", { when: S.formatTime(a.start, "weekday") }) : "";
  }

  function resolveAttention(button) {
    var body = { reason: button.getAttribute("data-resolve") };
    var appointment = button.getAttribute("data-resolve-appointment");
    if (appointment) body.appointment_id = appointment;
    S.hideProblem(problem);
    S.busy(button, S.api("POST", path("/attention/resolve"), body)).then(function (c) {
      S.announce(t("attention_resolved"));
      refocusPending = true;  // the flag and its button are gone
      show(c);
      loadExtras();
      S.refreshQueue();  // its row may stop saying "please check"
    }, function (error) {
      if (error.status === 409 && error.body && error.body.code === "attention_not_open") {
        S.announce(t("attention_already_resolved"));  // a colleague was quicker: what was wanted is done
        refocusPending = true;
        refresh();
        S.refreshQueue();
        return;
      }
      failed(error, null);
    });
  }

  /* Why an SMS was not sent, in the page's language where the reason is a known one ("code: detail"
   * keeps its detail, e.g. the country); Twilio's own texts stay as they came. */
  function reasonText(reason) {
    var names = data.message_reasons || {};
    if (names[reason]) return names[reason];
    var colon = reason.indexOf(": ");
    var code = colon === -1 ? "" : reason.slice(0, colon);
    return names[code] ? names[code] + ": " + reason.slice(colon + 2) : reason;
  }

  function replyText(reply) {
    var meaning = data.texts["reply_" + reply];
    return meaning ? reply + " (" + meaning + ")" : reply;
  }

  function renderAppointments() {
    var list = S.clear(S.byId("appointments"));
    var working = current && (current.status === "claimed" || current.status === "scheduled") && mayWork(current);
    appointments.forEach(function (a) {
      var id = appointmentId(a);
      var status = a.status || "booked";
      var when = S.formatTime(a.start, "weekday");
      var lines = [el("strong", { className: "when", text: t("appointment_line", { when: when, minutes: a.duration_minutes }) }),
        " ", el("span", { className: "badge status-" + status, text: S.label("appointment_statuses", status) })];
      if (a.online_url) lines.push(el("br"), el("span", { text: t("online", { url: a.online_url }), dir: "ltr" }));
      if (a.location) lines.push(el("br"), el("span", { text: t("place", { place: a.location }), dir: "auto" }));
      if (a.note) lines.push(el("br"), el("span", { className: "help", text: a.note, dir: "auto" }));
      if (a.applicant_reply) lines.push(el("br"), el("span", { text: t("applicant_reply", { reply: replyText(a.applicant_reply) }) }));
      var item = el("li", { className: "appointment", "data-appointment": id, "data-status": status }, lines);
      attentionItems(attention, id).forEach(function (node) { item.appendChild(node); });
      var actions = [];
      if (working && isUpcoming(a)) {
        actions.push(el("button", { type: "button", className: "secondary small", "data-act": "reschedule", text: t("reschedule") }),
          el("button", { type: "button", className: "secondary small", "data-act": "cancel", text: t("cancel_appointment") }));
      }
      if (working && hasBegun(a)) {
        actions.push(el("button", { type: "button", className: "secondary small", "data-act": "attended", text: t("attended"),
          "aria-pressed": a.attended === true ? "true" : "false" }),
          el("button", { type: "button", className: "secondary small", "data-act": "no_show", text: t("no_show"),
            "aria-pressed": a.attended === false ? "true" : "false" }));
      }
      if (actions.length) item.appendChild(el("div", { className: "buttons inline" }, actions));
      list.appendChild(item);
    });
    if (!appointments.length) list.appendChild(el("li", { text: t("no_appointments") }));
    if (refocusPending) keepFocus();
  }

  function setMode(mode) {
    S.byId("appointment-mode-" + mode).checked = true;
    S.byId("online-url-field").hidden = mode !== "online";
    S.byId("appointment-location").closest(".field").hidden = mode === "online";
  }

  function resetAppointmentForm() {
    editing = null;
    appointmentForm.reset();
    S.clearFieldErrors(appointmentForm);
    S.byId("appointment-form-title").textContent = data.page.appointment_new;
    S.byId("appointment-submit").textContent = data.page.book;
    S.byId("appointment-cancel-edit").hidden = true;
    S.byId("appointment-date").min = S.todayBerlin();
    S.byId("appointment-duration").value = String(data.default_duration);
    setMode("place");
  }

  function startReschedule(a) {
    resetAppointmentForm();
    editing = a;
    var parts = S.berlinParts(S.parseTime(a.start));
    S.byId("appointment-date").value = parts.date;
    S.byId("appointment-time").value = parts.time;
    S.byId("appointment-duration").value = String(a.duration_minutes || data.default_duration);
    setMode(a.online_url ? "online" : "place");
    S.byId("appointment-location").value = a.location || "";
    S.byId("appointment-online_url").value = a.online_url || "";
    S.byId("appointment-note").value = a.note || "";
    S.byId("appointment-form-title").textContent = data.page.appointment_edit;
    S.byId("appointment-submit").textContent = data.page.save_change;
    S.byId("appointment-cancel-edit").hidden = false;
    S.byId("appointment-date").focus();
  }

  function appointmentBody() {
    var date = S.byId("appointment-date").value;
    var time = S.byId("appointment-time").value;
    var online = S.byId("appointment-mode-online").checked;
    var errors = [];
    if (!date) errors.push({ field: "date", code: "required" });
    if (!time) errors.push({ field: "time", code: "required" });
    if (date && time && S.berlinInstant(date, time).getTime() <= Date.now()) {
      // Today's date with a time gone by: it is the time that needs changing.
      errors.push({ field: date === S.todayBerlin() ? "time" : "date", code: "in_past" });
    }
    var body = { start: date + "T" + time, duration_minutes: Number(S.byId("appointment-duration").value) };
    if (online) {
      var url = S.byId("appointment-online_url").value.trim();
      if (!url) errors.push({ field: "online_url", code: "required" });
      else if (!/^https:\/\/\S+$/i.test(url)) errors.push({ field: "online_url", code: "invalid_url" });
      body.online_url = url;
    } else {
      var place = S.byId("appointment-location").value.trim();
      if (!place) errors.push({ field: "location", code: "required" });
      body.location = place;
    }
    var note = S.byId("appointment-note").value.trim();
    if (note) body.note = note;
    return { body: body, errors: errors };
  }

  /* Server errors name API fields (start, location …); the form's controls are date/time/… */
  function appointmentErrors(errors) {
    return (errors || []).map(function (fe) {
      var field = String(fe.field || "");
      // The time is what is wrong when it does not exist that day, or has passed on today's date.
      var timeWrong = fe.code === "nonexistent_local_time" ||
        (fe.code === "in_the_past" && S.byId("appointment-date").value === S.todayBerlin());
      if (field === "start" || field === "(body)") field = timeWrong ? "time" : "date";
      if (field === "duration_minutes") field = "duration";
      return { field: field, code: fe.code, message: fe.message };
    });
  }

  /* One Idempotency-Key per booking: a resend after a lost answer (a 503, a timeout) gets the
   * booking it made, not a clash with its own slot. Changing the form makes it another booking. */
  var booking = { key: null, body: null };

  function bookingKey(body) {
    var text = JSON.stringify(body);
    if (booking.body !== text) booking = { key: S.newKey(), body: text };
    return booking.key;
  }

  function submitAppointment(event) {
    event.preventDefault();
    S.clearFieldErrors(appointmentForm);
    S.hideProblem(problem);
    var input = appointmentBody();
    if (input.errors.length) {
      S.showFieldErrors("appointment", input.errors);
      S.announce(t("fix_fields"));
      return;
    }
    var button = S.byId("appointment-submit");
    var request = editing
      ? S.api("PATCH", path("/appointments/" + encodeURIComponent(appointmentId(editing))), input.body)
      : S.api("POST", path("/appointments"), input.body, { idempotencyKey: bookingKey(input.body) });
    var when = S.formatTime(S.berlinInstant(input.body.start.slice(0, 10), input.body.start.slice(11)), "weekday");
    var done = editing ? "rescheduled_ok" : "booked_ok";
    S.busy(button, request).then(function () {
      booking = { key: null, body: null };
      resetAppointmentForm();
      S.announce(t(done, { when: when }));
      refresh().then(keepFocus);  // the busy button lost the focus: back to the case, not the page's top
      S.refreshQueue();
    }, function (error) {
      failed(error, "appointment", appointmentErrors);
    });
  }

  function appointmentAction(button) {
    var item = button.closest("[data-appointment]");
    var id = item.getAttribute("data-appointment");
    var a = appointments.filter(function (x) { return String(appointmentId(x)) === id; })[0];
    var act = button.getAttribute("data-act");
    if (!a) return;
    if (act === "reschedule") { startReschedule(a); return; }
    if (act === "cancel") { askToCancel(item, a); return; }
    if (act === "keep") { stopAsking(item); return; }
    var cancelling = act === "cancel-confirmed";
    var base = path("/appointments/" + encodeURIComponent(id));
    var request = cancelling ? S.api("DELETE", base)
      : S.api("POST", base + "/attendance", { attended: act === "attended" });
    var when = S.formatTime(a.start, "weekday");
    S.hideProblem(problem);
    S.busy(button, request).then(function () {
      S.announce(cancelling ? t("cancelled_ok", { when: when }) : t("attendance_ok"));
      refocusPending = true;  // the list is drawn anew, and the button with it
      refresh();
      S.refreshQueue();  // status, and a "please check" this settled
    }, function (error) { failed(error, null); });
  }

  /* A cancel cannot be undone and texts the applicant: the appointment's buttons give way to a
   * question that says whether an SMS goes out (no consent, or STOP: staff must tell them). */
  function askToCancel(item, a) {
    var buttons = item.querySelector(".buttons");
    var texted = messageLog && (messageLog.sms_consent !== false && !messageLog.opted_out);
    var sms = messageLog ? " " + t(texted ? "cancel_confirm_sms" : "cancel_confirm_no_sms") : "";  // log not read yet: not known
    var question = el("p", { id: "cancel-question-" + appointmentId(a),
      text: t("cancel_confirm", { when: S.formatTime(a.start, "weekday") }) + sms });
    var yes = el("button", { type: "button", className: "primary small", "data-act": "cancel-confirmed", text: t("cancel_confirm_yes"),
      "aria-describedby": question.id });
    var keep = el("button", { type: "button", className: "secondary small", "data-act": "keep", text: t("cancel_confirm_keep") });
    var confirm = el("div", { className: "cancel-confirm", role: "group", "aria-labelledby": question.id }, [question,
      el("div", { className: "buttons inline" }, [yes, keep])]);
    // Escape keeps the appointment; the focus starts on "keep", so that a second Enter cancels nothing.
    confirm.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); stopAsking(item); }
    });
    buttons.hidden = true;
    item.appendChild(confirm);
    keep.focus();
  }

  function stopAsking(item) {
    var confirm = item.querySelector(".cancel-confirm");
    if (confirm) confirm.remove();
    var buttons = item.querySelector(".buttons");
    buttons.hidden = false;
    buttons.querySelector("[data-act=cancel]").focus();
  }

  /* ---- messages ---- */

  function stillOpen(flags, m) {
    return !!m.attention && (flags || []).some(function (f) {
      return f.reason === m.attention && (f.appointment_id || null) === (m.appointment_id || null);
    });
  }

  function renderMessages(log) {
    messageLog = log;
    var messages = log.messages || [];
    var list = S.clear(S.byId("messages"));
    var notes = S.clear(S.byId("messages-flags"));
    var consentField = panel.querySelector("dd.field-consent-sms");
    var consentText = current && smsConsentText(current.consent || {});
    if (consentField && consentText) consentField.textContent = consentText;
    // A state, not a task: no "please check" badge (nothing here can be marked dealt with), and a
    // STOP is the reason for "no consent", so only the opt-out is said.
    if (log.opted_out) notes.appendChild(el("p", { className: "flag", text: t("opted_out") }));
    // An erased case has no number left: "no consent" would give the wrong reason (its state says why).
    else if (log.sms_consent === false && !(current && current.erased_at)) {
      notes.appendChild(el("p", { className: "flag", text: t("no_sms_consent") }));
    }
    if (log.confirmation_pending) notes.appendChild(el("p", { className: "flag", text: t("confirmation_pending") }));
    attentionItems(log.attention).forEach(function (node) { notes.appendChild(node); });
    messages.forEach(function (m) {
      var inbound = m.direction === "inbound";
      var kind = inbound ? "inbound" : m.kind;
      var status = m.status || "pending";
      // Planned: when it goes; cancelled or refused before sending: when that happened, not its planning.
      var when = m.sent_at || (status === "pending" ? m.due_at : !inbound && m.updated_at) || m.created_at;
      var head = [el("strong", { text: S.label("message_kinds", kind) }), " ",
        el("span", { className: "badge status-" + status, text: S.label("message_statuses", status) }), " ",
        el("time", { datetime: when || "", text: S.formatTime(when) })];
      // An inbound SMS's flag keeps its reason, but asks for staff only while the flag is open.
      if (stillOpen(log.attention, m) || status === "unknown") head.push(" ", el("span", { className: "badge attention", text: t("attention") }));
      var item = el("li", { className: "message " + (inbound ? "inbound" : "outbound"), "data-kind": kind,
        "data-status": status }, [el("div", {}, head)]);
      if (m.body) item.appendChild(el("p", { className: "sms", text: m.body, lang: m.language || null, dir: "auto" }));
      if (m.reply) {
        item.appendChild(el("p", { className: "reply", text: t("reply", { reply: replyText(m.reply) }) +
          (m.reply_at ? " · " + S.formatTime(m.reply_at) : "") }));
      }
      if (m.attention) item.appendChild(el("p", { className: "help", text: S.label("attention_reasons", m.attention) }));
      if (m.error_code) item.appendChild(el("p", { className: "help", text: t("error_code", { code: m.error_code }) }));
      if (log.opted_out && !inbound && status === "pending") item.appendChild(el("p", { className: "help", text: t("held_by_opt_out") }));
      // 21610: the number had unsubscribed at Twilio (STOP to another sender): an opt-out, not a fault.
      var why = m.error_code === "21610" ? t("unsubscribed_at_twilio") : m.reason ? reasonText(m.reason) : "";
      if (why) item.appendChild(el("p", { className: "help", text: why }));
      list.appendChild(item);
    });
    if (!messages.length) list.appendChild(el("li", { text: t(current && current.erased_at ? "erased_messages" : "no_messages") }));
  }

  /* ---- actions ---- */

  function claimProblem(error) {
    if (error && error.status === 409 && error.body && error.body.claimed_by_name) {
      return t("already_claimed", { name: error.body.claimed_by_name });
    }
    return S.explain(error);
  }

  function claim(caseId) {
    return S.api("POST", "/staff/cases/" + encodeURIComponent(caseId) + "/claim");
  }

  function failed(error, prefix, mapErrors) {
    if (!session.token) return;
    // A 409 may name its field too (a start that has passed meanwhile): shown there, as a 400's.
    if (prefix && (error.status === 400 || error.status === 409) && error.body && error.body.errors) {
      var errors = mapErrors ? mapErrors(error.body.errors) : error.body.errors;
      if (S.showFieldErrors(prefix, errors)) { S.announce(t("fix_fields")); return; }
    }
    if (error.status === 404) { gone(); return; }
    var message = error.status === 409 || error.status === 403 ? claimProblem(error) : S.explain(error);
    S.showProblem(problem, message);
    if (error.status === 409 || error.status === 403) refresh();
  }

  function wireClaimRelease() {
    claimButton.addEventListener("click", function () {
      S.hideProblem(problem);
      S.busy(claimButton, claim(openId)).then(function (c) {
        show(c);
        loadExtras();
        keepFocus();
        S.announce(t("claimed_ok", { reference: c.reference }));
        S.refreshQueue();
      }, function (error) {
        if (error.status === 404) { gone(); return; }
        S.showProblem(problem, claimProblem(error));
        if (error.status === 409) refresh();
      });
    });
    releaseButton.addEventListener("click", function () {
      S.hideProblem(problem);
      S.busy(releaseButton, S.api("POST", path("/release"))).then(function (c) {
        show(c);
        loadExtras();
        keepFocus();
        S.announce(t("released_ok", { reference: c.reference }));
        S.refreshQueue();
      }, function (error) { failed(error, null); });
    });
  }

  function setPartners(list) {
    partners = list;
  }

  function fillMoveTargets(exclude) {
    var select = S.byId("transfer-partner");
    var chosen = select.value;
    S.clear(select).appendChild(el("option", { value: "", text: data.page.choose }));
    partners.forEach(function (p) {
      if (p.id !== exclude) select.appendChild(el("option", { value: p.id, text: p.name }));
    });
    select.value = chosen && chosen !== exclude ? chosen : "";
  }

  function submitTransfer(event) {
    event.preventDefault();
    S.clearFieldErrors(transferForm);
    S.hideProblem(problem);
    var body = { partner: S.byId("transfer-partner").value, reason: S.byId("transfer-reason").value.trim() };
    if (!body.partner) delete body.partner;
    var button = S.byId("transfer-submit");
    var reference = current.reference;
    S.schema("transfer").then(function (schema) {
      var errors = global.SchemaValidate.validate(schema, body);
      if (errors.length) {
        S.showFieldErrors("transfer", errors);
        S.announce(t("fix_fields"));
        return;
      }
      var target = session.isCoordinator
        ? "/coordinator/cases/" + encodeURIComponent(openId) + "/reassign" : path("/transfer");
      S.busy(button, S.api("POST", target, body)).then(function (c) {
        transferForm.reset();
        var done = t("transferred_ok", { reference: reference, partner: session.partnerName(c.partner) });
        if (session.isCoordinator) {
          S.announce(done);
          show(c);
          loadExtras();
          keepFocus();  // the busy button gave up the focus
          S.refreshQueue();
        } else {
          S.announceAfterLoad(done);  // the case leaves this partner's sight: back to the list
          S.backToQueue();
        }
      }, function (error) { failed(error, "transfer"); });
    }, function () { S.showProblem(problem, t("network_error")); });
  }

  function submitClose(event) {
    event.preventDefault();
    S.clearFieldErrors(closeForm);
    S.hideProblem(problem);
    var body = { outcome: S.byId("close-outcome").value };
    var note = S.byId("close-note").value.trim();
    if (note) body.note = note;
    if (!body.outcome) {
      S.showFieldErrors("close", [{ field: "outcome", code: "required" }]);
      S.announce(t("fix_fields"));
      return;
    }
    S.busy(S.byId("close-submit"), S.api("POST", path("/close"), body)).then(function (c) {
      closeForm.reset();
      show(c);
      loadExtras();
      keepFocus();
      S.announce(t("closed_ok", { reference: c.reference }));
      S.refreshQueue();
    }, function (error) { failed(error, "close"); });
  }

  function resetForms() {
    resetAppointmentForm();
    transferForm.reset();
    S.clearFieldErrors(transferForm);
    closeForm.reset();
    S.clearFieldErrors(closeForm);
  }

  function wire() {
    wireClaimRelease();
    appointmentForm.addEventListener("submit", submitAppointment);
    S.byId("appointment-cancel-edit").addEventListener("click", function () {
      var id = editing ? appointmentId(editing) : null;
      resetAppointmentForm();
      var row = id ? document.querySelector('[data-appointment="' + id + '"] button') : null;
      if (row) row.focus();
    });
    S.byId("appointment-mode-place").addEventListener("change", function () { setMode("place"); });
    S.byId("appointment-mode-online").addEventListener("change", function () { setMode("online"); });
    S.byId("appointments").addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-act]") : null;
      if (button) appointmentAction(button);
    });
    panel.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-resolve]") : null;
      if (button) resolveAttention(button);
    });
    transferForm.addEventListener("submit", submitTransfer);
    closeForm.addEventListener("submit", submitClose);
    S.byId("case-back").addEventListener("click", function () {
      var id = openId;
      S.backToQueue();
      global.setTimeout(function () {
        var link = document.querySelector('#queue-table tr[data-case="' + id + '"] a');
        if (link) link.focus();
      }, 50);
    });
  }

  wire();
  S.caseView = {
    open: open,
    refresh: refresh,
    close: close,
    reset: reset,
    claim: claim,
    claimProblem: claimProblem,
    setPartners: setPartners
  };
})(window);
