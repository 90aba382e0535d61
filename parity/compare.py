"""`python -m parity compare A B`: two dumps of `parity dump` (parity/dump.py) compared on
any machine; neither framework is imported (docs/cross_machine.md#compare).

A is the port (e.g. MindSpore), B the reference (e.g. PyTorch). First the environments:
different models, weights or inputs stop the compare (exit 2), naming what differs; other
library versions or devices are reported, and the device pair picks the tolerances. Then
every tensor both dumps hold, paired by its key (the layers' attribute paths: `pair_keys`),
with parity/report.py's `metrics` (the engine `parity check` uses): max abs, max rel,
cosine, ulp distance, the share of elements within tolerance. A tensor passes where
max |a - b| <= atol + rtol max |b|, the rule of `parity check --layers`.

What `parity check` judges is judged: the first step's layers, forward and backward, their
running statistics and its losses, all computed from the same weights and inputs; exit
status 1 when one is past the tolerances. The weights after a step and the later steps are
compared and shown but not judged: Adam divides by sqrt(v) + eps, so a rounding
difference in a near-zero gradient moves a weight by up to lr, and the twins part there by
design (docs/cross_machine.md#compare, `parity trajectory`). The first diverging layer is
named in forward order, then in backward order (from the loss back), and the first step
with a tensor past the tolerances.
"""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from parity.common.files import write_text_atomic
from parity.common.layer_rules import find_rule, translate
from parity.report import GRAD_TOL, OUTPUT_TOL, metrics

# (atol, rtol) by the two dumps' devices, sorted. CPU against CPU is parity check's
# (docs/parity_check.md); a pair not measured yet falls back to it, and says so.
TOLERANCES = {("CPU", "CPU"): (OUTPUT_TOL, GRAD_TOL)}
KINDS = ("forward", "state", "backward", "gradient", "loss", "weights")


class DumpError(ValueError):
    """Two dumps that cannot be compared; the message names what differs."""


@dataclass
class Row:
    key: str          # the dump key: "<step>/<net>/forward/<layer>/output", ...
    step: int
    net: str          # "G", "D", or "" for losses
    kind: str         # one of KINDS
    layer: str        # the layer's attribute path, the weight's name, or the loss's
    what: str         # "input", "output", a statistic's name, "" ...
    max_abs: float
    max_rel: float
    cosine: float
    ulp: int
    within: float
    tol: float        # atol + rtol max |b|
    passed: bool
    note: str = ""
    judged: bool = True   # part of the verdict (see the module's docstring)


