/* colorbench report: sortable tables, image-id search, best/worst lists. No dependencies. */
(function () {
  "use strict";

  // Sort key of a cell: data-v as a number when it parses, else lower-cased text; "" -> null (always last).
  function sortKey(cell) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v === null) v = cell ? cell.textContent.trim() : "";
    if (v === "") return null;
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }

  function sortBy(table, col, th) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[col]), y = sortKey(b.cells[col]);
      if (x === null || y === null) return (x === null) - (y === null);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return x < y ? (asc ? -1 : 1) : x > y ? (asc ? 1 : -1) : 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = th.title || "click to sort";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); } });
    });
  });

  // Metric-group toggles: hide or show every leaderboard cell of a group on this page.
  document.querySelectorAll("input.group-toggle").forEach(function (box) {
    box.addEventListener("change", function () {
      var section = box.closest("section.dataset");
      section.querySelectorAll('[data-group="' + box.value + '"]').forEach(function (cell) {
        cell.classList.toggle("hidden-group", !box.checked);
      });
    });
  });

  // Headline view: every metric column shows only when "show all" is ticked.
  document.querySelectorAll("input.all-metrics").forEach(function (box) {
    box.addEventListener("change", function () { box.closest("section.dataset").classList.toggle("all", box.checked); });
  });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;  // textContent: ids and names never become markup
    return node;
  }

  function pair(item) {
    var fig = el("figure", { "class": "pair", "data-id": item.id });
    var imgs = el("div", { "class": "imgs" });
    imgs.appendChild(el("img", { src: item.out, alt: "output " + item.id, title: "output" }));
    imgs.appendChild(el("img", { src: item.gt, alt: "ground truth " + item.id, title: "ground truth" }));
    fig.appendChild(imgs);
    fig.appendChild(el("figcaption", {}, item.id + " · " + item.value));
    return fig;
  }

  // Best / worst lists: precomputed per metric in a JSON block; the select box picks one.
  function renderExtremes(section) {
    var data = JSON.parse(section.querySelector("script.extremes-data").textContent);
    var metric = section.querySelector("select.metric-select").value;
    var box = section.querySelector("div.extremes");
    box.textContent = "";
    (data[metric] || []).forEach(function (entry) {
      var wrap = el("div", { "class": "baseline" });
      wrap.appendChild(el("h4", {}, entry.baseline));
      ["best", "worst"].forEach(function (kind) {
        var strip = el("div", { "class": "strip " + kind });
        strip.appendChild(el("div", { "class": "label" }, kind));
        entry[kind].forEach(function (item) { strip.appendChild(pair(item)); });
        wrap.appendChild(strip);
      });
      box.appendChild(wrap);
    });
    applyFilter(section);
  }

  // Each grid image's own value of the chosen metric (data-values holds every metric's text).
  function showValues(section) {
    var metric = section.querySelector("select.metric-select").value;
    section.querySelectorAll("table.grid .pv[data-values]").forEach(function (node) {
      var values = JSON.parse(node.getAttribute("data-values"));
      node.textContent = values[metric] !== undefined ? values[metric] : "—";
    });
  }

  function applyFilter(section) {
    var input = section.querySelector("input.id-filter");
    var q = input ? input.value.trim().toLowerCase() : "";
    section.querySelectorAll("[data-id]").forEach(function (node) {
      node.style.display = !q || node.getAttribute("data-id").toLowerCase().indexOf(q) !== -1 ? "" : "none";
    });
  }

  document.querySelectorAll("section.images").forEach(function (section) {
    var select = section.querySelector("select.metric-select");
    if (select) {
      select.addEventListener("change", function () { renderExtremes(section); showValues(section); });
      showValues(section);
      renderExtremes(section);
    }
    var input = section.querySelector("input.id-filter");
    if (input) input.addEventListener("input", function () { applyFilter(section); });
  });
})();
