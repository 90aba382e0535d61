"""Comparison rows of two arrays, framework-free: numpy arrays in, a Check out. The
parity tools compare MindSpore's value with PyTorch's (the reference of the relative
measure); a dump of either can be compared here without importing a framework."""
from dataclasses import dataclass

import numpy as np

OUTPUT_TOL = 1e-5   # absolute, float32 outputs and losses
GRAD_TOL = 1e-4     # relative to the largest gradient of that parameter


def _ordered_bits(values):
    """float32 values as int64 whose order and differences are the floats' order and ulp
    distance (the sign-magnitude bit pattern folded onto a line)."""
    bits = np.asarray(values, np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def metrics(a, b, atol=OUTPUT_TOL, rtol=0.0):
    """How far array `a` is from the reference `b`: max_abs, max_rel (max |a - b| / max |b|),
    cosine, ulp (largest distance in float32 units in the last place), within (the share
    of elements with |a - b| <= atol + rtol |b|), finite. None of a different shape."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a64.shape != b64.shape:
        return None
    if not a64.size:
        return {"max_abs": 0.0, "max_rel": 0.0, "cosine": 1.0, "ulp": 0, "within": 1.0, "finite": True}
    diff = np.abs(a64 - b64)
    finite = bool(np.isfinite(a64).all() and np.isfinite(b64).all())
    max_abs = float(diff.max())
    scale = float(np.abs(b64).max())
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    norms = float(np.linalg.norm(a64) * np.linalg.norm(b64))
    cosine = float(np.dot(a64.ravel(), b64.ravel()) / norms) if norms > 0 and finite else float(max_abs == 0)
    ulp = int(np.abs(_ordered_bits(a64) - _ordered_bits(b64)).max()) if finite else None
    within = float(np.mean(diff <= atol + rtol * np.abs(b64)))
    return {"max_abs": max_abs, "max_rel": max_rel, "cosine": cosine, "ulp": ulp, "within": within,
            "finite": finite}


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
    found = metrics(ms_value, torch_value)
    if found is None:
        return Check(name, float("inf"), float("inf"), tol, measure, False)
    value = found["max_abs"] if measure == "abs" else found["max_rel"]
    return Check(name, found["max_abs"], found["max_rel"], tol, measure, bool(found["finite"] and value <= tol))


def close(name, a, b, atol, rtol):
    """compare() with allclose's rule on the largest values: max |a - b| <= atol + rtol max |b|."""
    if a is None or b is None:
        return Check(name, float("inf"), float("inf"), atol, "abs", a is None and b is None)
    scale = float(np.abs(b).max()) if np.size(b) and np.isfinite(b).all() else 0.0
    return compare(name, a, b, atol + rtol * scale)
