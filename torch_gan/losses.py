"""Adversarial losses in PyTorch ops: the three primitives parity/common/losses.py
composes every model's losses from (the definition and its reasons are there).

Twin: ms_gan/losses.py.
"""
import torch

from parity.common.configs import get_config
from parity.common.losses import BCE_EPS, HIDDEN, losses_from


def bce(probs, label):
    """Binary cross-entropy of probabilities against a constant label (1.0 or 0.0).

    Not torch.nn.BCELoss: that clamps the log at -100, MindSpore's at log(1e-12)."""
    return -torch.mean(label * torch.log(probs + BCE_EPS) + (1.0 - label) * torch.log(1.0 - probs + BCE_EPS))


def cross_entropy(logits, labels):
    """Mean cross-entropy of class logits (log-softmax applied once) against integer labels,
    over the rows whose label is not HIDDEN; 0 if there are none.

    Written out like the MindSpore twin's rather than F.cross_entropy(ignore_index=HIDDEN),
    the same formula."""
    labels = labels.long()
    seen = (labels != HIDDEN).to(logits.dtype)
    one_hot = torch.nn.functional.one_hot(labels.clamp(min=0), logits.shape[1]).to(logits.dtype)
    row_loss = -torch.sum(one_hot * torch.log_softmax(logits, dim=1), 1)
    return torch.sum(row_loss * seen) / torch.clamp(torch.sum(seen), min=1.0)


def generated_class(logits):
    """Labels of the extra class, index num_classes (the last): "generated"."""
    return torch.full((logits.shape[0],), logits.shape[1] - 1, dtype=torch.int64, device=logits.device)


LOSSES = losses_from(bce, cross_entropy, generated_class)


def for_model(name):
    """The losses of model `name`, called the same way for every model."""
    return LOSSES[get_config(name).loss]
