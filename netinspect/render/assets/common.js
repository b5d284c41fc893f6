/* netinspect page helpers: DOM building and number formats (shared by both pages). */
"use strict";
var NI = {};
(function () {
  NI.DATA = JSON.parse(document.getElementById("ni-data").textContent);
  NI.SVG = "http://www.w3.org/2000/svg";

  /* el("div.card", {onclick: f}, child, "text", ...) : every text goes in as text, never HTML. */
  NI.el = function (spec, attrs) {
    var m = /^([a-z0-9]+)((?:\.[\w-]+)*)$/i.exec(spec);
    var node = document.createElement(m[1]);
    if (m[2]) node.className = m[2].slice(1).replace(/\./g, " ");
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (var i = 2; i < arguments.length; i++) NI.add(node, arguments[i]);
    return node;
  };
  NI.add = function (node, child) {
    if (child === null || child === undefined || child === false) return node;
    if (Array.isArray(child)) { child.forEach(function (c) { NI.add(node, c); }); return node; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    return node;
  };
  NI.svg = function (tag, attrs, parent) {
    var node = document.createElementNS(NI.SVG, tag);
    for (var k in attrs || {}) if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  };

  NI.int = function (n) { return Number(n || 0).toLocaleString("en-US"); };
  NI.count = function (n) {
    n = Number(n || 0);
    if (!n) return "-";
    var units = [["T", 1e12], ["G", 1e9], ["M", 1e6], ["K", 1e3]];
    for (var i = 0; i < units.length; i++) if (n >= units[i][1]) return (n / units[i][1]).toFixed(2) + " " + units[i][0];
    return String(n);
  };
  NI.bytes = function (n) {
    n = Number(n || 0);
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) < 1024 || i === units.length - 1) return i === 0 ? n.toFixed(0) + " B" : n.toFixed(2) + " " + units[i];
      n /= 1024;
    }
  };
  NI.shape = function (s) { return "[" + (s || []).join(",") + "]"; };
  NI.shapes = function (list, limit) {
    list = list || [];
    if (!list.length) return "-";
    limit = limit || 3;
    var out = list.slice(0, limit).map(NI.shape).join(" ");
    return list.length > limit ? out + " +" + (list.length - limit) + " more" : out;
  };
  NI.pct = function (part, whole) { return whole ? (100 * part / whole).toFixed(part / whole < 0.001 ? 2 : 1) + "%" : ""; };

  /* A definition list from [[key, value], ...]. */
  NI.dl = function (pairs) {
    var dl = NI.el("dl");
    pairs.forEach(function (p) { if (p && p[1] !== null && p[1] !== undefined && p[1] !== "") NI.add(dl, [NI.el("dt", {text: p[0]}), NI.el("dd", {text: String(p[1])})]); });
    return dl;
  };

  /* Run fn at most once per animation frame. */
  NI.throttle = function (fn) {
    var queued = false;
    return function () {
      if (queued) return;
      queued = true;
      requestAnimationFrame(function () { queued = false; fn(); });
    };
  };
})();
