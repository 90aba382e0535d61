"""GAN tutorials in MindSpore. `torch_gan` is the PyTorch twin, module for module."""
import os

# MindSpore logs at WARNING by default, including a failed probe for Ascend libraries
# on every import on CPU machines; keep ERROR and above unless the user asked otherwise.
os.environ.setdefault("GLOG_v", "3")
