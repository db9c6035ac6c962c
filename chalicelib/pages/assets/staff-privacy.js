/* A coordinator's part of the open case: the applicant's requests by phone or letter to see everything
 * stored about them (GDPR Art. 15, a JSON download) or to have it erased (Art. 17, with a reason and
 * a confirmation). Staff do not see the section; the API refuses them as well.
 */
(function (global) {
  "use strict";

  var S = global.Staff;
  var t = S.t;
  var session = S.session;

  var section = S.byId("section-privacy");
  var form = S.byId("erase-form");
  var problem = S.byId("case-problem");
  var shown = null;  // the case the section is for

  function path(suffix) {
    return "/coordinator/cases/" + encodeURIComponent(shown.case_id) + suffix;
  }

  /* Called by the case view for every case it shows: an erased one has nothing left to hand out. */
  function show(c) {
    var changed = !shown || shown.case_id !== c.case_id;
    shown = c;
    section.hidden = !session.isCoordinator || !!c.erased_at;
    if (changed) {
      form.reset();
      S.clearFieldErrors(form);
    }
  }

  function exportData() {
    var c = shown;
    S.hideProblem(problem);
    S.busy(S.byId("privacy-export"), S.api("GET", path("/export"))).then(function (body) {
      S.download(JSON.stringify(body, null, 2), "application/json;charset=utf-8", "migranet-" + c.reference + ".json");
      S.announce(t("exported_ok", { reference: c.reference }));
    }, function (error) { S.showProblem(problem, S.explain(error)); });
  }

  function erase(event) {
    event.preventDefault();
    S.clearFieldErrors(form);
    S.hideProblem(problem);
    var errors = [];
    var reason = S.byId("erase-reason").value;
    if (!reason) errors.push({ field: "reason", code: "invalid_choice" });  // "please choose one", not "fill in"
    if (!S.byId("erase-confirm").checked) errors.push({ field: "confirm", code: "confirm_erase" });
    if (errors.length) {
      S.showFieldErrors("erase", errors);
      S.announce(t("fix_fields"));
      return;
    }
    var c = shown;
    S.busy(S.byId("erase-submit"), S.api("POST", path("/erase"), { reason: reason })).then(function () {
      form.reset();
      S.announce(t("erased_ok", { reference: c.reference }));
      S.refreshQueue();
      return S.caseView.refresh();
    }).then(function () {
      S.byId("case-title").focus();
    }, function (error) {
      if (error && error.body && Array.isArray(error.body.errors)) S.showFieldErrors("erase", error.body.errors);
      else S.showProblem(problem, S.explain(error));
    });
  }

  S.byId("privacy-export").addEventListener("click", exportData);
  form.addEventListener("submit", erase);
  S.privacy = { show: show };
})(window);
