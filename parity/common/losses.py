"""The adversarial loss, defined once for both frameworks.

Binary cross-entropy on probabilities, MindSpore's definition:

    bce(p, y) = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS)),  EPS = 1e-12

so one element's loss caps at -log(1e-12) = 27.63 when D saturates. PyTorch's BCELoss
clamps the log at -100 instead (caps at 100); both twins therefore implement this
formula themselves rather than calling their framework's BCELoss
(docs/framework_differences.md#bce-at-saturation).
The formula has a finite gradient everywhere on [0, 1].

The discriminator's loss is the mean of its loss on real (label 1) and fake (label 0)
images, as in the MindSpore tutorial; the generator's is bce(D(G(z)), 1).

sgan (seed 003, docs/seeds.md#seed-003): D returns (probability of real, class logits over num_classes + 1
classes, the last one, index num_classes, meaning "generated"). With

    ce(logits, c) = -mean over i with c_i != HIDDEN of log_softmax(logits)[i, c_i]
                                                            (log-softmax applied once; 0 if no such i)

    adversarial: real_adv = bce(p_real, 1)              fake_adv = bce(p_fake, 0)
    class:       real_cls = ce(logits_real, labels)     fake_cls = ce(logits_fake, num_classes)
    D:           real = (real_adv + real_cls) / 2       fake = (fake_adv + fake_cls) / 2
                 loss = (real + fake) / 2
    G:           bce(p_fake, 1)                          (the class head does not enter)

as in the seed, except that the seed put nn.Softmax before nn.CrossEntropyLoss, which
applies log-softmax again: it computed ce(softmax(logits), c), whose gradient is squashed
and whose value cannot fall below log(1 + (K-1)/e) (about 1.54 for K = 11 classes).
Both twins compute the log-softmax themselves, the same way, and take the class label
by a one-hot product. A label HIDDEN (-1) marks a real image whose class training may not
see (semi-supervised runs, parity.common.datasets.LabelledPlan): it enters the adversarial
term only. With every label seen this is the seed's loss.

Every model's losses are composed here once, from three primitives each framework writes
in its own ops (ms_gan/losses.py, torch_gan/losses.py): `bce(probs, label)`,
`cross_entropy(logits, labels)` and `generated_class(logits)`. `losses_from` builds the
table both frameworks' `LOSSES` are, called the same way for every model:

    discriminator_loss(d(real), d(fake), labels=None) -> (loss on real, loss on fake, loss)
    generator_loss(d(G(z))) -> loss

and `parts` names the terms of D's loss that the parity check compares on their own
(sgan: "adversarial" and "class", each returning (real, fake, mean) like D's loss);
`classifier_loss(d(real), labels)` is the class loss alone, D trained as a plain
classifier (the baseline of `--supervised`). The functions are plain closures, not
lambdas: ms.jit compiles them.
"""
from typing import Callable, NamedTuple

BCE_EPS = 1e-12
REAL_LABEL = 1.0
FAKE_LABEL = 0.0
HIDDEN = -1                  # the class label of a real image whose class the loss may not see

# ModelConfig.loss -> what D returns: "bce" a probability, "sgan" (probability, class logits).
LOSS_KINDS = ("bce", "sgan")


class Losses(NamedTuple):
    """One model kind's losses, as each framework's losses.LOSSES holds them."""
    discriminator_loss: Callable   # (d(real), d(fake), labels=None) -> (real, fake, loss)
    generator_loss: Callable       # d(G(z)) -> loss
    parts: dict                    # name -> (d(real), d(fake), labels) -> (real, fake, mean)
    probability: Callable          # d(x) -> D's probability that x is real
    classifier_loss: Callable = None   # (d(real), labels) -> loss; None without a class head


# What D returns -> its probability that the image is real; the same code for both frameworks.
def probability(d_out):
    return d_out


def sgan_probability(d_out):
    return d_out[0]


def losses_from(bce, cross_entropy, generated_class):
    """{ModelConfig.loss: Losses} of a framework, from its three primitives:
    bce(probs, label) binary cross-entropy against a constant label (REAL_LABEL or FAKE_LABEL);
    cross_entropy(logits, labels) mean over the rows whose label is not HIDDEN, 0 if none;
    generated_class(logits) the labels of the extra class (index num_classes) for every row."""

    def discriminator_loss(d_real, d_fake, labels=None):
        """(loss on real, loss on fake, their mean): D's objective."""
        real_loss = bce(d_real, REAL_LABEL)
        fake_loss = bce(d_fake, FAKE_LABEL)
        return real_loss, fake_loss, (real_loss + fake_loss) / 2

    def generator_loss(d_fake):
        return bce(d_fake, REAL_LABEL)

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

    return {
        "bce": Losses(discriminator_loss, generator_loss, {}, probability),
        "sgan": Losses(sgan_discriminator_loss, sgan_generator_loss,
                       {"adversarial": sgan_adversarial_loss, "class": sgan_class_loss}, sgan_probability,
                       sgan_classifier_loss),
    }
