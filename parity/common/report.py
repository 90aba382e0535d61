"""Comparison records and their table / JSON / Markdown forms."""
import json
from dataclasses import asdict, dataclass

import numpy as np

from .files import write_text_atomic


@dataclass
class Check:
    name: str
    max_abs: float
    max_rel: float     # max |a - b| / max |b|: relative to the largest value of the reference
    tol: float
    measure: str       # "abs" or "rel": which of the two the tolerance bounds
    passed: bool


def compare(name, ms_value, torch_value, tol, measure="abs"):
    """Compare two arrays (the PyTorch one is the reference for the relative measure)."""
    a = np.asarray(ms_value, dtype=np.float64)
    b = np.asarray(torch_value, dtype=np.float64)
    if a.shape != b.shape:
        return Check(name, float("inf"), float("inf"), tol, measure, False)
    max_abs = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    value = max_abs if measure == "abs" else max_rel
    passed = bool(np.isfinite(a).all() and np.isfinite(b).all() and value <= tol)
    return Check(name, max_abs, max_rel, tol, measure, passed)


def format_table(checks):
    width = max([len("check")] + [len(c.name) for c in checks])
    lines = [f"{'check':<{width}}  {'max abs diff':>12}  {'max rel diff':>12}  {'tolerance':>13}  pass"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.max_abs:12.3e}  {c.max_rel:12.3e}  "
                     f"{c.tol:9.0e} {c.measure:>3}  {'ok' if c.passed else 'FAIL'}")
    failed = sum(not c.passed for c in checks)
    lines.append(f"all {len(checks)} checks passed" if not failed else f"{failed} of {len(checks)} checks FAILED")
    return "\n".join(lines)


def format_markdown(title, checks):
    lines = [f"### {title}", "", "| check | max abs diff | max rel diff | tolerance | pass |",
             "| --- | ---: | ---: | ---: | --- |"]
    for c in checks:
        lines.append(f"| {c.name} | {c.max_abs:.3e} | {c.max_rel:.3e} | {c.tol:.0e} ({c.measure}) | "
                     f"{'ok' if c.passed else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def write_json(path, model, device, checks, **extra):
    record = {"model": model, "device": device, "passed": all(c.passed for c in checks),
              "checks": [asdict(c) for c in checks], **extra}
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
