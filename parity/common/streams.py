"""Every random stream of a run, declared once, and the noise drawn from them.

Noise, dropout masks and the labelled images' choice are drawn in numpy, so that runs are
reproducible and resumable and both frameworks are fed the same values. A run's draws come
from `np.random.default_rng([seed, ...])`:

    [seed, epoch]                                    the epoch's image order (datasets.epoch_order)
    [seed, epoch, step]                              G's noise of a step (step_noise)
    [seed, STREAM, ...]                              a stream of the table below

A stream id lies near 2**32, never an epoch index. `declare` refuses an id (or a name)
that is taken, so two streams can never draw the same sequence.
"""
import numpy as np

STREAMS = {}    # name -> id, every stream of a run


def declare(name, stream_id):
    """Register stream `name` with `stream_id` and return the id; ValueError if another
    stream has the id or the name already."""
    for other, taken in STREAMS.items():
        if taken == stream_id:
            raise ValueError(f"random stream id {stream_id} of {name} is taken by {other}; "
                             f"every stream needs an id of its own")
    if name in STREAMS:
        raise ValueError(f"random stream {name} is declared already (id {STREAMS[name]})")
    STREAMS[name] = stream_id
    return stream_id


SAMPLE_STREAM = declare("sample grids' fixed noise", 2**32 - 1)
LABELLED_STREAM = declare("labelled images' choice and order (--labels)", 2**32 - 2)
DROPOUT_STREAM = declare("dropout masks", 2**32 - 3)
# 2**32 - 2 until #25, shared with LABELLED_STREAM by mistake; moved here, where it draws
# no other stream's values: --fid-every's scores changed, training did not
# (docs/quality_study.md).
FID_STREAM = declare("--fid-every's fixed noise", 2**32 - 4)


def step_noise(seed, epoch, step, batch, noise_shape):
    """G's input for step `step` (0-based) of epoch `epoch` (0-based)."""
    rng = np.random.default_rng([seed, epoch, step])
    return rng.standard_normal((batch, *noise_shape), dtype=np.float32)


def dropout_masks(seed, epoch, step, count, layers, calls):
    """The dropout masks of step `step` (0-based) of epoch `epoch` (0-based) for a global
    batch of `count` images: for each call of the network in the step (`calls`, in order),
    for each of its dropout layers (`layers`: [(p, channels)], in order), a float32
    (count, channels, 1, 1) array of 0 (dropped, with probability p) or 1 / (1 - p), as
    nn.Dropout2d scales what it keeps. Flat, call after call."""
    masks = []
    for call in range(calls):
        for index, (p, channels) in enumerate(layers):
            rng = np.random.default_rng([seed, DROPOUT_STREAM, epoch, step, call, index])
            keep = rng.random((count, channels), dtype=np.float32) >= p
            scale = np.float32(1.0) / np.float32(1.0 - p)
            masks.append(np.where(keep, scale, np.float32(0.0)).reshape(count, channels, 1, 1))
    return masks


def sample_noise(seed, n, noise_shape, stream=SAMPLE_STREAM):
    """The fixed noise of the sample grids (of --fid-every with FID_STREAM): the same for
    the whole run, across resumes, and in both frameworks."""
    rng = np.random.default_rng([seed, stream])
    return rng.standard_normal((n, *noise_shape), dtype=np.float32)
