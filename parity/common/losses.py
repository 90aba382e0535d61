"""The adversarial loss, defined once for both frameworks.

Binary cross-entropy on probabilities, MindSpore's definition:

    bce(p, y) = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS)),  EPS = 1e-12

so one element's loss caps at -log(1e-12) = 27.63 when D saturates. PyTorch's BCELoss
clamps the log at -100 instead (caps at 100); both twins therefore implement this
formula themselves rather than calling their framework's BCELoss (PORTING_NOTES.md).
The formula has a finite gradient everywhere on [0, 1].

The discriminator's loss is the mean of its loss on real (label 1) and fake (label 0)
images, as in the MindSpore tutorial; the generator's is bce(D(G(z)), 1).
"""
BCE_EPS = 1e-12
REAL_LABEL = 1.0
FAKE_LABEL = 0.0
