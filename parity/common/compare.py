"""Comparison rows of two arrays, framework-free: numpy arrays in, a Check out. The
parity tools compare MindSpore's value with PyTorch's (the reference of the relative
measure); a dump of either can be compared here without importing a framework."""
from dataclasses import dataclass

import numpy as np


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


def close(name, a, b, atol, rtol):
    """compare() with allclose's rule on the largest values: max |a - b| <= atol + rtol max |b|."""
    if a is None or b is None:
        return Check(name, float("inf"), float("inf"), atol, "abs", a is None and b is None)
    scale = float(np.abs(b).max()) if np.size(b) and np.isfinite(b).all() else 0.0
    return compare(name, a, b, atol + rtol * scale)
