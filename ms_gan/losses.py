"""Adversarial losses in MindSpore ops: the three primitives parity/common/losses.py
composes every model's losses from (the definition and its reasons are there).

Twin: torch_gan/losses.py.
"""
import mindspore as ms
from mindspore import ops

from parity.common.configs import get_config
from parity.common.losses import BCE_EPS, HIDDEN, losses_from


def bce(probs, label):
    """Binary cross-entropy of probabilities against a constant label (1.0 or 0.0)."""
    return -ops.mean(label * ops.log(probs + BCE_EPS) + (1.0 - label) * ops.log(1.0 - probs + BCE_EPS))


def cross_entropy(logits, labels):
    """Mean cross-entropy of class logits (log-softmax applied once) against integer labels,
    over the rows whose label is not HIDDEN; 0 if there are none."""
    seen = (labels != HIDDEN).astype(logits.dtype)
    one_hot = ops.one_hot(ops.maximum(labels, 0), logits.shape[1], ms.Tensor(1.0, logits.dtype),
                          ms.Tensor(0.0, logits.dtype))
    row_loss = -ops.sum(one_hot * ops.log_softmax(logits, axis=1), 1)
    return ops.sum(row_loss * seen) / ops.maximum(ops.sum(seen), 1.0)


def generated_class(logits):
    """Labels of the extra class, index num_classes (the last): "generated"."""
    return ops.full((logits.shape[0],), logits.shape[1] - 1, dtype=ms.int32)


LOSSES = losses_from(bce, cross_entropy, generated_class)


def for_model(name):
    """The losses of model `name`, called the same way for every model."""
    return LOSSES[get_config(name).loss]
