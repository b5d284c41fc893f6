/* The data-flow graph. Rows arrive in pre-order and in execution order, so the layout is a
   column: one node per visible row, indented by depth, a box around each unfolded container,
   edges between neighbours straight down and skip connections as arcs on the right; a column
   much taller than the screen is cut into columns side by side. It is linear in the visible
   nodes, and only what is on screen is in the DOM (culled per frame). */
(function () {
  var W = 300, IND = 18, NODE_H = 40, LINE_H = 14, GAP = 28, HEAD_H = 22, BOX_GAP = 8,
    BOX_PAD = 10, X0 = 20, TOP = 14, LANE = 12, CHAR_W = 6.6;

  function wrap(text, width, maxLines) {
    var words = String(text).split(/\s+/), lines = [], line = "";
    words.forEach(function (w) {
      if (line && (line + " " + w).length > width) { lines.push(line); line = w; }
      else line = line ? line + " " + w : w;
    });
    if (line) lines.push(line);
    if (lines.length > maxLines) { lines = lines.slice(0, maxLines); lines[maxLines - 1] += " …"; }
    return lines;
  }
  function squeeze(text, n) {
    if (text.length <= n) return text;
    var head = Math.ceil((n - 1) * 0.6);
    return text.slice(0, head) + "…" + text.slice(text.length - (n - 1 - head));
  }

  /* Room above the graph for the toolbar over it, so the first node is not under the buttons. */
  var CLEAR = 30;

  NI.GraphView = function (host, opts) {
    var report = opts.report, G = opts.graph, rows = report.layers || [], cards = opts.cards || {};
    var up = {}, self = this;
    Object.keys(G.kids).forEach(function (k) { G.kids[k].forEach(function (c) { up[c] = k; }); });
    var folded = new Set(G.folded), hits = new Set(), selected = null;
    /* Colour by a measure (0 params, 1 FLOPs, 2 activation memory; -1 none): a node's tint
       grows with its share of the largest visible node's, on a square-root scale so that
       small blocks stay visible beside a dominant one. */
    var colourBy = -1, COLOURS = ["9,105,218", "130,80,223", "26,127,55"];
    var flatten = report.flatten, error = report.error;
    var byIndex = {};
    rows.forEach(function (r, i) { byIndex[r.index] = i; });
    var flatPos = flatten ? byIndex[flatten.layer_index] : undefined;
    var consumers = !flatten ? [] : flatten.consumers || (flatten.consumer ? [flatten.consumer] : []);
    var consPos = new Set(consumers.map(function (c) { return byIndex[c.layer_index]; }));
    var errPos = error && error.layer_index !== null ? byIndex[error.layer_index] : undefined;
    var explain = {};
    (report.explain || []).forEach(function (e) { explain[e.layer_index] = e; });

    /* ---- the view tree and its fold state (netinspect/render/graph.py says the same) ---- */
    function pos(id) { return id[0] === "r" ? +id.slice(1) : null; }
    function isBox(id) { return !!G.kids[id]; }
    function groupRows(id) { return G.groups[+id.slice(1)]; }
    function outermostFolded(id) {
      var found = folded.has(id) ? id : null;
      for (var v = up[id]; v; v = up[v]) if (folded.has(v)) found = v;
      return found;
    }
    function lastChildRow(p) {
      var k = G.kids["r" + p];
      if (!k) return -1;
      var last = k[k.length - 1];
      return last[0] === "g" ? groupRows(last).slice(-1)[0] : +last.slice(1);
    }
    function producerNode(p) {
      if (p === G.canvas) return "x_in";
      for (;;) {
        var hidden = outermostFolded("r" + p);
        if (hidden) return hidden;
        var c = lastChildRow(p);
        if (c < 0) return "r" + p;
        p = c;
      }
    }
    function consumerNode(p) {
      var id = "r" + p, hidden = outermostFolded(id);
      if (hidden) return hidden;
      return isBox(id) ? null : id;
    }
    function visibleEdges() {
      var seen = new Set(), out = [];
      G.edges.forEach(function (e) {
        var t = consumerNode(e[1]);
        if (!t) return;
        var s = e[0] < 0 ? "x_in" : producerNode(e[0]);
        if (s === t || seen.has(s + ">" + t)) return;
        seen.add(s + ">" + t);
        out.push([s, t, e[2]]);
      });
      var outputs = report.outputs || [];
      if (G.outputFrom !== null && outputs.length && !error)
        out.push([producerNode(G.outputFrom), "x_out", outputs.length === 1 ? NI.shape(outputs[0]) : ""]);
      return out;
    }

    /* ---- what a node says ---- */
    function title(id) {
      if (id === "x_in") return "input";
      if (id === "x_out") return "output";
      return G.titles[id] || id;
    }
    function rowOf(id) { var p = pos(id); return p === null ? rows[groupRows(id)[0]] : rows[p]; }
    function sums(id) {
      if (id[0] === "g") return groupRows(id).reduce(function (a, p) { return [a[0] + G.sums[p][0], a[1] + G.sums[p][1], a[2] + G.sums[p][2]]; }, [0, 0, 0]);
      return G.sums[pos(id)];
    }
    function subtitle(id) {
      if (id === "x_in") return (report.inputs || []).map(function (i) { return NI.shape(i.shape) + " " + i.dtype; }).join(", ");
      if (id === "x_out") return NI.shapes(report.outputs, 2);
      var s = sums(id), text = rowOf(id).type;
      if (s[0]) text += " · " + NI.count(s[0]) + " params";
      return text;
    }
    function extraLines(id) {
      var p = pos(id), out = [];
      if (p === null) return out;
      if (p === flatPos && cards.flatten) {
        // The lines the table prints (flattens / reduces / selects, each consumer), with
        // shapes written tight so that they fit the node.
        cards.flatten.slice(1).forEach(function (line) {
          line = line.replace(/\[([^\]]*)\]/g, function (m, inner) { return "[" + inner.replace(/, /g, ",") + "]"; }).replace(" -> ", " → ");
          out = out.concat(wrap(line, 44, 3));
        });
      }
      if (p === errPos && error) {
        out = out.concat(wrap("✖ " + error.message, 44, 5));
        if (error.hint) out = out.concat(wrap("Hint: " + error.hint, 44, 4));
      }
      return out;
    }
    function classes(id) {
      var c = ["node"], p = pos(id);
      if (id === "x_in" || id === "x_out") c.push("io");
      else if (id[0] === "g") c.push("group");
      else {
        if (isBox(id)) c.push("folded");
        if (rows[p].kind === "function") c.push("fn");
        if (p === flatPos) c.push("flatten");
        if (consPos.has(p)) c.push("consumer");
        if (p === errPos) c.push("failed");
      }
      if (hits.has(id)) c.push("hit");
      if (selected === id) c.push("selected");
      return c.join(" ");
    }

    /* ---- layout ----
       First a single column (pre-order, indented by depth). When that is much taller than the
       screen, it is cut into columns side by side (read top to bottom, left to right) at
       top-level items that no skip crosses, so that every skip stays inside one column and
       only the neighbour edge at a cut runs from a column's bottom to the next one's top. */
    var COL_GAP = 48, READ_K = 0.8, READ_MIN = 0.6, MINI_ROOM = 120;
    var wrapMode = "auto"; // "auto": columns when the graph is much taller than wide; "on"; "off"
    var L = null;
    function layout() {
      var nodes = [], boxes = [], at = {}, y = TOP, right = 0, starts = [];
      function addNode(id, depth) {
        y += GAP + (id[0] === "g" ? 6 : 0);
        var n = {id: id, k: nodes.length, x: X0 + depth * IND, y: y, w: W, lines: extraLines(id)};
        n.h = NODE_H + n.lines.length * LINE_H;
        y += n.h;
        nodes.push(n); at[id] = n;
        return n.x + W;
      }
      function walk(id, depth) {
        var inner = G.kids[id];
        if (!inner || folded.has(id)) return addNode(id, depth);
        y += BOX_GAP;
        var b = {id: id, x: X0 + depth * IND + 4, y: y, depth: depth, k: nodes.length};
        boxes.push(b); at[id] = b;
        y += HEAD_H - 4;
        var r = b.x + 120;
        inner.forEach(function (k) { r = Math.max(r, walk(k, depth + 1)); });
        y += BOX_PAD;
        b.w = r + 10 - b.x; b.h = y - b.y;
        return b.x + b.w;
      }
      function top(id, depth) { starts.push({k: nodes.length, y: y}); return id === "x_in" || id === "x_out" ? addNode(id, depth) : walk(id, depth); }
      right = top("x_in", 0);
      (G.kids[""] || []).forEach(function (id) { right = Math.max(right, top(id, 0)); });
      if ((report.outputs || []).length && !error) right = Math.max(right, top("x_out", 0));
      var end = y;
      var hotTargets = new Set(), near = [], arcs = [];
      consPos.forEach(function (p) { if (p !== undefined) hotTargets.add(consumerNode(p)); });
      visibleEdges().forEach(function (e) {
        var a = at[e[0]], b = at[e[1]];
        if (!a || !b || a.k === undefined || b.k === undefined || a.w === undefined || b.w === undefined) return;
        var hot = pos(e[0]) === flatPos && flatPos !== undefined && hotTargets.has(e[1]);
        (b.k === a.k + 1 ? near : arcs).push({a: a, b: b, label: e[2], hot: hot});
      });
      /* Skips become buses: one lane per producer, running from it past its last consumer,
         with a tap into each consumer. A tensor that feeds every block (rotary tables, a mask)
         is then one line, not one per block. Lanes are chosen on the single column: a bus
         stays in one column, so they hold there too. */
      var buses = [], bySource = {}, lanes = [], maxLane = -1;
      arcs.forEach(function (arc) {
        var bus = bySource[arc.a.id];
        if (!bus) { bus = bySource[arc.a.id] = {src: arc.a, arcs: []}; buses.push(bus); }
        bus.arcs.push(arc);
      });
      buses.forEach(function (bus) {
        bus.y0 = bus.src.y + bus.src.h / 2;
        bus.y1 = Math.max.apply(null, bus.arcs.map(function (arc) { return arc.b.y + 32; }));
      });
      buses.slice().sort(function (p, q) { return (p.y1 - p.y0) - (q.y1 - q.y0) || p.y0 - q.y0; }).forEach(function (bus) {
        var lane = 0;
        for (; lane < lanes.length; lane++) {
          if (!lanes[lane].some(function (iv) { return iv[0] < bus.y1 + 4 && bus.y0 - 4 < iv[1]; })) break;
        }
        (lanes[lane] = lanes[lane] || []).push([bus.y0, bus.y1]);
        maxLane = Math.max(maxLane, lane);
        bus.lane = lane;
      });
      /* A cut before top-level item i is allowed where no skip spans it. */
      var spanned = new Int32Array(nodes.length + 1);
      arcs.forEach(function (arc) {
        var lo = Math.min(arc.a.k, arc.b.k), hi = Math.max(arc.a.k, arc.b.k);
        spanned[lo + 1]++; spanned[hi + 1]--;
      });
      for (var i = 1; i <= nodes.length; i++) spanned[i] += spanned[i - 1];
      var cuts = starts.filter(function (st, j) { return j > 0 && !spanned[st.k]; });
      /* Columns: the number that shows the graph largest when both the columns' width (beside
         the overview) and their height are fitted to the screen, no narrower than READ_MIN. */
      var colW = right + 22 + (maxLane + 1) * LANE + 20, s = screen(), total = end - TOP, n = 1;
      if (wrapMode !== "off" && cuts.length) {
        var room = s.w - MINI_ROOM, tall = Math.max(200, s.h - CLEAR - 20), bestK = Math.min(1, room / colW, tall / total);
        for (var m = 2; m <= Math.min(cuts.length + 1, 16); m++) {
          var kw = room / (m * colW + (m - 1) * COL_GAP);
          if (kw < READ_MIN) break;
          var km = Math.min(1, kw, tall * m / total);
          if (km > bestK + 0.01) { bestK = km; n = m; }
        }
        if (wrapMode === "on") n = Math.max(2, n);
        else if (total * READ_K < 1.3 * s.h) n = 1;
      }
      var chosen = [];
      for (var c = 1; c < n; c++) {
        var want = TOP + c * total / n, best = null;
        cuts.forEach(function (cut) {
          if (chosen.length && cut.k <= chosen[chosen.length - 1].k) return;
          if (!best || Math.abs(cut.y - want) < Math.abs(best.y - want)) best = cut;
        });
        if (best) chosen.push(best);
      }
      /* Cuts only fall between top-level items, so one big item can leave a column holding
         nearly everything: then columns gain little, and "auto" keeps one. */
      if (wrapMode === "auto" && chosen.length) {
        var tallest = 0, from = TOP;
        chosen.concat([{y: end}]).forEach(function (cut) { tallest = Math.max(tallest, cut.y - from); from = cut.y; });
        if (tallest > 0.75 * total) chosen = [];
      }
      /* Move each column's nodes and boxes into place. */
      var cols = [], col = 0, colAt = new Int32Array(nodes.length);
      chosen.unshift({k: 0, y: TOP});
      chosen.forEach(function (cut, c) {
        var n1 = c + 1 < chosen.length ? chosen[c + 1].k : nodes.length;
        cols.push({n0: cut.k, n1: n1, dx: 0, dy: TOP - cut.y, bottom: 0});
      });
      var x = 0;
      cols.forEach(function (cc, c) {
        cc.dx = x; cc.x0 = x;
        for (var k = cc.n0; k < cc.n1; k++) {
          var nd = nodes[k];
          nd.x += cc.dx; nd.y += cc.dy; nd.col = c; colAt[k] = c;
          cc.bottom = Math.max(cc.bottom, nd.y + nd.h);
        }
        x += colW + COL_GAP;
      });
      boxes.forEach(function (b) {
        col = b.k < nodes.length ? colAt[b.k] : cols.length - 1;
        var cc = cols[col];
        b.x += cc.dx; b.y += cc.dy; b.col = col;
        cc.bottom = Math.max(cc.bottom, b.y + b.h);
      });
      var edges = [];
      near.forEach(function (e) {
        var a = e.a, b = e.b, x1 = a.x + W / 2, y1 = a.y + a.h, x2 = b.x + W / 2, y2 = b.y - (b.id[0] === "g" ? 8 : 2), d;
        if (a.col === b.col) {
          var my = (y1 + y2) / 2;
          d = "M" + x1 + "," + y1 + (x1 === x2 ? "L" : "C" + x1 + "," + my + " " + x2 + "," + my + " ") + x2 + "," + y2;
        } else {
          // From the bottom of one column, through the gap, to the top of the next.
          var gx = cols[a.col].x0 + colW + COL_GAP / 2, low = y1 + 14, high = y2 - 16;
          d = "M" + x1 + "," + y1 + "V" + low + "H" + gx + "V" + high + "H" + x2 + "V" + y2;
          y1 = Math.min(y1, high); y2 = Math.max(low, b.y);
        }
        edges.push({d: d, y0: Math.min(y1, y2), y1: Math.max(y1, y2), c0: a.col, c1: b.col, label: e.label,
          lx: Math.max(x1, x2) + 7, ly: b.y - 8, hot: e.hot, arc: false});
      });
      var into = {};
      buses.forEach(function (bus) {
        var cc = cols[bus.src.col];
        bus.c0 = bus.c1 = bus.src.col;
        bus.taps = bus.arcs.map(function (arc) {
          var m = (into[arc.b.id] = (into[arc.b.id] || 0) + 1);
          return {y: arc.b.y + 10 + Math.min(m - 1, 2) * 11, bx: arc.b.x + W, label: arc.label, hot: arc.hot};
        });
        bus.y0 = bus.src.y + bus.src.h / 2;
        bus.y1 = Math.max.apply(null, bus.taps.map(function (t) { return t.y; }));
        bus.x = cc.dx + right + 22 + bus.lane * LANE;
        bus.stub = "M" + (bus.src.x + W) + "," + bus.y0 + "H" + bus.x;
        bus.taps.forEach(function (t) {
          t.d = "M" + bus.x + "," + t.y + "H" + (t.bx + 2);
          t.lx = t.bx + 6; t.ly = t.y - 4;
        });
      });
      cols.forEach(function (cc) { cc.x1 = cc.x0 + colW; });
      var most = [0, 0, 0];
      nodes.forEach(function (nd) {
        if (nd.id[0] === "x") return;
        var v = sums(nd.id);
        for (var k = 0; k < 3; k++) most[k] = Math.max(most[k], v[k]);
      });
      var width = x - COL_GAP;
      var height = Math.max.apply(null, cols.map(function (cc) { return cc.bottom; })) + GAP;
      L = {nodes: nodes, boxes: boxes, at: at, edges: edges, buses: buses, cols: cols, width: width, height: height, most: most};
    }

    /* ---- drawing, culled to the screen ---- */
    var svg = NI.svg("svg", {"aria-label": "data-flow graph"});
    var defs = NI.svg("defs", {}, svg);
    var marker = NI.svg("marker", {id: "ni-arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse", orient: "auto"}, defs);
    NI.svg("path", {d: "M0,0L8,4L0,8z", fill: "#8c959f"}, marker);
    var vp = NI.svg("g", {"class": "viewport"}, svg);
    var layers = {b: NI.svg("g", {}, vp), e: NI.svg("g", {}, vp), n: NI.svg("g", {}, vp), l: NI.svg("g", {}, vp)};
    var shown = new Map(), view = {k: 1, x: 0, y: 0};

    function makeNode(n) {
      var g = NI.svg("g", {"class": classes(n.id), "data-id": n.id, transform: "translate(" + n.x + "," + n.y + ")"});
      if (n.id[0] === "g") {
        NI.svg("rect", {"class": "stack", x: 6, y: -6, width: W, height: n.h, rx: 6}, g);
        NI.svg("rect", {"class": "stack", x: 3, y: -3, width: W, height: n.h, rx: 6}, g);
      }
      var body = NI.svg("rect", {"class": "body", width: W, height: n.h, rx: 6}, g);
      var tint = heat(n.id);
      if (tint) body.style.fill = tint;
      var badge = "";
      if (n.id[0] === "g") badge = "× " + groupRows(n.id).length;
      else if (isBox(n.id)) badge = "+" + G.kids[n.id].length;
      var room = Math.floor((W - 20 - badge.length * 7) / CHAR_W);
      NI.svg("text", {"class": "t1", x: 10, y: 16}, g).textContent = squeeze(title(n.id), room);
      NI.svg("text", {"class": "t2", x: 10, y: 32}, g).textContent = squeeze(subtitle(n.id), Math.floor((W - 20) / 6));
      if (badge) { var bt = NI.svg("text", {"class": "badge", x: W - 8, y: 16, "text-anchor": "end"}, g); bt.textContent = badge; }
      n.lines.forEach(function (line, i) { NI.svg("text", {"class": "xtra", x: 10, y: NODE_H + 6 + i * LINE_H}, g).textContent = line; });
      NI.svg("title", {}, g).textContent = title(n.id) + "\n" + rowInfoLine(n.id);
      return g;
    }
    function heat(id) {
      if (colourBy < 0 || id[0] === "x" || !L.most[colourBy]) return null;
      var share = sums(id)[colourBy] / L.most[colourBy];
      return "rgba(" + COLOURS[colourBy] + "," + (0.06 + 0.6 * Math.sqrt(share)).toFixed(3) + ")";
    }
    function rowInfoLine(id) {
      if (id === "x_in" || id === "x_out") return subtitle(id);
      var r = rowOf(id);
      return r.type + "  " + NI.shapes(r.input_shapes) + " → " + NI.shapes(r.output_shapes);
    }
    function makeBox(b) {
      var g = NI.svg("g", {"class": "box" + (b.id[0] === "g" ? " g" : ""), "data-id": b.id});
      NI.svg("rect", {x: b.x, width: b.w}, g);
      return g;
    }
    /* A box is drawn only across the rows in reach: a 100,000-pixel dashed outline costs
       the rasteriser every frame, a clipped one nothing. */
    function clipBox(el, b, y0, y1) {
      var top = Math.max(b.y, y0), bottom = Math.min(b.y + b.h, y1), r = el.firstChild;
      if (+r.getAttribute("y") !== top || +r.getAttribute("height") !== bottom - top) {
        r.setAttribute("y", top);
        r.setAttribute("height", Math.max(0, bottom - top));
      }
    }
    function makeHeader(b) {
      var t = NI.svg("text", {"class": "bhead" + (b.id[0] === "g" ? " g" : ""), x: b.x + 8, y: b.y + 15, "data-fold": b.id});
      t.textContent = "▾ " + squeeze(title(b.id), 48) + "  ·  " + rowOf(b.id).type;
      NI.svg("title", {}, t).textContent = "fold " + title(b.id);
      return t;
    }
    function makeEdge(e) {
      var cls = "edge" + (e.arc || e.stub ? " arc" : "") + (e.hot ? " hot" : "");
      return NI.svg("path", {"class": cls, d: e.d, "marker-end": e.stub ? null : "url(#ni-arrow)"});
    }
    function makeLabel(e) {
      var t = NI.svg("text", {"class": "elabel", x: e.lx, y: e.ly});
      t.textContent = e.label;
      return t;
    }
    function screen() {
      var r = svg.getBoundingClientRect();
      return {w: r.width || 800, h: r.height || 600};
    }
    var stats = {draws: 0, ms: 0};
    function draw() {
      if (!L) return;
      var started = performance.now();
      drawNow();
      stats.draws++;
      stats.ms += performance.now() - started;
    }
    function drawNow() {
      var s = screen(), y0 = (-view.y) / view.k - s.h / view.k, y1 = (s.h - view.y) / view.k + s.h / view.k;
      var x0 = (-view.x) / view.k - s.w / view.k, x1 = (s.w - view.x) / view.k + s.w / view.k;
      var want = new Map(), inView = L.cols.map(function (cc) { return cc.x1 >= x0 && cc.x0 <= x1; });
      function seen(c0, c1) { for (var c = c0; c <= c1; c++) if (inView[c]) return true; return false; }
      L.boxes.forEach(function (b) {
        if (!inView[b.col]) return;
        if (b.y <= y1 && b.y + b.h >= y0) want.set("b" + b.id, b);
        if (b.y <= y1 && b.y + HEAD_H >= y0) want.set("h" + b.id, b);
      });
      L.cols.forEach(function (cc, c) {
        if (!inView[c]) return;
        var lo = cc.n0, hi = cc.n1;
        while (lo < hi) { var mid = (lo + hi) >> 1; if (L.nodes[mid].y + L.nodes[mid].h < y0) lo = mid + 1; else hi = mid; }
        for (var i = lo; i < cc.n1 && L.nodes[i].y <= y1; i++) want.set("n" + L.nodes[i].id, L.nodes[i]);
      });
      L.edges.forEach(function (e, j) {
        if (e.y0 <= y1 && e.y1 >= y0 && seen(e.c0, e.c1)) { want.set("e" + j, e); if (e.label) want.set("l" + j, e); }
      });
      L.buses.forEach(function (bus, j) {
        if (bus.y0 > y1 || bus.y1 < y0 || !inView[bus.c0]) return;
        want.set("v" + j, bus);
        if (bus.y0 >= y0) want.set("s" + j, {d: bus.stub, stub: true});
        bus.taps.forEach(function (t, k) {
          if (t.y < y0 || t.y > y1) return;
          want.set("t" + j + "_" + k, {d: t.d, hot: t.hot, arc: true});
          if (t.label) want.set("m" + j + "_" + k, {label: t.label, lx: t.lx, ly: t.ly});
        });
      });
      shown.forEach(function (el, key) { if (!want.has(key)) { el.remove(); shown.delete(key); } });
      var margin = 40 / view.k;
      want.forEach(function (item, key) {
        var kind = key[0];
        if (kind === "b") clipBox(shown.get(key) || makeAndShow(key, item, makeBox), item, y0 - margin, y1 + margin);
        if (kind === "v") clipBus(shown.get(key) || makeAndShow(key, item, makeBus), item, y0 - margin, y1 + margin);
        if (shown.has(key)) return;
        var el = kind === "h" ? makeHeader(item) : kind === "n" ? makeNode(item) :
          kind === "l" || kind === "m" ? makeLabel(item) : makeEdge(item);
        layers[LAYER[kind]].appendChild(el);
        shown.set(key, el);
      });
    }
    var LAYER = {b: "b", h: "l", n: "n", e: "e", s: "e", t: "e", v: "e", l: "l", m: "l"};
    function makeAndShow(key, item, make) {
      var el = make(item);
      layers[LAYER[key[0]]].appendChild(el);
      shown.set(key, el);
      return el;
    }
    function makeBus() { return NI.svg("path", {"class": "edge arc bus"}); }
    /* Like a box, a bus is drawn only across the rows in reach. */
    function clipBus(el, bus, y0, y1) {
      var d = "M" + bus.x + "," + Math.max(bus.y0, y0) + "V" + Math.min(bus.y1, y1);
      if (el.getAttribute("d") !== d) el.setAttribute("d", d);
    }
    var redraw = NI.throttle(draw);
    function apply() {
      vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
      svg.classList.toggle("far", view.k < 0.35);
      redraw();
      placeWindow();
    }

    /* ---- the overview: every visible node as a bar, the screen as a window; click or drag
       in it to go there ---- */
    var mini = NI.el("div.minimap", {title: "overview: click or drag to move"});
    var miniSvg = NI.svg("svg", {"aria-label": "overview"}, null);
    mini.appendChild(miniSvg);
    var miniNodes = NI.svg("g", {}, miniSvg), miniWin = NI.svg("rect", {"class": "win"}, miniSvg);
    /* As wide as the overview allows; a graph taller than the overview scrolls inside it,
       keeping the screen's window in view (as an editor's minimap does). */
    var MINI_W = 96, miniTop = 0;
    function miniScale() { return Math.min(MINI_W / L.width, 0.5); }
    function miniHeight() { var h = mini.getBoundingClientRect().height - 8; return h > 20 ? h : 300; }
    function drawMini() {
      miniNodes.textContent = "";
      var k = miniScale();
      miniSvg.setAttribute("width", Math.ceil(L.width * k));
      miniSvg.setAttribute("height", Math.ceil(Math.min(L.height * k, miniHeight())));
      L.nodes.forEach(function (n) {
        var cls = classes(n.id).replace("node", "mnode");
        var r = NI.svg("rect", {"class": cls, x: n.x * k, y: n.y * k, width: Math.max(2, W * k), height: Math.max(1.5, n.h * k)}, miniNodes);
        var tint = heat(n.id);
        if (tint) r.style.fill = tint;
      });
      placeWindow();
    }
    function placeWindow() {
      if (!L || !mini.isConnected) return;
      var k = miniScale(), s = screen(), h = miniHeight();
      var top = -view.y / view.k * k, tall = Math.min(L.height, s.h / view.k) * k;
      miniTop = Math.max(0, Math.min(top + tall / 2 - h / 2, L.height * k - h));
      miniNodes.setAttribute("transform", "translate(0," + (-miniTop) + ")");
      miniWin.setAttribute("x", Math.max(0, -view.x / view.k * k));
      miniWin.setAttribute("y", top - miniTop);
      miniWin.setAttribute("width", Math.min(L.width, s.w / view.k) * k);
      miniWin.setAttribute("height", tall);
    }
    function miniGo(ev) {
      var r = miniSvg.getBoundingClientRect(), k = miniScale(), s = screen();
      var y = (ev.clientY - r.top + miniTop) / k, x = (ev.clientX - r.left) / k;
      view.y = s.h / 2 - y * view.k;
      // Columns wider than the screen: go to the column clicked as well.
      if (L.width * view.k > s.w) view.x = Math.min(0, Math.max(s.w - MINI_ROOM - L.width * view.k, s.w / 2 - x * view.k));
      apply();
    }
    var miniDrag = false;
    mini.addEventListener("pointerdown", function (ev) { miniDrag = true; miniGo(ev); ev.preventDefault(); });
    window.addEventListener("pointermove", function (ev) { if (miniDrag) miniGo(ev); });
    window.addEventListener("pointerup", function () { miniDrag = false; });
    function rebuild(anchorId, anchorScreenY) {
      shown.forEach(function (el) { el.remove(); });
      shown.clear();
      layout();
      if (anchorId && L.at[anchorId] && anchorScreenY !== undefined) view.y = anchorScreenY - L.at[anchorId].y * view.k;
      apply();
      draw();
      drawMini();
      if (opts.onLayout) opts.onLayout(L.cols.length > 1);
    }
    function screenY(id) { var n = L && L.at[id]; return n ? n.y * view.k + view.y : undefined; }
    function refreshClasses() {
      shown.forEach(function (el, key) { if (key[0] === "n") el.setAttribute("class", classes(key.slice(1))); });
    }

    /* ---- interaction ---- */
    function zoomAt(factor, px, py) {
      var k = Math.min(4, Math.max(0.04, view.k * factor));
      view.x = px - (px - view.x) * k / view.k;
      view.y = py - (py - view.y) * k / view.k;
      view.k = k;
      apply();
    }
    svg.addEventListener("wheel", function (ev) {
      var r = svg.getBoundingClientRect();
      if (ev.ctrlKey || ev.metaKey) {
        ev.preventDefault();
        zoomAt(Math.exp(-ev.deltaY * 0.0025), ev.clientX - r.left, ev.clientY - r.top);
        return;
      }
      var top = CLEAR, bottom = r.height - L.height * view.k - 20;
      var dy = ev.deltaY * (ev.deltaMode === 1 ? 16 : 1), dx = ev.deltaX * (ev.deltaMode === 1 ? 16 : 1);
      var ny = Math.max(Math.min(view.y - dy, top), Math.min(bottom, top));
      if (ny === view.y && !dx) return; // at the end: let the page scroll
      ev.preventDefault();
      view.y = ny; view.x -= dx;
      apply();
    }, {passive: false});
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false};
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) { drag.moved = true; svg.classList.add("panning"); }
      view.x = drag.vx + dx; view.y = drag.vy + dy;
      apply();
    });
    window.addEventListener("pointerup", function () {
      if (drag && drag.moved) { svg.classList.remove("panning"); svg.dataset.dragged = "1"; }
      drag = null;
    });
    svg.addEventListener("click", function (ev) {
      if (svg.dataset.dragged) { delete svg.dataset.dragged; return; }
      var t = ev.target.closest ? ev.target.closest("[data-fold], g.node") : null;
      if (!t) return;
      if (t.hasAttribute("data-fold")) { self.fold(t.getAttribute("data-fold")); return; }
      var id = t.getAttribute("data-id");
      if (isBox(id) && folded.has(id)) self.unfold(id);
      self.select(id);
    });

    /* ---- public ---- */
    this.colourBy = function (k) { colourBy = k; var sy = screenY(L.nodes[0].id); rebuild(L.nodes[0].id, sy); };
    this.most = function () { return L.most.slice(); };
    this.fold = function (id) { var sy = screenY(id); folded.add(id); rebuild(id, sy); };
    this.unfold = function (id) { var sy = screenY(id); folded.delete(id); rebuild(id, sy); };
    this.isFolded = function (id) { return folded.has(id); };
    this.visibleIds = function () { return L.nodes.map(function (n) { return n.id; }); };
    this.setAll = function (fold) {
      folded = fold ? new Set(Object.keys(G.kids).filter(function (k) { return k; })) : new Set();
      rebuild(); self.top();
    };
    this.reset = function () { folded = new Set(G.folded); wrapMode = "auto"; rebuild(); self.top(); };
    /* The top of the graph, zoomed out down to 3/4 when that fits more of it on the screen
       (text stays readable there), never wider than the screen allows. */
    this.top = function () {
      var s = screen();
      if (L.cols.length > 1) {
        // Columns: the width of the screen beside the overview, from the top.
        var room = s.w - MINI_ROOM;
        view.k = Math.min(1, Math.max(0.5, room / L.width), Math.max(0.6, (s.h - CLEAR - 8) / L.height));
        view.x = Math.max(8, (room - L.width * view.k) / 2);
      } else {
        view.k = Math.min(1, Math.max(0.5, s.w / L.width), Math.max(0.75, s.h / L.height));
        view.x = Math.max(0, (s.w - L.width * view.k) / 2);
      }
      view.y = CLEAR;
      apply();
    };
    /* Columns side by side ("on"), one column ("off"), or columns when the graph is much
       taller than the screen ("auto", the default). */
    this.setWrap = function (mode) { wrapMode = mode; rebuild(); self.top(); };
    this.wrapped = function () { return L.cols.length > 1; };
    /* The whole graph when it fits at a scale that still reads; a taller one is fitted to the
       width at that scale, from the top (the overview shows the rest). */
    var READABLE = 0.6;
    this.fitAll = function () {
      var s = screen();
      view.k = Math.max(Math.min(READABLE, s.w / L.width), Math.min(1, s.w / L.width, s.h / L.height));
      view.x = (s.w - L.width * view.k) / 2; view.y = CLEAR;
      apply();
    };
    this.zoom = function (factor) { var s = screen(); zoomAt(factor, s.w / 2, s.h / 2); };
    this.center = function (id) {
      var n = L.at[id];
      if (!n) return;
      var s = screen();
      if (view.k < 0.6) view.k = 1;
      view.x = s.w / 2 - (n.x + (n.w || W) / 2) * view.k - (s.w > 900 ? 170 : 0);
      view.y = s.h / 2 - (n.y + (n.h || 0) / 2) * view.k;
      apply();
      draw();
    };
    /* Show row p: unfold every block that hides it, centre on it and select it. */
    this.reveal = function (p) {
      for (var v = up["r" + p]; v; v = up[v]) folded.delete(v);
      var id = "r" + p;
      if (isBox(id) && !folded.has(id)) folded.add(id);
      rebuild();
      self.center(id);
      self.select(id);
    };
    this.select = function (id) {
      selected = id;
      refreshClasses();
      drawMini();
      if (opts.onSelect) opts.onSelect(id, self.describe(id));
    };
    this.setHits = function (positions) {
      hits = new Set();
      positions.forEach(function (p) { var v = outermostFolded("r" + p) || (isBox("r" + p) ? null : "r" + p); if (v) hits.add(v); });
      refreshClasses();
    };
    /* What the details panel shows for a node: [title, [[key, value], ...], extra lines]. */
    this.describe = function (id) {
      if (id === "x_in") return [title(id), (report.inputs || []).map(function (i) { return [i.name, NI.shape(i.shape) + " " + i.dtype]; }), []];
      if (id === "x_out") return [title(id), (report.outputs || []).map(function (s, i) { return [(report.output_names || [])[i] || "output " + i, NI.shape(s)]; }), []];
      var r = rowOf(id), s = sums(id), pairs = [], lines = [];
      if (id[0] === "g") {
        var members = groupRows(id);
        pairs.push(["blocks", members.length + " identical " + r.type + " blocks"]);
        pairs.push(["each", NI.int(G.sums[members[0]][0]) + " params"]);
      } else {
        pairs.push(["row", "#" + r.index + " · " + r.kind + (r.call_index ? " · call " + (r.call_index + 1) : "")]);
      }
      pairs.push(["type", r.type], ["input", NI.shapes(r.input_shapes, 6)], ["output", NI.shapes(id[0] === "g" ? rows[groupRows(id).slice(-1)[0]].output_shapes : r.output_shapes, 6)]);
      var inner = isBox(id);
      pairs.push([inner ? "params (all)" : "params", NI.int(s[0]) + (id[0] !== "g" && r.shared_params ? " +" + NI.int(r.shared_params) + " shared" : "") +
        (id[0] !== "g" && !inner && r.params && r.trainable_params !== r.params ? " (" + NI.int(r.params - r.trainable_params) + " frozen)" : "")]);
      pairs.push([inner ? "FLOPs (all)" : "FLOPs", s[1] ? NI.count(s[1]) + " (" + NI.int(s[1]) + ")" : "0"]);
      if (!inner && r.macs) pairs.push(["MACs", NI.count(r.macs)]);
      pairs.push([inner ? "activations (all)" : "activations", NI.bytes(s[2])]);
      if (r.source) pairs.push(["source", r.source]);
      if (id[0] !== "g") Object.keys(r.attributes || {}).forEach(function (k) { pairs.push([k, JSON.stringify(r.attributes[k])]); });
      var ex = id[0] !== "g" ? explain[r.index] : null;
      if (ex) {
        lines = lines.concat(ex.arithmetic || []);
        if (ex.cumulative_stride) lines.push("stride " + ex.cumulative_stride.join("×") + ", receptive field " + (ex.receptive_field || []).join("×"));
      }
      var p = pos(id);
      if (p === flatPos && cards.flatten) lines = lines.concat(cards.flatten);
      if (p === errPos && cards.failure) lines = lines.concat(cards.failure.map(function (kv) { return kv[0] + ": " + kv[1]; }));
      return [title(id), pairs, lines];
    };

    host.appendChild(svg);
    host.appendChild(mini);
    layout();
    this.top();
    drawMini();
    /* A new width may fit another number of columns. */
    var lastW = screen().w;
    window.addEventListener("resize", NI.throttle(function () {
      var w = screen().w;
      if (wrapMode === "off" || Math.abs(w - lastW) < 40) { redraw(); return; }
      lastW = w;
      var n = L.cols.length;
      layout();
      if (L.cols.length !== n) {
        shown.forEach(function (el) { el.remove(); });
        shown.clear(); self.top(); drawMini();
        if (opts.onLayout) opts.onLayout(L.cols.length > 1);
      }
      else redraw();
    }));
    this.svg = svg;
    this.stats = stats;
  };
})();
