/* The report page: summary cards, the graph, per-block bars, the full table, one search box. */
(function () {
  var D = NI.DATA, R = D.report, G = D.graph, C = D.cards, rows = R.layers || [], el = NI.el;
  var app = document.getElementById("app");
  app.textContent = "";
  var byIndex = {};
  rows.forEach(function (r, i) { byIndex[r.index] = i; });
  var flatPos = R.flatten ? byIndex[R.flatten.layer_index] : undefined;
  var errPos = R.error && R.error.layer_index !== null ? byIndex[R.error.layer_index] : undefined;
  var graph = null;
  function showInGraph(p) {
    document.getElementById("graph").scrollIntoView({block: "start"});
    graph.reveal(p);
  }

  /* ---- header and search bar ---- */
  var model = R.model || {};
  NI.add(app, el("header.top", {},
    el("h1", {text: D.title}),
    el("div.sub", {text: [model.description, "input " + C.inputs, "device " + R.device, R.dtype, "netinspect " + (R.netinspect_version || "")].filter(Boolean).join(" · ")})));
  var search = el("input", {type: "search", id: "search", placeholder: "Search layers: name, type or shape (Enter: next in graph)", size: 56, "aria-label": "search layers"});
  var count = el("span.count", {id: "search-count"});
  NI.add(app, el("div.bar", {}, search, count));
  var main = el("main");
  app.appendChild(main);

  /* ---- cards ---- */
  var cards = el("section.cards");
  cards.appendChild(el("div.card", {id: "summary"}, el("h3", {text: "Totals"}), NI.dl(C.totals)));
  if (C.failure) {
    cards.appendChild(el("div.card.bad", {id: "failure"}, el("h3", {text: "✖ Forward pass failed"}), NI.dl(C.failure),
      errPos !== undefined ? el("button", {id: "show-failure", text: "Show in graph", onclick: function () { showInGraph(errPos); }}) : null));
  }
  if (C.flatten) {
    cards.appendChild(el("div.card.flat", {id: "flatten"}, el("h3", {text: "◀ Flatten point"}),
      C.flatten.map(function (line) { return el("p", {text: line}); }),
      flatPos !== undefined ? el("button", {id: "show-flatten", text: "Show in graph", onclick: function () { showInGraph(flatPos); }}) : null));
  }
  if (C.training) {
    /* The chart is an SVG the renderer built from numbers and fixed names (escaped). */
    var chart = el("div.chart", {id: "training-chart"});
    chart.innerHTML = C.trainingChart || "";
    cards.appendChild(el("div.card", {id: "training"}, el("h3", {text: "Training step"}), chart, NI.dl(C.training)));
  }
  var notes = (C.notes || []).slice();
  cards.appendChild(el("div.card", {id: "notes"}, el("h3", {text: "Notes"}),
    notes.length ? el("ul.notes", {}, notes.map(function (n) { return el("li", {text: n}); })) : el("p", {text: "No notes."})));
  main.appendChild(cards);

  /* ---- graph ---- */
  var gsec = el("section", {id: "graph"}, el("h2", {text: "Data flow"}));
  gsec.appendChild(el("p.sub", {text: G.dataFlow
    ? "Edges follow the recorded data flow (each input's producing row), labelled with the tensor's shape. Click a block to unfold it, a box's title to fold it; drag to pan, Ctrl+wheel to zoom."
    : "This report records no data flow, so each row is drawn fed by the row before it (a first child by its parent's input). Click a block to unfold it, a box's title to fold it; drag to pan, Ctrl+wheel to zoom."}));
  var wrapEl = el("div.graphwrap");
  var details = el("aside.details", {id: "details", hidden: true});
  var tools = el("div.gtools");
  wrapEl.appendChild(tools);
  wrapEl.appendChild(details);
  wrapEl.appendChild(el("div.legend", {text: "blue: folded block (+n children) · stacked: repeated blocks (× n) · orange: the flatten point and its consumers · red: the failing row"}));
  gsec.appendChild(wrapEl);
  main.appendChild(gsec);
  var layoutBtn = null;
  graph = new NI.GraphView(wrapEl, {report: R, graph: G, cards: C, onSelect: showDetails,
    onLayout: function (wrapped) { if (layoutBtn) layoutBtn.textContent = wrapped ? "One column" : "Columns"; }});
  [["−", function () { graph.zoom(1 / 1.25); }, "zoom out"], ["+", function () { graph.zoom(1.25); }, "zoom in"],
    ["Fit", function () { graph.fitAll(); }, "the whole graph, as far as it stays readable"], ["Top", function () { graph.top(); }, "back to the top"],
    ["Unfold all", function () { graph.setAll(false); }, "every block unfolded"], ["Fold all", function () { graph.setAll(true); }, "every block folded"],
    ["Reset", function () { graph.reset(); }, "the folding the page opened with"]].forEach(function (b) {
    tools.appendChild(el("button", {text: b[0], title: b[2], onclick: b[1]}));
  });
  /* A tall graph opens in columns side by side; this button switches to one column and back. */
  layoutBtn = el("button", {id: "graph-layout", title: "lay the graph out in one column or in columns side by side",
    onclick: function () { graph.setWrap(graph.wrapped() ? "off" : "on"); }});
  layoutBtn.textContent = graph.wrapped() ? "One column" : "Columns";
  tools.appendChild(layoutBtn);
  var legend = wrapEl.querySelector(".legend"), plainLegend = legend.textContent;
  var MEASURES = ["params", "FLOPs", "activation memory"];
  tools.appendChild(el("select", {id: "colour-by", title: "colour the nodes by a measure", "aria-label": "colour nodes by",
    onchange: function (ev) {
      var k = +ev.target.value;
      graph.colourBy(k);
      legend.textContent = k < 0 ? plainLegend : "colour: " + MEASURES[k] + " (darker: more, relative to the largest node shown; a folded block counts its whole subtree)";
    }}, [["-1", "colour: none"], ["0", "colour: params"], ["1", "colour: FLOPs"], ["2", "colour: activations"]].map(function (o) {
    return el("option", {value: o[0], text: o[1]});
  })));
  function showDetails(id, info) {
    details.textContent = "";
    NI.add(details, [el("button.close", {text: "×", title: "close", onclick: function () { details.hidden = true; }}),
      el("h3", {text: info[0]}), NI.dl(info[1])]);
    if (info[2].length) details.appendChild(el("pre", {text: info[2].join("\n")}));
    details.hidden = false;
  }

  /* ---- bars per block ---- */
  var totals = R.totals || {}, whole = [totals.params || 0, totals.flops || 0, totals.activation_bytes || 0];
  var bsec = el("section", {id: "blocks"}, el("h2", {text: "Params, FLOPs and memory by block"}));
  var bars = el("div.bars");
  bsec.appendChild(bars);
  main.appendChild(bsec);
  var open = new Set();
  function blockSums(id) {
    if (id[0] === "g") return G.groups[+id.slice(1)].reduce(function (a, p) { return [a[0] + G.sums[p][0], a[1] + G.sums[p][1], a[2] + G.sums[p][2]]; }, [0, 0, 0]);
    return G.sums[+id.slice(1)];
  }
  function meter(cls, value, total, fmt) {
    var w = total ? Math.max(value ? 0.5 : 0, 100 * value / total) : 0;
    return el("div.meter." + cls, {}, el("div.track", {}, el("span.b", {style: "width:" + w.toFixed(2) + "%"})),
      el("span.v", {text: value ? fmt(value) + " · " + NI.pct(value, total) : "-"}));
  }
  function paintBars() {
    var tbody = el("tbody");
    function addRows(list, depth) {
      list.forEach(function (id) {
        var s = blockSums(id), inner = G.kids[id], first = id[0] === "g" ? rows[G.groups[+id.slice(1)][0]] : rows[+id.slice(1)];
        var tog = inner ? el("span.tog", {text: open.has(id) ? "▾" : "▸"}) : el("span.tog");
        tbody.appendChild(el("tr", {"data-id": id, onclick: inner ? function () { if (open.has(id)) open.delete(id); else open.add(id); paintBars(); } : null},
          el("td.blk", {style: "padding-left:" + (8 + depth * 16) + "px", title: G.titles[id] || ""}, tog, (G.titles[id] || id) + "  ", el("span", {style: "color:var(--muted)", text: first.type})),
          el("td", {}, meter("p", s[0], whole[0], NI.count)),
          el("td", {}, meter("f", s[1], whole[1], NI.count)),
          el("td", {}, meter("m", s[2], whole[2], NI.bytes))));
        if (inner && open.has(id)) addRows(inner, depth + 1);
      });
    }
    addRows(G.kids[""] || [], 0);
    bars.textContent = "";
    bars.appendChild(el("table", {}, el("thead", {}, el("tr", {}, el("th", {text: "Block"}), el("th", {text: "Params"}), el("th", {text: "FLOPs"}), el("th", {text: "Activations"}))), tbody));
  }
  paintBars();

  /* ---- the full table ---- */
  var tsec = el("section", {id: "table"}, el("h2", {text: "All rows (" + rows.length + ")"}));
  main.appendChild(tsec);
  function paramsText(r) {
    if (!r.params) return r.shared_params ? "(shared " + NI.int(r.shared_params) + ")" : "-";
    var t = NI.int(r.params), frozen = r.params - r.trainable_params;
    if (frozen === r.params) t += " (frozen)"; else if (frozen) t += " (" + NI.int(frozen) + " frozen)";
    return r.shared_params ? t + " +" + NI.int(r.shared_params) + " shared" : t;
  }
  function layerCell(r, tree) {
    var i = byIndex[r.index], span = el("span", {style: tree ? "padding-left:" + (r.depth * 12) + "px" : null});
    var name = (r.name || "(root)") + (r.kind === "function" ? "()" : "") + (r.call_index ? " #" + (r.call_index + 1) : "") + (r.repeat > 1 ? " × " + r.repeat : "");
    span.appendChild(document.createTextNode(name));
    if (i === flatPos) span.appendChild(el("span.tag.flat", {text: "◀ flatten"}));
    if (i === errPos) span.appendChild(el("span.tag.bad", {text: "✖ failed here"}));
    return span;
  }
  var table = new NI.VirtualTable(tsec, [
    {label: "#", width: "52px", num: true, value: function (r) { return r.index; }, text: function (r) { return String(r.index); }},
    {label: "Layer", width: "28%", value: function (r) { return r.name; }, text: layerCell},
    {label: "Type", width: "13%", value: function (r) { return r.type; }, text: function (r) { return r.type; }},
    {label: "Input shape", width: "14%", cls: "shape", value: function (r) { return NI.shapes(r.input_shapes); }, text: function (r) { return NI.shapes(r.input_shapes); }},
    {label: "Output shape", width: "14%", cls: "shape", value: function (r) { return NI.shapes(r.output_shapes); }, text: function (r) { return NI.shapes(r.output_shapes); }},
    {label: "Params", width: "11%", num: true, value: function (r) { return r.params; }, text: paramsText},
    {label: "FLOPs", width: "8%", num: true, value: function (r) { return r.flops; }, text: function (r) { return NI.count(r.flops); }},
    {label: "Activations", width: "9%", num: true, value: function (r) { return r.activation_bytes; }, text: function (r) { return r.activation_bytes ? NI.bytes(r.activation_bytes) : "-"; }},
    {label: "Source", width: "14%", value: function (r) { return r.source || ""; }, text: function (r) { return r.source || ""; }}
  ], rows, {
    rowClass: function (r, i) { return i === flatPos ? "flatten" : i === errPos ? "failed" : null; },
    onRowClick: showInGraph
  });

  /* ---- search: filters the table, marks the graph, Enter walks the matches in the graph ---- */
  var matches = [], cursor = -1, lastQ = "";
  function haystack(r) { return ((r.name || "(root)") + " " + r.type + " " + NI.shapes(r.input_shapes, 99) + " " + NI.shapes(r.output_shapes, 99) + " " + (r.source || "")).toLowerCase(); }
  var hay = rows.map(haystack);
  function runSearch() {
    var q = search.value.trim().toLowerCase();
    cursor = -1;
    lastQ = q;
    if (!q) { table.filter(null); graph.setHits([]); matches = []; count.textContent = ""; return; }
    var words = q.split(/\s+/);
    var n = table.filter(function (r) { var h = hay[byIndex[r.index]]; return words.every(function (w) { return h.indexOf(w) >= 0; }); });
    matches = table.matches();
    graph.setHits(matches.slice(0, 2000));
    count.textContent = n + (n === 1 ? " row matches" : " rows match");
  }
  search.addEventListener("input", NI.throttle(runSearch));
  search.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    if (search.value.trim().toLowerCase() !== lastQ) runSearch();
    if (!matches.length) return;
    cursor = (cursor + 1) % matches.length;
    graph.reveal(matches[cursor]);
    graph.setHits(matches.slice(0, 2000));
    count.textContent = (cursor + 1) + " of " + matches.length;
  });
  window.netinspect = {graph: graph, table: table, search: runSearch};
  document.body.setAttribute("data-ready", "1");
})();
