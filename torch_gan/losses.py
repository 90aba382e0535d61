"""Adversarial losses; the definition and its reasons are in parity/common/losses.py."""
import torch

from parity.common.losses import BCE_EPS, FAKE_LABEL, REAL_LABEL


def bce(probs, label):
    """Binary cross-entropy of probabilities against a constant label (1.0 or 0.0).

    Not torch.nn.BCELoss: that clamps the log at -100, MindSpore's at log(1e-12)."""
    return -torch.mean(label * torch.log(probs + BCE_EPS) + (1.0 - label) * torch.log(1.0 - probs + BCE_EPS))


def discriminator_loss(d_real, d_fake):
    """(loss on real, loss on fake, their mean): D's objective."""
    real_loss = bce(d_real, REAL_LABEL)
    fake_loss = bce(d_fake, FAKE_LABEL)
    return real_loss, fake_loss, (real_loss + fake_loss) / 2


def generator_loss(d_fake):
    return bce(d_fake, REAL_LABEL)
