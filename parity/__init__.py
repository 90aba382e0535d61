"""Parity between the MindSpore (`ms_gan`) and PyTorch (`torch_gan`) twins.

`parity.common` is framework-free and is what both twins share: model configurations, the
training loop and its run folder, the checkpoint form, data-parallel splitting, the init
spec, parameter-name rules, the loss definition, FID's framework-free half. The other
modules are the tools across the twins and import both frameworks (`twins.py`, the pair
under test, and the checks, conversion, benchmarks and studies built on it), except
`inception.py` and `digit_classifier.py`, which need PyTorch only. Importing `parity`
itself imports neither.
"""
from parity.common.environment import mindspore_defaults

mindspore_defaults()
