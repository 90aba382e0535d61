"""Comparing checkpoints' contents bit for bit, and the seeded gradients that give their
optimizers a state."""
import numpy as np


def assert_bit_equal(a, b, in_order=True):
    """Two {name: array or value} hold the same names (in the same order, unless in_order is
    False) and under each the same dtype, shape and bits, or an equal value."""
    assert list(a) == list(b) if in_order else set(a) == set(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def seeded_gradients(shapes, seed):
    """Small float32 gradients of the given shapes, seeded."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(shape)).astype(np.float32) * 1e-2 for shape in shapes]
