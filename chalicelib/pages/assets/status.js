/* The applicant's status page: read "#<case_id>.<secret>" from the address (never sent to any
 * server), ask GET /applicant/{id} with the secret in X-Status-Secret, show the case in its own
 * language with the appointments still to come, and offer the download (GET …/export) and the
 * deletion (DELETE, after a confirmation).
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("status-data").textContent);
  var lang = data.lang;
  var LINK = /^#([0-9a-fA-F-]{36})\.([A-Za-z0-9_-]{16,200})$/;
  // Copied out of a sentence or cut by a messenger's link detection, a link may end in ".", ")" or a
  // space ("%20"); the secret's own alphabet has none of these.
  var match = LINK.exec((window.location.hash || "").replace(/(%20|[\s.,;:!?)\]>'"\u00bb\u201d])+$/, ""));

  function $(id) { return document.getElementById(id); }
  function t(key) { return (data.texts[lang] || data.texts[data.lang])[key]; }
  function show(id, visible) { $(id).hidden = !visible; }

  function useLanguage(language) {
    if (!data.texts[language]) return;
    lang = language;
    document.documentElement.lang = language;
    document.documentElement.dir = data.rtl.indexOf(language) >= 0 ? "rtl" : "ltr";
    document.title = t("title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (el) {
      el.textContent = t(el.getAttribute("data-t"));
    });
  }

  function problem() {
    show("loading", false);
    show("problem", true);
  }

  if (!match) {
    show("loading", false);
    show("no-link", true);
    return;
  }
  var caseId = match[1].toLowerCase();
  var secret = match[2];
  var url = data.api + "/applicant/" + encodeURIComponent(caseId);

  function call(path, method) {
    return fetch(url + path, {
      method: method,
      headers: { "X-Status-Secret": secret, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer"
    });
  }

  /* The Gregorian calendar in every language, as in the SMS and the .ics: Farsi would otherwise
   * get the Persian solar calendar (10 Azar for the SMS's 1 December). */
  function calendarLocale() {
    return lang + "-u-ca-gregory";
  }

  function day(iso) {
    try {
      return new Intl.DateTimeFormat(calendarLocale(), { dateStyle: "long", timeZone: "Europe/Berlin" }).format(new Date(iso));
    } catch (e) {
      return iso.slice(0, 10);
    }
  }

  function appointmentTime(a) {
    var start = new Date(a.start);
    var end = new Date(a.end);
    try {
      var format = new Intl.DateTimeFormat(calendarLocale(), { dateStyle: "full", timeStyle: "short", timeZone: "Europe/Berlin" });
      return format.formatRange ? format.formatRange(start, end) : format.format(start);
    } catch (e) {
      return a.start;
    }
  }

  function appointmentItem(a) {
    var item = document.createElement("li");
    var when = document.createElement("time");
    when.dateTime = a.start;
    when.textContent = appointmentTime(a);
    item.appendChild(when);
    var where = document.createElement("p");
    where.dir = "auto";
    // Only an https link becomes clickable: the address comes from staff input.
    if (a.online_url && /^https:\/\//i.test(a.online_url)) {
      var link = document.createElement("a");
      link.href = a.online_url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.textContent = t("appointment_online");
      where.appendChild(link);
    } else {
      where.textContent = a.location || a.online_url || "";
    }
    item.appendChild(where);
    var add = document.createElement("button");
    add.type = "button";
    add.className = "secondary calendar";
    add.setAttribute("data-t", "add_to_calendar");
    add.textContent = t("add_to_calendar");
    add.addEventListener("click", function () {
      download("/appointments/" + encodeURIComponent(a.appointment_id) + "/calendar", "migranet-appointment.ics");
    });
    item.appendChild(add);
    return item;
  }

  // A cancelled appointment stays in the list, marked, until its time: without SMS consent the
  // applicant would otherwise see it vanish without a word.
  function cancelledItem(a) {
    var item = document.createElement("li");
    item.className = "cancelled";
    var when = document.createElement("time");
    when.dateTime = a.start;
    when.textContent = appointmentTime(a);
    item.appendChild(when);
    var note = document.createElement("p");
    note.setAttribute("data-t", "appointment_cancelled");
    note.textContent = t("appointment_cancelled");
    item.appendChild(note);
    return item;
  }

  function renderAppointments(appointments, cancelled) {
    var list = $("appointment-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    var items = (appointments || []).map(function (a) { return { start: a.start, node: appointmentItem(a) }; });
    (cancelled || []).forEach(function (a) { items.push({ start: a.start, node: cancelledItem(a) }); });
    items.sort(function (x, y) { return x.start < y.start ? -1 : x.start > y.start ? 1 : 0; });
    items.forEach(function (entry) { list.appendChild(entry.node); });
    show("appointments", list.children.length > 0);
    // Times are Berlin's; a phone elsewhere (an applicant not yet in Germany, an online meeting) is told so.
    var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    show("times-in-munich", zone !== "Europe/Berlin");
  }

  function render(found) {
    useLanguage(found.language);
    $("case-status").textContent = t("status_" + found.status) || found.status;
    $("case-partner").textContent = found.partner_name;
    $("case-partner-address").textContent = found.partner_address || "";
    $("case-reference").textContent = found.reference;
    $("case-received").textContent = day(found.created_at);
    renderAppointments(found.appointments, found.cancelled_appointments);
    show("loading", false);
    show("case", true);
  }

  function gone() {
    show("loading", false);
    show("case", false);
    show("not-found", true);
  }

  function load() {
    call("", "GET").then(function (response) {
      if (response.status === 404) return gone();
      if (!response.ok) return problem();
      return response.json().then(render);
    }).catch(problem);
  }

  load();

  function fileName(response, fallback) {
    var named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return named ? named[1] : fallback;
  }

  // The secret travels in a header, so a plain link cannot fetch the file: fetch it, then save the blob.
  function download(path, fallbackName) {
    show("problem", false);
    call(path, "GET").then(function (response) {
      // A calendar file of an appointment cancelled meanwhile: show the appointments as they are now.
      if (response.status === 404) return path === "/export" ? gone() : load();
      if (!response.ok) return problem();
      return response.blob().then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = fileName(response, fallbackName);
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      });
    }).catch(problem);
  }

  $("download").addEventListener("click", function () { download("/export", "migranet-" + caseId + ".json"); });

  $("erase").addEventListener("click", function () {
    show("confirm", true);
    $("erase").hidden = true;
    // The safe answer first: Enter or a second tap must not delete everything (WAI-ARIA alertdialog).
    $("erase-cancel").focus();
  });

  function cancelErase() {
    show("confirm", false);
    $("erase").hidden = false;
    $("erase").focus();
  }
  $("erase-cancel").addEventListener("click", cancelErase);
  $("confirm").addEventListener("keydown", function (event) {
    if (event.key === "Escape") cancelErase();
  });

  $("erase-confirm").addEventListener("click", function () {
    var button = $("erase-confirm");
    button.disabled = true;
    show("problem", false);
    call("", "DELETE").then(function (response) {
      button.disabled = false;
      if (response.status === 404) return gone();
      if (!response.ok) return problem();
      show("case", false);
      show("erased", true);
      $("erased").focus();
    }).catch(function () {
      button.disabled = false;
      problem();
    });
  });

  // Another link pasted into this tab changes only the #fragment, which loads nothing by itself:
  // the page must not go on showing the previous case under the new link.
  window.addEventListener("hashchange", function () { window.location.reload(); });
})();
