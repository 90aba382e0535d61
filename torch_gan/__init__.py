"""GAN tutorials in PyTorch: the twin of `ms_gan`, module for module."""
