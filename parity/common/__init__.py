"""Framework-free definitions shared by `ms_gan` and `torch_gan`.

Nothing in this package may import mindspore or torch (a test enforces it).
"""
