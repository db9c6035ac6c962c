/* Coordinators' metrics view: GET /coordinator/metrics drawn as inline SVG bar charts (no library),
 * each with a caption, a text summary for screen readers and the same figures as a table.
 */
(function (global) {
  "use strict";

  var S = global.Staff;
  var t = S.t;
  var el = S.el;
  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 640;
  var ROW = 44;
  var BAR = 14;
  var LABEL_SPACE = 18;
  var VALUE_SPACE = 90;
  var SERIES_CLASSES = ["series-a", "series-b"];

  var form = S.byId("metrics-form");
  var summary = S.byId("metrics-summary");
  var charts = S.byId("metrics-charts");
  var loaded = null;
  var chartCount = 0;

  function svg(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, String(attributes[name])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function number(value) {
    return value === null || value === undefined ? t("no_data") : new Intl.NumberFormat(S.LOCALE).format(value);
  }

  /* Horizontal bars, one group per row (the label above its bars, so long partner names never clip).
   * spec: {title, series: [{name, format}], rows: [{label, values: [number|null]}]} */
  function barChart(spec) {
    var id = "chart-" + (++chartCount);
    var perRow = spec.series.length;
    var rowHeight = LABEL_SPACE + perRow * (BAR + 4) + 10;
    var legend = perRow > 1 ? 24 : 0;
    var height = legend + spec.rows.length * rowHeight + 4;
    var max = 0;
    spec.rows.forEach(function (row) { row.values.forEach(function (v) { if (v !== null && v > max) max = v; }); });
    var scale = max > 0 ? (WIDTH - VALUE_SPACE) / max : 0;
    var descText = spec.rows.map(function (row) {
      return row.label + ": " + row.values.map(function (v, i) {
        return (perRow > 1 ? spec.series[i].name + " " : "") + spec.series[i].format(v);
      }).join(", ");
    }).join("; ");

    var chart = svg("svg", { viewBox: "0 0 " + WIDTH + " " + height, role: "img", "aria-labelledby": id + "-title " + id + "-desc",
      focusable: "false", "class": "chart" });
    chart.appendChild(svg("title", { id: id + "-title" }, spec.title));
    chart.appendChild(svg("desc", { id: id + "-desc" }, descText));
    if (legend) {
      var x = 0;
      spec.series.forEach(function (series, i) {
        chart.appendChild(svg("rect", { x: x, y: 4, width: 14, height: 14, "class": SERIES_CLASSES[i] }));
        chart.appendChild(svg("text", { x: x + 20, y: 16, "class": "legend" }, series.name));
        x += 40 + series.name.length * 8;
      });
    }
    spec.rows.forEach(function (row, r) {
      var top = legend + r * rowHeight;
      chart.appendChild(svg("text", { x: 0, y: top + 13, "class": "row-label" }, row.label));
      row.values.forEach(function (v, i) {
        var y = top + LABEL_SPACE + i * (BAR + 4);
        var w = v === null || v === undefined ? 0 : Math.max(v > 0 ? 2 : 0, v * scale);
        var bar = svg("rect", { x: 0, y: y, width: w.toFixed(1), height: BAR, rx: 2, "class": "bar " + SERIES_CLASSES[i] });
        bar.appendChild(svg("title", {}, row.label + " – " + spec.series[i].name + ": " + spec.series[i].format(v)));
        chart.appendChild(bar);
        chart.appendChild(svg("text", { x: (w + 6).toFixed(1), y: y + BAR - 2, "class": "value" },
          spec.series[i].format(v)));
      });
    });

    var head = el("tr", {}, [el("th", { scope: "col", text: t("partner") })].concat(
      spec.series.map(function (s) { return el("th", { scope: "col", text: s.name }); })));
    var body = el("tbody", {}, spec.rows.map(function (row) {
      return el("tr", {}, [el("th", { scope: "row", text: row.label })].concat(
        row.values.map(function (v, i) { return el("td", { text: spec.series[i].format(v) }); })));
    }));
    var table = el("table", { className: "data" }, [el("thead", {}, [head]), body]);
    return el("figure", { className: "chart-figure", "data-chart": spec.key }, [
      el("figcaption", { text: spec.title }),
      chart,
      el("details", {}, [el("summary", { text: t("as_table") }), table])
    ]);
  }

  function card(label, value) {
    return el("div", { className: "card" }, [el("p", { className: "card-label", text: label }),
      el("p", { className: "card-value", text: value })]);
  }

  function render(metrics) {
    var net = metrics.network || {};
    var sms = net.sms || {};
    S.clear(summary);
    [
      [t("kpi_intakes"), number(net.intakes)],
      [t("kpi_overdue"), number(net.overdue_cases)],
      [t("kpi_claim_median"), S.hours((net.time_to_claim_hours || {}).median)],
      [t("kpi_first_appointment"), S.hours((net.time_to_first_appointment_hours || {}).median)],
      [t("kpi_appointments"), number(net.appointments)],
      [t("kpi_no_show_rate"), S.percent(net.no_show_rate)],
      [t("kpi_sms"), number(sms.delivered) + " / " + number(sms.failed)],
      [t("kpi_opt_outs"), number(net.opt_outs)]
    ].forEach(function (pair) { summary.appendChild(card(pair[0], pair[1])); });

    var partnerIds = Object.keys(metrics.partners || {}).sort(function (a, b) {
      return S.session.partnerName(a).localeCompare(S.session.partnerName(b));
    });
    function rows(pick) {
      return partnerIds.map(function (id) {
        var p = S.session.partners[id];
        return { label: (p && (p.short_name || p.name)) || id, values: pick(metrics.partners[id] || {}) };
      });
    }
    var count = { name: t("value"), format: number };
    var hoursSeries = function (name) { return { name: name, format: S.hours }; };
    S.clear(charts);
    charts.appendChild(barChart({ key: "intakes", title: t("chart_intakes"), series: [count],
      rows: rows(function (f) { return [f.intakes || 0]; }) }));
    charts.appendChild(barChart({ key: "time-to-claim", title: t("chart_claim"),
      series: [hoursSeries(t("median")), hoursSeries(t("p90"))],
      rows: rows(function (f) { var h = f.time_to_claim_hours || {}; return [nullable(h.median), nullable(h.p90)]; }) }));
    charts.appendChild(barChart({ key: "no-show", title: t("chart_no_show"), series: [{ name: t("kpi_no_show_rate"),
      format: S.percent }], rows: rows(function (f) { return [nullable(f.no_show_rate)]; }) }));
    charts.appendChild(barChart({ key: "sms", title: t("chart_sms"),
      series: [{ name: t("delivered"), format: number }, { name: t("failed"), format: number }],
      rows: rows(function (f) { var s = f.sms || {}; return [s.delivered || 0, s.failed || 0]; }) }));
    var rules = net.routed_per_rule || {};
    var ruleRows = Object.keys(rules).sort().map(function (rule) { return { label: S.label("rules", rule), values: [rules[rule]] }; });
    if (ruleRows.length) {
      charts.appendChild(barChart({ key: "rules", title: t("metrics_routed"), series: [count], rows: ruleRows }));
    }
  }

  function nullable(value) {
    return value === undefined ? null : value;
  }

  function range() {
    var from = S.byId("metrics-from").value;
    var to = S.byId("metrics-to").value;
    S.clearFieldErrors(form);
    if (!from || !to) {
      S.showFieldErrors("metrics", [{ field: from ? "to" : "from", code: "required" }]);
      S.announce(t("fix_fields"));  // and not what an earlier view or download said
      return null;
    }
    if (from > to) {
      S.markInvalid(S.byId("metrics-from"), t("metrics_range"));
      S.byId("metrics-from").focus();
      S.announce(t("fix_fields"));
      return null;
    }
    return { from: from, to: to };
  }

  /* A 400 names the field (e.g. `to`: range_too_long): shown there, in the page's language. */
  function refused(error) {
    if (!S.session.token) return;
    if (error.status === 400 && error.body && error.body.errors && S.showFieldErrors("metrics", error.body.errors)) {
      S.announce(t("fix_fields"));
      return;
    }
    S.announce(S.explain(error));
  }

  function load() {
    var r = range();
    if (!r) return;
    var query = "?" + new URLSearchParams(r).toString();
    S.busy(S.byId("metrics-show"), S.api("GET", "/coordinator/metrics" + query)).then(function (metrics) {
      loaded = query;
      render(metrics);
      S.announce(t("metrics_loaded", { from: S.formatTime(r.from + "T12:00", "date"), to: S.formatTime(r.to + "T12:00", "date") }));
    }, refused);
  }

  /* format "csv-excel-de" starts with a byte order mark, which reading the answer as text drops:
   * put it back, or Excel takes the file for Windows-1252. */
  function downloadCsv(format, button) {
    var r = range();
    if (!r) return;
    var params = new URLSearchParams({ from: r.from, to: r.to, format: format });
    S.busy(button, S.api("GET", "/coordinator/metrics?" + params.toString(), undefined, { raw: true, accept: "text/csv" }))
      .then(function (text) {
        if (format === "csv-excel-de" && text.charAt(0) !== "\ufeff") text = "\ufeff" + text;
        S.download(text, "text/csv;charset=utf-8", "migranet-metrics-" + r.from + "-" + r.to + ".csv");
        S.announce(t("csv_ready"));
      }, refused);
  }

  function show() {
    var from = S.byId("metrics-from");
    var to = S.byId("metrics-to");
    if (!from.value) from.value = S.todayBerlin(-29);
    if (!to.value) to.value = S.todayBerlin();
    if (!loaded) load();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load();
  });
  [["metrics-csv", "csv"], ["metrics-csv-excel", "csv-excel-de"]].forEach(function (pair) {
    var button = S.byId(pair[0]);
    button.addEventListener("click", function () { downloadCsv(pair[1], button); });
  });

  function reset() {
    loaded = null;
    S.clear(summary);
    S.clear(charts);
  }

  S.metrics = { show: show, reset: reset, barChart: barChart };
})(window);