def load_manifest(folder):
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise DumpError(f"{folder}: not a parity dump (no manifest.json)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != "parity-dump":
        raise DumpError(f"{folder}: manifest.json is not a parity dump's")
    return manifest


def check_environments(a, b, names):
    """Refuse dumps of other models, weights, inputs or shapes (a DumpError naming each
    difference); return notes on what differs but may (versions, devices, modes)."""
    refused = []
    for key in ("model", "steps", "batch"):
        if a[key] != b[key]:
            refused.append(f"{key}: {a[key]} in {names[0]}, {b[key]} in {names[1]}")
    for key in ("weights", "inputs"):
        if a["checksums"][key] != b["checksums"][key]:
            refused.append(f"{key}: the dumps start from different {key} (sha256 {a['checksums'][key][:12]} in "
                           f"{names[0]}, {b['checksums'][key][:12]} in {names[1]})"
                           + (": dump B with --inputs A" if key == "inputs" else
                              ": dump both from the same --seed or --checkpoint"))
    if refused:
        raise DumpError("the dumps cannot be compared:\n  " + "\n  ".join(refused))
    ea, eb = a["environment"], b["environment"]
    notes = []
    for key in ("framework", "framework_version", "device", "device_name", "mode", "numpy", "python", "platform"):
        if ea.get(key) != eb.get(key):
            notes.append(f"{key}: {ea.get(key)} / {eb.get(key)}")
    return notes


def tolerances(a, b):
    """(atol, rtol, note) for the two dumps' devices."""
    pair = tuple(sorted((a["environment"]["device"], b["environment"]["device"])))
    if pair in TOLERANCES:
        return (*TOLERANCES[pair], f"tolerances of {pair[0]} against {pair[1]}: measured (atol, rtol) "
                                   f"{TOLERANCES[pair]}")
    return (OUTPUT_TOL, GRAD_TOL, f"tolerances of {pair[0]} against {pair[1]}: not measured yet; "
                                  f"CPU against CPU's {TOLERANCES[('CPU', 'CPU')]} used")


def pair_keys(keys_a, keys_b, layers_a=None, layers_b=None, mapping=None):
    """([(key in A, key in B)], [keys only in A], [keys only in B]): the tensors of two
    dumps paired. A's layer path is taken to B's by `mapping` ({A path: B path}, the
    longest matching prefix wins: parity/common/layer_rules.translate), and a parameter's
    name by the rule of its two layers' classes (`layers_a`/`layers_b`, the manifests'
    layers: LayerNorm's gamma is PyTorch's weight); twins need neither (their paths are
    the same and the dumps hold BatchNorm under MindSpore's names)."""
    kinds_a = {(net, e["name"]): e["kind"] for net, entries in (layers_a or {}).items() for e in entries}
    kinds_b = {(net, e["name"]): e["kind"] for net, entries in (layers_b or {}).items() for e in entries}
    in_b = set(keys_b)

    def candidates(key):
        parts = key.split("/")
        if parts[1] == "loss":
            return [key]
        net, path_at = (parts[2], 3) if parts[1] == "weights" else (parts[1], 3)
        name = parts[path_at]
        if parts[1] == "weights" or parts[2] == "gradient":       # a parameter: its layer and leaf
            layer, _, leaf = name.rpartition(".")
            other = translate(layer, mapping) if layer else layer
            rule = find_rule([kinds_a.get((net, layer), "")], [kinds_b.get((net, other), "")])
            leaves = [leaf] + ([rule.torch_name(leaf)] if rule else [])
            names = [f"{other}.{x}" if other else x for x in leaves]
        else:
            names = [translate(name, mapping) if name else name]
        return ["/".join(parts[:path_at] + [n] + parts[path_at + 1:]) for n in names]

    pairs = []
    for key in keys_a:
        found = next((k for k in candidates(key) if k in in_b), None)
        if found is not None:
            pairs.append((key, found))
    paired_a, paired_b = {a for a, _ in pairs}, {b for _, b in pairs}
    return pairs, [k for k in keys_a if k not in paired_a], [k for k in keys_b if k not in paired_b]


def parse_key(key):
    """(step, net, kind, layer, what) of a dump key."""
    parts = key.split("/")
    step = int(parts[0])
    if parts[1] == "loss":
        return step, "", "loss", parts[2], ""
    if parts[1] == "weights":
        return step, parts[2], "weights", parts[3], ""
    if parts[2] == "gradient":     # a parameter's gradient: its layer is the name less the leaf
        layer, _, leaf = parts[3].rpartition(".")
        return step, parts[1], "gradient", layer, leaf
    net, kind, layer = parts[1], parts[2], parts[3]
    return step, net, kind, layer, parts[4] if len(parts) > 4 else ""


def _array(folder, entry):
    return np.load(Path(folder) / entry["file"]) if entry.get("file") else None


def _from_statistics(ea, eb, atol, rtol):
    """What a statistics-only dump allows: equal checksums, or the largest difference of
    min, max and mean (a lower bound of max |a - b|)."""
    if ea["sha256"] == eb["sha256"]:
        return {"max_abs": 0.0, "max_rel": 0.0, "cosine": 1.0, "ulp": 0, "within": 1.0, "finite": True}, "checksum"
    gap = max(abs(ea[s] - eb[s]) for s in ("min", "max", "mean")) if ea["min"] is not None else 0.0
    scale = max(abs(eb["min"]), abs(eb["max"])) if eb["min"] is not None else 0.0
    return ({"max_abs": gap, "max_rel": gap / scale if scale else 0.0, "cosine": None, "ulp": None,
             "within": None, "finite": True}, "statistics only: a lower bound")


def compare_dumps(folder_a, folder_b, mapping=None):
    """(rows, summary) of two dumps; a DumpError when they cannot be compared."""
    a, b = load_manifest(folder_a), load_manifest(folder_b)
    notes = check_environments(a, b, (str(folder_a), str(folder_b)))
    atol, rtol, tol_note = tolerances(a, b)
    notes.append(tol_note)
    pairs, only_a, only_b = pair_keys(list(a["tensors"]), list(b["tensors"]), a["layers"], b["layers"], mapping)
    rows = []
    for key_a, key_b in pairs:
        ea, eb = a["tensors"][key_a], b["tensors"][key_b]
        step, net, kind, layer, what = parse_key(key_a)
        xa, xb = _array(folder_a, ea), _array(folder_b, eb)
        note = ""
        if xa is not None and xb is not None:
            found = metrics(xa, xb, atol, rtol)
            scale = float(np.abs(np.asarray(xb, np.float64)).max()) if np.size(xb) else 0.0
        else:
            found, note = _from_statistics(ea, eb, atol, rtol)
            scale = max(abs(eb["min"] or 0.0), abs(eb["max"] or 0.0))
        tol = atol + rtol * scale
        if found is None:
            rows.append(Row(key_a, step, net, kind, layer, what, float("inf"), float("inf"), None, None, 0.0, tol,
                            False, f"shapes {ea['shape']} / {eb['shape']}"))
            continue
        passed = bool(found["finite"] and found["max_abs"] <= tol)
        rows.append(Row(key_a, step, net, kind, layer, what, found["max_abs"], found["max_rel"], found["cosine"],
                        found["ulp"], found["within"], tol, passed, note, judged=is_judged(step, kind)))
    layers = {net: [entry["name"] for entry in entries] for net, entries in a["layers"].items()}
    for net in sorted(set(a["layers"]) | set(b["layers"]), key=list(a["layers"]).index):
        names_b = [e["name"] for e in b["layers"].get(net, [])]
        taken = {translate(n, mapping) if n else n for n in layers.get(net, [])}
        missing = [n for n in layers.get(net, []) if (translate(n, mapping) if n else n) not in names_b]
        extra = [n for n in names_b if n not in taken]
        if missing or extra:
            notes.append(f"{net} layers unpaired: {', '.join(missing)} only in A; {', '.join(extra)} only in B")
    for label, keys in (("A", only_a), ("B", only_b)):
        if keys:
            notes.append(f"{len(keys)} tensors only in {label}, e.g. {', '.join(keys[:3])}: not compared, "
                         f"counted as failed")
    summary = summarize(rows, layers, a, b, notes, only_a, only_b)
    summary["layer_list"] = a["layers"]       # {net: [{"name", "kind"}]}, for the HTML report's tree
    return rows, summary


def is_judged(step, kind):
    """The first step's tensors computed from equal weights: what parity check judges."""
    return step == 0 and kind != "weights"


def _first(rows, key=None):
    row = next((r for r in sorted(rows, key=key) if not r.passed), None) if key else \
        next((r for r in rows if not r.passed), None)
    return row


def summarize(rows, layers, a, b, notes, only_a, only_b):
    """The firsts: diverging step, forward layer (call order), backward layer (from the loss back)."""
    position = {(net, name): i for net in layers for i, name in enumerate(layers[net])}
    net_order = {net: i for i, net in enumerate(layers)}
    forward = [r for r in rows if r.kind in ("forward", "state")]
    backward = [r for r in rows if r.kind == "backward"]
    first_forward = _first(forward, key=lambda r: (r.step, net_order.get(r.net, 0), position.get((r.net, r.layer), 0)))
    first_backward = _first(backward,
                            key=lambda r: (r.step, net_order.get(r.net, 0), -position.get((r.net, r.layer), 0)))
    failed_steps = sorted({r.step for r in rows if not r.passed})
    return {"a": {"framework": a["environment"]["framework"], "version": a["environment"]["framework_version"],
                  "device": a["environment"]["device"], "mode": a["environment"].get("mode")},
            "b": {"framework": b["environment"]["framework"], "version": b["environment"]["framework_version"],
                  "device": b["environment"]["device"], "mode": b["environment"].get("mode")},
            "model": a["model"], "steps": a["steps"], "layers": layers, "notes": notes,
            "compared": len(rows), "judged": sum(r.judged for r in rows),
            "failed": sum(r.judged and not r.passed for r in rows) + len(only_a) + len(only_b),
            "past_tolerance": sum(not r.passed for r in rows),
            "only_in_a": only_a, "only_in_b": only_b,
            "first_step": failed_steps[0] if failed_steps else None,
            "first_forward": first_forward and asdict(first_forward),
            "first_backward": first_backward and asdict(first_backward)}


def _describe(row):
    if row is None:
        return "none"
    where = f"{row['net']} {row['layer']}" + (f" {row['what']}" if row["what"] else "")
    return (f"step {row['step']}, {where} ({row['kind']}): max abs {row['max_abs']:.3e}, "
            f"tolerance {row['tol']:.3e}")


def format_summary(rows, summary):
    lines = [f"compare: {summary['model']}, A {summary['a']['framework']} {summary['a']['version']} on "
             f"{summary['a']['device']} ({summary['a']['mode']}), B {summary['b']['framework']} "
             f"{summary['b']['version']} on {summary['b']['device']} ({summary['b']['mode']}), "
             f"{summary['steps']} steps"]
    lines += [f"note: {n}" for n in summary["notes"]]
    width = max(len(k) for k in KINDS)
    lines.append(f"{'step':>4}  {'kind':<{width}}  {'tensors':>7}  {'past':>6}  {'max abs':>10}  "
                 f"{'min cosine':>10}  {'max ulp':>10}")
    for step in range(summary["steps"]):
        for kind in KINDS:
            group = [r for r in rows if r.step == step and r.kind == kind]
            if not group:
                continue
            cosines = [r.cosine for r in group if r.cosine is not None]
            ulps = [r.ulp for r in group if r.ulp is not None]
            lines.append(f"{step:>4}  {kind:<{width}}  {len(group):>7}  {sum(not r.passed for r in group):>6}  "
                         f"{max(r.max_abs for r in group):10.3e}  "
                         f"{(min(cosines) if cosines else float('nan')):10.7f}  {max(ulps) if ulps else '-':>10}")
    lines.append(f"first diverging layer, forward: {_describe(summary['first_forward'])}")
    lines.append(f"first diverging layer, backward: {_describe(summary['first_backward'])}")
    first_step = summary["first_step"]
    lines.append(f"first diverging step: {'none' if first_step is None else first_step}")
    lines.append(f"{summary['compared']} tensors compared, {summary['past_tolerance']} past tolerance; "
                 f"judged (step 0 from equal weights): {summary['judged']}, {summary['failed']} failed")
    return "\n".join(lines)


def read_mapping(path):
    """A --mapping file: a JSON object of A's layer paths to B's."""
    try:
        mapping = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DumpError(f"--mapping {path}: not a readable JSON file ({error})") from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise DumpError(f"--mapping {path}: must be a JSON object of layer paths, A's to B's")
    return mapping


def main(args):
    mapping = read_mapping(args.mapping) if args.mapping else None
    rows, summary = compare_dumps(args.a, args.b, mapping)
    print(format_summary(rows, summary))
    if args.json:
        write_text_atomic(args.json, json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=1))
    if args.html:
        from parity.compare_html import write_report
        write_report(args.html, rows, summary)
    return 0 if summary["failed"] == 0 else 1
