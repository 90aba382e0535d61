"""Adversarial losses; the definition and its reasons are in parity/common/losses.py."""
from mindspore import ops

from parity.common.losses import BCE_EPS, FAKE_LABEL, REAL_LABEL


def bce(probs, label):
    """Binary cross-entropy of probabilities against a constant label (1.0 or 0.0)."""
    return -ops.mean(label * ops.log(probs + BCE_EPS) + (1.0 - label) * ops.log(1.0 - probs + BCE_EPS))


def discriminator_loss(d_real, d_fake):
    """(loss on real, loss on fake, their mean): D's objective."""
    real_loss = bce(d_real, REAL_LABEL)
    fake_loss = bce(d_fake, FAKE_LABEL)
    return real_loss, fake_loss, (real_loss + fake_loss) / 2


def generator_loss(d_fake):
    return bce(d_fake, REAL_LABEL)
