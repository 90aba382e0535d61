"""`python -m torch_gan train`: the PyTorch twin of ms_gan/train.py, step for step.

Each step: fake = G(z) once; a D step on D(real) and D(fake.detach()); then a G step on
D(fake) through the *updated* D, back into G through the same forward.
The run itself (epochs, resume, outputs, noise) is the shared loop of
parity/common/loop.py; `Backend` is what it needs of PyTorch.
"""
import os
import warnings
from datetime import timedelta

import torch
from torch import distributed
from torch.nn.parallel import DistributedDataParallel

import torch_gan.checkpoint
import torch_gan.models
from parity.common import loop, run_folder, streams
from parity.common.configs import get_config
from parity.common.distributed import TIMEOUT_S, World, launcher
from torch_gan.data import create_labelled_pipeline, create_pipeline
from torch_gan.device import use_device
from torch_gan.generate import generate
from torch_gan.losses import LOSSES
from torch_gan.models.dropout import Dropout2d


def active_dropout(net):
    """The dropout layers of a network that drop something (p > 0), in order."""
    return [layer for _, layer in torch_gan.models.dropout_layers(net) if layer.p > 0]


class TrainStep:
    """One training step; `step(real, z, labels=None, masks=None)` -> {name: float} of run_folder.STATS.

    `real`: (N, C, H, W) float32 in [-1, 1], numpy or tensor; `z`: numpy (N, *noise_shape);
    `masks`: D's dropout masks, streams.dropout_masks(..., self.dropout_shapes,
    self.dropout_calls) (D runs on the real images, on the fake ones, then on the fake ones
    after its update; once with `supervised`); default: drawn from seed 0, epoch 0 and the
    number of steps this TrainStep took. Each is set on its layer before the call it is for
    (torch_gan/models/dropout.py).
    `labels`: int (N,) classes, HIDDEN where unseen, for a model with a class head (`loss`
    "sgan": torch_gan.losses.LOSSES). `supervised`: D alone learns the classes of the
    labelled images, a plain classifier; it returns run_folder.CLASSIFIER_STATS.
    `optimizer(params, lr=, betas=)` builds each network's optimizer (torch.optim.Adam).
    `mode`: PyTorch runs the step eagerly, the only mode. `data_parallel`: this process is
    one worker of a torchrun job (torch.distributed initialised); G and D run inside
    DistributedDataParallel, which averages their gradients across the workers; each
    worker keeps its own BatchNorm statistics (broadcast_buffers=False), as each MindSpore
    worker does. The arguments are the MindSpore twin's, in its order. The step runs where
    the networks' parameters are."""

    def __init__(self, generator, discriminator, lr=2e-4, beta1=0.5, loss="bce", supervised=False,
                 optimizer=torch.optim.Adam, mode="eager", data_parallel=False):
        if mode != "eager":
            raise ValueError(f"mode must be 'eager' (PyTorch runs the step eagerly), not {mode!r}")
        self.device = next(generator.parameters()).device
        self.generator, self.discriminator = generator, discriminator
        self.g_forward, self.d_forward = generator, discriminator     # what the step calls
        if data_parallel:
            ids = [self.device.index] if self.device.type == "cuda" else None
            with warnings.catch_warnings():    # its replacement still syncs buffers at init; this does not
                warnings.filterwarnings("ignore", "`broadcast_buffers` is deprecated", FutureWarning)
                self.g_forward, self.d_forward = (DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)
                                                  for net in (generator, discriminator))
        self.optimizer_g = optimizer(generator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizer_d = optimizer(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.losses, self.supervised = LOSSES[loss], supervised
        self.stats = run_folder.CLASSIFIER_STATS if supervised else run_folder.STATS
        self.steps_taken = 0
        self.dropout = self._dropout_layers(generator, discriminator)
        self.dropout_shapes = [(layer.p, layer.channels) for layer in self.dropout]
        self.dropout_calls = 1 if supervised else 3
        generator.train()
        discriminator.train()

    @staticmethod
    def _dropout_layers(generator, discriminator):
        """D's dropout layers that drop something; G's may not (no step gives it masks)."""
        layers = torch_gan.models.dropout_layers(generator) + torch_gan.models.dropout_layers(discriminator)
        if active_dropout(generator) or not all(isinstance(layer, Dropout2d) for _, layer in layers):
            raise ValueError("dropout in G, or a dropout layer other than torch_gan.models.dropout.Dropout2d "
                             "in D: no step gives it masks, so runs would not repeat")
        return active_dropout(discriminator)

    def __call__(self, real, z, labels=None, masks=None):
        real = torch.as_tensor(real, dtype=torch.float32).to(self.device)
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.int64).to(self.device)
        if masks is None:
            masks = streams.dropout_masks(0, 0, self.steps_taken, real.shape[0], self.dropout_shapes,
                                           self.dropout_calls)
        self.masks = [torch.from_numpy(m).to(self.device) for m in masks]
        out = self.classifier_step(real, labels) if self.supervised else self.gan_step(real, z, labels)
        self.steps_taken += 1
        return dict(zip(self.stats, (float(x.item()) for x in out)))

    def use_masks(self, call):
        """Give D's dropout layers their masks for D's call `call` of this step."""
        for i, layer in enumerate(self.dropout):
            layer.mask = self.masks[call * len(self.dropout) + i]

    def gan_step(self, real, z, labels):
        losses = self.losses
        fake = self.g_forward(torch.from_numpy(z).to(self.device))

        self.optimizer_d.zero_grad()
        self.use_masks(0)
        d_real = self.d_forward(real)
        self.use_masks(1)
        d_fake = self.d_forward(fake.detach())
        _, _, loss_d = losses.discriminator_loss(d_real, d_fake, labels)
        loss_d.backward()
        self.optimizer_d.step()

        self.optimizer_g.zero_grad()
        self.use_masks(2)
        d_fake_after = self.d_forward(fake)
        loss_g = losses.generator_loss(d_fake_after)
        loss_g.backward()
        self.optimizer_g.step()
        return (loss_d, loss_g, losses.probability(d_real).mean(), losses.probability(d_fake).mean(),
                losses.probability(d_fake_after).mean())

    def classifier_step(self, real, labels):
        """D alone on the labelled images."""
        self.optimizer_d.zero_grad()
        self.use_masks(0)
        loss = self.losses.classifier_loss(self.d_forward(real), labels)
        loss.backward()
        self.optimizer_d.step()
        return (loss,)


class Backend:
    """What the shared training loop (parity/common/loop.py) needs of PyTorch."""
    framework = torch_gan.checkpoint.FORMAT.framework.key
    suffix = torch_gan.checkpoint.FORMAT.framework.suffix
    checkpoint = torch_gan.checkpoint.FORMAT
    generate = staticmethod(generate)

    def __init__(self, args):
        self.device = use_device(args.device)
        if args.mode:
            print(f"note: --mode {args.mode} is MindSpore's; PyTorch runs the step eagerly")
        self.workers = args.workers
        self.world = World()

    def start_world(self):
        """Join the torchrun job this process is a worker of, if it is one: NCCL on CUDA,
        gloo on CPU."""
        if launcher() == "torchrun":
            if self.device.type == "cuda":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo",
                                           timeout=timedelta(seconds=TIMEOUT_S))
            self.world = World(distributed.get_rank(), distributed.get_world_size())
        return self.world

    def mean_across_workers(self, stats):
        """{name: float} averaged over the workers (as they are in a one-process run)."""
        if self.world.size == 1:
            return stats
        total = torch.tensor(list(stats.values()), dtype=torch.float32, device=self.device)
        distributed.all_reduce(total)
        return dict(zip(stats, (float(x) / self.world.size for x in total.tolist())))

    def train_step(self, config):
        model = get_config(config["model"])
        generator, discriminator = torch_gan.models.build(model.name, config["seed"], config.get("dropout", True))
        return TrainStep(generator.to(self.device), discriminator.to(self.device), config["lr"], config["beta1"],
                         model.loss, config.get("supervised", False), data_parallel=self.world.size > 1)

    def image_batches(self, data, config, epoch):
        channels, image_size, _ = get_config(config["model"]).image_shape
        loader = create_pipeline(data, image_size, channels, config["batch_size"], seed=config["seed"], epoch=epoch,
                               num_workers=self.workers, world=self.world)
        return len(loader), ((real, None) for real in loader)

    def labelled_batches(self, paths, shown, config, batch_size):
        channels, image_size, _ = get_config(config["model"]).image_shape
        loader = create_labelled_pipeline(paths, shown, image_size, channels, batch_size, self.workers)
        return len(loader), loader


def train(args):
    return loop.train(args, Backend(args))
