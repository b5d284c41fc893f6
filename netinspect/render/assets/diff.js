/* The diff page (diff --format html, check --html): old and new side by side, one aligned row
   per line, blocks without changes folded, one search box for every target on the page. */
(function () {
  var D = NI.DATA, el = NI.el, app = document.getElementById("app");
  app.textContent = "";
  NI.add(app, el("header.top", {}, el("h1", {text: D.title}), D.summary ? el("div.sub", {text: D.summary}) : null));
  var search = el("input", {type: "search", id: "search", placeholder: "Search layers: name, type or shape (Enter: next)", "aria-label": "search layers"});
  var count = el("span.count", {id: "search-count"});
  var bar = el("div.bar", {}, search, count,
    el("button", {text: "Unfold all", onclick: function () { views.forEach(function (v) { v.setAll(false); }); }}),
    el("button", {text: "Fold unchanged", onclick: function () { views.forEach(function (v) { v.reset(); }); }}));
  NI.add(app, bar);
  /* The tables' headers stick just below the bar (which wraps on a narrow screen), not under it. */
  function barHeight() { document.documentElement.style.setProperty("--bar-h", bar.offsetHeight + "px"); }
  barHeight();
  window.addEventListener("resize", barHeight);
  var main = el("main");
  app.appendChild(main);
  var views = [];

  var FIELD = {type: "type", kind: "type", input_shapes: "in", output_shapes: "out", params: "params", trainable_params: "params"};

  function DiffTable(host, T) {
    var rows = T.rows, n = rows.length, parent = new Array(n), depth = new Array(n), kids = {}, latest = {};
    function nameOf(r) { return (r.n || r.o).name; }
    rows.forEach(function (r, i) {
      var name = nameOf(r), cut = name.lastIndexOf("."), pname = name ? (cut < 0 ? "" : name.slice(0, cut)) : null;
      var p = pname === null ? -1 : (latest[pname] !== undefined ? latest[pname] : -1);
      parent[i] = p; depth[i] = p < 0 ? 0 : depth[p] + 1;
      (kids[p] = kids[p] || []).push(i);
      if (r.o) latest[r.o.name] = i;
      if (r.n) latest[r.n.name] = i;
    });
    var changedInside = new Array(n).fill(false);
    for (var i = n - 1; i >= 0; i--) {
      if (rows[i].s !== "same" && parent[i] >= 0) changedInside[parent[i]] = true;
      if (changedInside[i] && parent[i] >= 0) changedInside[parent[i]] = true;
    }
    var flat = T.flatten || [null, null], pinned = new Set();
    rows.forEach(function (r, i) {
      if ((r.o && r.o.name === flat[0]) || (r.n && r.n.name === flat[1])) for (var p = parent[i]; p >= 0; p = parent[p]) pinned.add(p);
    });
    var folded;
    function defaults() {
      folded = new Set();
      Object.keys(kids).forEach(function (k) { k = +k; if (k >= 0 && parent[k] >= 0 && !changedInside[k] && !pinned.has(k)) folded.add(k); });
    }
    defaults();
    var hits = new Set();
    var table = el("table.diff"), tbody = el("tbody");
    NI.add(table, [el("colgroup", {}, el("col", {style: "width:90px"}), el("col"), el("col")),
      el("thead", {}, el("tr", {}, el("th", {text: ""}), el("th", {text: "old: " + T.old}), el("th", {text: "new: " + T.new}))), tbody]);
    host.appendChild(table);

    function side(v, r, which) {
      var td = el("td.side." + which);
      if (!v) { td.className += " empty"; return td; }
      var bold = {};
      (r.f || []).forEach(function (f) { bold[FIELD[f]] = true; });
      var renamed = r.s === "renamed" || (r.o && r.n && r.o.name !== r.n.name);
      function part(key, text, cls) { return bold[key] ? el("b", {text: text}) : el("span." + cls, {text: text}); }
      NI.add(td, [el("span.nm", {text: (v.name || "(root)") + (v.kind === "function" ? "()" : "") + (v.call ? " #" + (v.call + 1) : "")}),
        part("type", v.type, "ty")]);
      if (renamed && which === "new") td.appendChild(el("span.ty", {text: "(was " + r.o.name + ")"}));
      if (v.name === flat[which === "old" ? 0 : 1]) td.appendChild(el("span.tag.flat", {text: "◀ flatten"}));
      NI.add(td, [el("br"), el("span.sh", {}, part("in", NI.shapes(v.in), "sh"), " → ", part("out", NI.shapes(v.out), "sh"),
        v.params ? "  ·  " : "", v.params ? part("params", NI.int(v.params) + " params", "sh") : "")]);
      return td;
    }
    function visible(i) { for (var p = parent[i]; p >= 0; p = parent[p]) if (folded.has(p)) return false; return true; }
    function paint() {
      var frag = document.createDocumentFragment();
      rows.forEach(function (r, i) {
        if (!visible(i)) return;
        var hasKids = !!kids[i], flatRow = (r.o && r.o.name === flat[0]) || (r.n && r.n.name === flat[1]);
        var tr = el("tr", {"class": r.s + (hits.has(i) ? " hit" : "") + (flatRow ? " flatten" : ""), "data-i": i});
        var tog = el("span.tog", {text: hasKids ? (folded.has(i) ? "▸" : "▾") : ""});
        var st = el("td.st", {}, tog, r.s === "same" ? "" : r.s + (r.g ? "?" : ""));
        if (hasKids && folded.has(i) && changedInside[i]) st.appendChild(el("span.inside", {text: "•"}));
        if (hasKids) { tr.setAttribute("data-fold", folded.has(i) ? "folded" : "open"); tr.style.cursor = "pointer"; }
        tr.appendChild(st);
        var o = side(r.o, r, "old"), nw = side(r.n, r, "new");
        o.style.paddingLeft = nw.style.paddingLeft = (8 + depth[i] * 14) + "px";
        NI.add(tr, [o, nw]);
        frag.appendChild(tr);
      });
      tbody.textContent = "";
      tbody.appendChild(frag);
    }
    tbody.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-i]");
      if (!tr || !kids[+tr.getAttribute("data-i")]) return;
      var i = +tr.getAttribute("data-i");
      if (folded.has(i)) folded.delete(i); else folded.add(i);
      paint();
    });
    this.setAll = function (fold) { if (fold) defaults(); else folded = new Set(); paint(); };
    this.reset = function () { defaults(); paint(); };
    this.search = function (words) {
      hits = new Set();
      if (words.length) rows.forEach(function (r, i) {
        var h = [r.o, r.n].filter(Boolean).map(function (v) { return v.name + " " + v.type + " " + NI.shapes(v.in, 99) + " " + NI.shapes(v.out, 99); }).join(" ").toLowerCase();
        if (words.every(function (w) { return h.indexOf(w) >= 0; })) {
          hits.add(i);
          for (var p = parent[i]; p >= 0; p = parent[p]) folded.delete(p);
        }
      });
      paint();
      return Array.from(hits).map(function (i) { return tbody.querySelector('tr[data-i="' + i + '"]'); });
    };
    paint();
  }

  (D.targets || []).forEach(function (T) {
    var sec = el("section.target");
    var status = T.status ? el("span.st-" + T.status, {text: T.status === "ok" ? "ok" : T.status.toUpperCase()}) : null;
    if (T.target) sec.appendChild(el("h2", {}, status, " ", T.target, T.baseline ? el("span.sub", {text: "  (" + T.baseline + ")"}) : null));
    var body = el("div.body");
    sec.appendChild(body);
    if (T.error) body.appendChild(el("p", {text: T.error}));
    if (T.rows) {
      body.appendChild(el("p", {}, el("strong", {text: T.summary})));
      if (T.changes.length) body.appendChild(el("ul", {}, T.changes.map(function (c) { return el("li", {text: c}); })));
      views.push(new DiffTable(body, T));
    }
    main.appendChild(sec);
  });

  var found = [], cursor = -1, lastQ = "";
  function runSearch() {
    var q = search.value.trim().toLowerCase(), words = q ? q.split(/\s+/) : [];
    lastQ = q; cursor = -1;
    found = [];
    views.forEach(function (v) { found = found.concat(v.search(words)); });
    count.textContent = q ? found.length + (found.length === 1 ? " row matches" : " rows match") : "";
  }
  search.addEventListener("input", NI.throttle(runSearch));
  search.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    if (search.value.trim().toLowerCase() !== lastQ) runSearch();
    if (!found.length) return;
    cursor = (cursor + 1) % found.length;
    found[cursor].scrollIntoView({block: "center"});
    count.textContent = (cursor + 1) + " of " + found.length;
  });
  document.body.setAttribute("data-ready", "1");
})();
