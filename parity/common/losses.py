"""The adversarial loss, defined once for both frameworks.

Binary cross-entropy on probabilities, MindSpore's definition:

    bce(p, y) = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS)),  EPS = 1e-12

so one element's loss caps at -log(1e-12) = 27.63 when D saturates. PyTorch's BCELoss
clamps the log at -100 instead (caps at 100); both twins therefore implement this
formula themselves rather than calling their framework's BCELoss (PORTING_NOTES.md).
The formula has a finite gradient everywhere on [0, 1].

The discriminator's loss is the mean of its loss on real (label 1) and fake (label 0)
images, as in the MindSpore tutorial; the generator's is bce(D(G(z)), 1).

sgan (seeds/003): D returns (probability of real, class logits over num_classes + 1
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

Every model's losses are driven the same way (ms_gan.losses.for_model(name),
torch_gan.losses.for_model(name)):

    discriminator_loss(d(real), d(fake), labels=None) -> (loss on real, loss on fake, loss)
    generator_loss(d(G(z))) -> loss

and `parts` names the terms of D's loss that the parity check compares on their own
(sgan: "adversarial" and "class", each returning (real, fake, mean) like D's loss);
`classifier_loss(d(real), labels)` is the class loss alone, D trained as a plain
classifier (the baseline of `--supervised`).
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


# What D returns -> its probability that the image is real; the same code for both
# frameworks (plain functions, not lambdas: ms.jit compiles them).
def probability(d_out):
    return d_out


def sgan_probability(d_out):
    return d_out[0]
