"""Parity between the MindSpore (`ms_gan`) and PyTorch (`torch_gan`) twins.

`parity.common` is framework-free and is what both twins share (model configurations,
the init spec, parameter-name rules, the loss constants). Every other module of this
package imports both frameworks: checks, checkpoint conversion, benchmarks.
Importing `parity` itself imports neither.
"""
