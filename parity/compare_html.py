"""`parity compare A B --html report.html`: one self-contained page (no server, no network):
the layers of G and D in call order as a tree of their attribute paths, each coloured by
its largest forward error (output, running statistics) relative to its tolerance, the first diverging layer highlighted and
opened; a layer's metrics on click; an inline SVG plot of the error against depth and
against step. The data is embedded as JSON; the script only draws it."""
import html
import json
from dataclasses import asdict

from parity.common.files import write_text_atomic

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>parity compare: __TITLE__</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.25em; } h2 { font-size: 1.05em; margin-top: 1.2em; }
.cols { display: flex; gap: 2em; align-items: flex-start; }
ul.tree { list-style: none; padding-left: 1.1em; margin: 0; }
.layer { cursor: pointer; padding: 1px 6px; border-radius: 3px; display: inline-block; margin: 1px 0; }
.layer.first { outline: 3px solid #c00; font-weight: bold; }
.group { color: #555; }
#details { min-width: 34em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.fail { color: #b00; font-weight: bold; } .ok { color: #070; }
.legend span { padding: 1px 8px; margin-right: 4px; border-radius: 3px; }
</style></head><body>
<h1>parity compare: __TITLE__</h1>
<div id="summary"></div>
<div class="legend">forward error / tolerance: <span style="background:#cdeccd">&lt; 0.1</span><span
style="background:#fff3b0">&lt; 1</span><span style="background:#f6b3b3">&ge; 1 (past)</span></div>
<div class="cols"><div><h2>Layers, step <select id="step"></select></h2><div id="tree"></div></div>
<div id="details"><h2>Metrics</h2><p>Click a layer.</p></div></div>
<h2>Error against depth (step shown above) and against step</h2>
<div class="cols"><div id="depth"></div><div id="steps"></div></div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const rows = data.rows, summary = data.summary;
const first = summary.first_forward || summary.first_backward;
function num(x) { return typeof x === "number" ? x : Infinity; }   // "inf", "nan": past any tolerance
function ratio(r) { return num(r.tol) > 0 ? num(r.max_abs) / num(r.tol) : (num(r.max_abs) > 0 ? Infinity : 0); }
function colour(x) { return x >= 1 ? "#f6b3b3" : x >= 0.1 ? "#fff3b0" : "#cdeccd"; }
function fmt(x) { return x === null || x === undefined ? "-" : (typeof x === "number" ? x.toExponential(3) : x); }
function layerRows(step, net, layer) {
  return rows.filter(r => r.step === step && r.net === net && r.layer === layer && r.kind !== "weights");
}
function worst(list) { return list.reduce((m, r) => Math.max(m, ratio(r)), 0); }
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}
function showDetails(step, net, layer, kind) {
  const box = document.getElementById("details");
  box.innerHTML = "";
  box.appendChild(el("h2", {}, `Metrics: step ${step}, ${net} ${layer || "(model)"} (${kind})`));
  const table = el("table");
  const head = el("tr");
  ["tensor", "max abs", "max rel", "cosine", "ulp", "within", "tolerance", ""].forEach(h => head.appendChild(el("th", {}, h)));
  table.appendChild(head);
  layerRows(step, net, layer).forEach(r => {
    const tr = el("tr");
    [`${r.kind} ${r.what}`.trim(), fmt(r.max_abs), fmt(r.max_rel), typeof r.cosine === "number" ? r.cosine.toFixed(7) : fmt(r.cosine),
     r.ulp === null ? "-" : String(r.ulp), typeof r.within === "number" ? (100 * r.within).toFixed(2) + "%" : "-", fmt(r.tol)]
      .forEach(v => tr.appendChild(el("td", {}, v)));
    tr.appendChild(el("td", {"class": r.passed ? "ok" : "fail"}, r.passed ? "ok" : (r.judged ? "FAIL" : "past")));
    table.appendChild(tr);
  });
  box.appendChild(table);
}
function buildTree(step) {
  const root = document.getElementById("tree");
  root.innerHTML = "";
  Object.keys(data.layers).forEach(net => {
    const top = el("ul", {"class": "tree"});
    const item = el("li");
    item.appendChild(el("span", {"class": "group"}, {G: "G (generator)", D: "D (discriminator)"}[net] || net));
    const nodes = {"": el("ul", {"class": "tree"})};
    item.appendChild(nodes[""]);
    (data.layers[net] || []).forEach(layer => {
      const parts = layer.name.split(".");
      let parent = "";
      for (let i = 0; i < parts.length - 1; i++) {          // the attribute path as nested groups
        const path = parts.slice(0, i + 1).join(".");
        if (!(path in nodes)) {
          const li = el("li");
          li.appendChild(el("span", {"class": "group"}, parts[i]));
          nodes[path] = el("ul", {"class": "tree"});
          li.appendChild(nodes[path]);
          nodes[parent].appendChild(li);
        }
        parent = path;
      }
      const li = el("li");
      const own = layerRows(step, net, layer.name).filter(r => r.kind === "forward" || r.kind === "state");
      const span = el("span", {"class": "layer", "data-layer": `${net} ${layer.name}`},
                      `${parts[parts.length - 1] || "(model)"} ${layer.kind}`);
      span.style.background = colour(worst(own));
      span.title = `worst forward error / tolerance: ${worst(own).toPrecision(3)}`;
      if (first && first.step === step && first.net === net && first.layer === layer.name) {
        span.classList.add("first");
        span.id = "first-diverging";
      }
      span.addEventListener("click", () => showDetails(step, net, layer.name, layer.kind));
      li.appendChild(span);
      nodes[parent].appendChild(li);
    });
    top.appendChild(item);
    root.appendChild(top);
  });
  plotDepth(step);
}
function svgPlot(target, title, points, xlabel) {
  const W = 460, H = 240, P = 44, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("role", "img");
  const add = (tag, attrs, text) => { const n = document.createElementNS(ns, tag);
    Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v)); if (text) n.textContent = text; svg.appendChild(n); return n; };
  const ys = points.map(p => Math.log10(Math.min(Math.max(p.y, 1e-12), 1e12)));
  const lo = Math.min(-8, ...ys), hi = Math.max(0, ...ys), n = Math.max(points.length - 1, 1);
  const X = i => P + (W - P - 10) * i / n, Y = v => H - P + 10 - (H - P - 20) * (v - lo) / (hi - lo || 1);
  add("text", {x: W / 2, y: 14, "text-anchor": "middle", "font-size": 13}, title);
  add("line", {x1: P, y1: H - P + 10, x2: W - 10, y2: H - P + 10, stroke: "#888"});
  add("line", {x1: P, y1: 20, x2: P, y2: H - P + 10, stroke: "#888"});
  for (let v = Math.ceil(lo); v <= hi; v += 2) {
    add("text", {x: P - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 10}, `1e${v}`);
  }
  add("line", {x1: P, y1: Y(0), x2: W - 10, y2: Y(0), stroke: "#c00", "stroke-dasharray": "4 3"});
  add("text", {x: W / 2, y: H - 6, "text-anchor": "middle", "font-size": 11}, xlabel);
  add("polyline", {points: points.map((p, i) => `${X(i)},${Y(ys[i])}`).join(" "), fill: "none", stroke: "#36c"});
  points.forEach((p, i) => { const c = add("circle", {cx: X(i), cy: Y(ys[i]), r: 3, fill: p.y >= 1 ? "#c00" : "#36c"});
    const t = document.createElementNS(ns, "title"); t.textContent = `${p.label}: ${p.y.toPrecision(3)}`; c.appendChild(t); });
  const box = document.getElementById(target); box.innerHTML = ""; box.appendChild(svg);
}
function plotDepth(step) {
  const points = [];
  Object.keys(data.layers).forEach(net => (data.layers[net] || []).forEach(layer => {
    const own = layerRows(step, net, layer.name).filter(r => r.kind === "forward" && r.what === "output");
    if (own.length) points.push({label: `${net} ${layer.name}`, y: worst(own)});
  }));
  svgPlot("depth", `forward output error / tolerance by layer, step ${step}`, points, "layer (call order)");
}
function plotSteps() {
  const points = [];
  for (let s = 0; s < summary.steps; s++) {
    const own = rows.filter(r => r.step === s && r.kind !== "weights");
    points.push({label: `step ${s}`, y: worst(own)});
  }
  svgPlot("steps", "worst layer error / tolerance by step", points, "step");
}
function showSummary() {
  const s = summary, box = document.getElementById("summary");
  box.appendChild(el("p", {}, `A: ${s.a.framework} ${s.a.version} on ${s.a.device} (${s.a.mode}); ` +
    `B: ${s.b.framework} ${s.b.version} on ${s.b.device} (${s.b.mode}); ${s.model}, ${s.steps} steps.`));
  const verdict = el("p", {"class": s.failed ? "fail" : "ok"},
    `${s.compared} tensors compared, ${s.past_tolerance} past tolerance; judged (step 0): ${s.judged}, ${s.failed} failed.`);
  box.appendChild(verdict);
  const f = s.first_forward;
  box.appendChild(el("p", {id: "first-summary"}, f ? `First diverging layer (forward): step ${f.step}, ${f.net} ${f.layer} ` +
    `${f.what}, max abs ${fmt(f.max_abs)} against tolerance ${fmt(f.tol)}` : "No layer diverges in the forward."));
  s.notes.forEach(n => box.appendChild(el("p", {"class": "group"}, "note: " + n)));
}
const select = document.getElementById("step");
for (let s = 0; s < summary.steps; s++) select.appendChild(el("option", {value: s}, `${s}`));
select.value = first ? first.step : 0;
select.addEventListener("change", () => buildTree(Number(select.value)));
showSummary();
buildTree(Number(select.value));
plotSteps();
if (first) showDetails(first.step, first.net, first.layer,
                       ((data.layers[first.net] || []).find(l => l.name === first.layer) || {}).kind || "");
</script></body></html>
"""


def _json_safe(value):
    """`value` with inf and NaN as the strings "inf", "-inf", "nan" (JSON has no such numbers)."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def render(rows, summary):
    """The page's HTML."""
    data = json.dumps(_json_safe({"rows": [asdict(r) for r in rows], "summary": summary,
                                  "layers": summary["layer_list"]}), allow_nan=False)
    data = data.replace("</", "<\\/")      # no "</script>" inside the embedded JSON
    title = html.escape(f"{summary['model']}: {summary['a']['framework']} against {summary['b']['framework']}")
    return PAGE.replace("__TITLE__", title).replace("__DATA__", data)


def write_report(path, rows, summary):
    write_text_atomic(path, render(rows, summary))
