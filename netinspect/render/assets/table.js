/* A sortable, filterable table that puts only the rows in view into the DOM. */
(function () {
  var ROW_H = 24;

  /* columns: [{label, width, num, value(row) -> sortable, text(row) -> string, cls}] */
  NI.VirtualTable = function (host, columns, rows, opts) {
    opts = opts || {};
    var order = rows.map(function (_, i) { return i; }), filtered = order, sortCol = -1, sortDir = 1;
    var scroll = NI.el("div.tscroll"), table = NI.el("table.rows"), colgroup = NI.el("colgroup");
    var head = NI.el("tr"), tbody = NI.el("tbody");
    columns.forEach(function (c, i) {
      colgroup.appendChild(NI.el("col", {style: "width:" + c.width}));
      head.appendChild(NI.el("th", {title: "sort by " + c.label, onclick: function () { sortBy(i); }}, c.label, NI.el("span.dir")));
    });
    NI.add(table, [colgroup, NI.el("thead", {}, head), tbody]);
    scroll.appendChild(table);
    host.appendChild(scroll);

    function sortBy(i) {
      if (sortCol === i) sortDir = sortDir === 1 ? -1 : sortDir === -1 ? 0 : 1;
      else { sortCol = i; sortDir = columns[i].num ? -1 : 1; }
      if (!sortDir) sortCol = -1;
      head.querySelectorAll(".dir").forEach(function (s, k) { s.textContent = k === sortCol ? (sortDir > 0 ? " ▲" : " ▼") : ""; });
      apply();
    }
    var match = null;
    function apply() {
      var list = match ? order.filter(function (i) { return match(rows[i]); }) : order.slice();
      if (sortCol >= 0) {
        var get = columns[sortCol].value;
        list.sort(function (a, b) {
          var x = get(rows[a]), y = get(rows[b]);
          return (x < y ? -1 : x > y ? 1 : a - b) * sortDir;
        });
      }
      filtered = list;
      scroll.scrollTop = 0;
      paint();
    }
    function paint() {
      var top = scroll.scrollTop, h = Math.max(scroll.clientHeight, window.innerHeight || 800);
      var first = Math.max(0, Math.floor(top / ROW_H) - 15), last = Math.min(filtered.length, Math.ceil((top + h) / ROW_H) + 15);
      var frag = document.createDocumentFragment();
      frag.appendChild(spacer(first * ROW_H));
      for (var k = first; k < last; k++) frag.appendChild(makeRow(filtered[k]));
      frag.appendChild(spacer((filtered.length - last) * ROW_H));
      tbody.textContent = "";
      tbody.appendChild(frag);
    }
    function spacer(h) {
      var tr = NI.el("tr.spacer"), td = NI.el("td", {colspan: columns.length, style: "height:" + h + "px"});
      tr.appendChild(td);
      return tr;
    }
    function makeRow(i) {
      var row = rows[i], tr = NI.el("tr", {"data-pos": i, "class": opts.rowClass ? opts.rowClass(row, i) : null});
      columns.forEach(function (c) {
        var td = NI.el("td", {"class": c.cls || (c.num ? "num" : null)});
        var text = c.text(row, sortCol < 0);
        if (typeof text === "object") td.appendChild(text); else td.textContent = text;
        td.title = td.textContent;
        tr.appendChild(td);
      });
      return tr;
    }
    scroll.addEventListener("scroll", NI.throttle(paint));
    tbody.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-pos]");
      if (tr && opts.onRowClick) opts.onRowClick(+tr.getAttribute("data-pos"));
    });
    this.filter = function (fn) { match = fn; apply(); return filtered.length; };
    this.count = function () { return filtered.length; };
    this.matches = function () { return filtered.slice(); };
    apply();
  };
})();
