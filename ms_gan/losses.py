"""Adversarial losses; the definition and its reasons are in parity/common/losses.py."""
import mindspore as ms
from mindspore import ops

from parity.common.configs import get_config
from parity.common.losses import BCE_EPS, FAKE_LABEL, HIDDEN, REAL_LABEL, Losses, probability, sgan_probability


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


def sgan_adversarial_loss(d_real, d_fake, labels=None):
    """(real, fake, mean) of the adversarial head of an sgan D."""
    return discriminator_loss(d_real[0], d_fake[0])


def sgan_class_loss(d_real, d_fake, labels):
    """(real, fake, mean) of the class head: real images their labels, fake ones the extra class."""
    real_loss = cross_entropy(d_real[1], labels)
    fake_loss = cross_entropy(d_fake[1], generated_class(d_fake[1]))
    return real_loss, fake_loss, (real_loss + fake_loss) / 2


def sgan_discriminator_loss(d_real, d_fake, labels):
    """(loss on real, loss on fake, their mean), each the mean of the adversarial and class terms."""
    real_adv, fake_adv, _ = sgan_adversarial_loss(d_real, d_fake)
    real_cls, fake_cls, _ = sgan_class_loss(d_real, d_fake, labels)
    real_loss = (real_adv + real_cls) / 2
    fake_loss = (fake_adv + fake_cls) / 2
    return real_loss, fake_loss, (real_loss + fake_loss) / 2


def sgan_generator_loss(d_fake):
    return bce(d_fake[0], REAL_LABEL)


def sgan_classifier_loss(d_real, labels):
    """The class head on real images alone: the loss of D trained as a plain classifier."""
    return cross_entropy(d_real[1], labels)


def bce_discriminator_loss(d_real, d_fake, labels=None):
    return discriminator_loss(d_real, d_fake)


LOSSES = {   # named functions, not lambdas: ms.jit compiles them
    "bce": Losses(bce_discriminator_loss, generator_loss, {}, probability),
    "sgan": Losses(sgan_discriminator_loss, sgan_generator_loss,
                   {"adversarial": sgan_adversarial_loss, "class": sgan_class_loss}, sgan_probability,
                   sgan_classifier_loss),
}


def for_model(name):
    """The losses of model `name`, called the same way for every model."""
    return LOSSES[get_config(name).loss]
