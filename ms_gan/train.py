"""`python -m ms_gan train`: the MindSpore faces tutorial's DCGAN training (seed 001: docs/seeds.md#seed-001).

Twin: torch_gan/train.py. Each step: fake = G(z) once; a D step on D(real) and D(fake);
then a G step on D(fake) through the *updated* D, back into G through the same forward.
The run itself (epochs, resume, outputs, noise) is the shared loop of
parity/common/loop.py; `Backend` is what it needs of MindSpore.
"""
import contextlib

import mindspore as ms
import numpy as np
from mindspore import communication, nn, ops

import ms_gan.checkpoint
import ms_gan.models
from ms_gan.data import create_labelled_pipeline, create_pipeline
from ms_gan.device import use_device, waiting_without_spinning
from ms_gan.generate import generate
from ms_gan.losses import LOSSES
from ms_gan.native.adam import Adam
from parity.common import loop, run_folder, streams
from ms_gan.models.dropout import Dropout2d
from parity.common.configs import get_config
from parity.common.distributed import World, launcher


class GAN(nn.Cell):
    """G, D and their optimizers under one parent: `parameters_and_names()` gives the
    checkpoint names (generator.main.0.weight, optimizer_g.exp_avg.main.0.weight, ...)."""

    def __init__(self, generator, discriminator, lr, beta1, optimizer):
        super().__init__()
        self.optimizer_g = optimizer(generator.trainable_params(), lr=lr, betas=(beta1, 0.999))
        self.optimizer_d = optimizer(discriminator.trainable_params(), lr=lr, betas=(beta1, 0.999))
        self.generator = generator
        self.discriminator = discriminator
        # ms.jit needs every parameter's *name* unique, and G and D both have main.0.weight,
        # both optimizers state_step and learning_rate_group_0. Rename them by their path
        # here; the optimizers' learning rates sit in a plain list that the rename misses.
        for name in ("optimizer_g", "optimizer_d", "generator", "discriminator"):   # G's and D's last
            getattr(self, name).update_parameters_name(name + ".")
        for name in ("optimizer_g", "optimizer_d"):
            for lr_param in getattr(self, name).lrs:
                lr_param.name = f"{name}.{lr_param.name}"


def _vjp_weights(g_vjp, fake_grad):
    """G's weight gradients from mindspore.vjp's function (it also gives z's)."""
    return g_vjp(fake_grad)[1]


def _statistics_kept(generator):
    """_vjp_weights for PyNative. There mindspore.vjp's function runs G's forward again
    (mindspore/ops/function/grad/grad_func.py), moving G's BatchNorm running statistics a
    second time; under ms.jit the two forwards compile to one (G's statistics match
    PyTorch's to 1e-9 after a step). Put the statistics back."""
    statistics = [p for p in generator.get_parameters() if not p.requires_grad]

    def g_backward(g_vjp, fake_grad):
        saved = [p.asnumpy().copy() for p in statistics]   # asnumpy() shares memory
        grads = _vjp_weights(g_vjp, fake_grad)
        for param, value in zip(statistics, saved):
            param.set_data(ms.Tensor(value))
        return grads
    return g_backward


def _unreduced(grads):
    """The gradients of a one-process run, as they are."""
    return grads


def active_dropout(net):
    """The dropout layers of a network that drop something (p > 0), in order."""
    return [layer for _, layer in ms_gan.models.dropout_layers(net) if layer.p > 0]


class TrainStep:
    """One training step; `step(real, z, labels=None, masks=None)` -> {name: float} of run_folder.STATS.

    `real`: (N, C, H, W) float32 in [-1, 1], numpy or Tensor; `z`: numpy (N, *noise_shape);
    `masks`: D's dropout masks, streams.dropout_masks(..., self.dropout_shapes,
    self.dropout_calls) (D runs on the real images, on the fake ones, then on the fake ones
    after its update; once with `supervised`); default: drawn from seed 0, epoch 0 and the
    number of steps this TrainStep took. Each is assigned to its layer's mask inside the
    step, before the call it is for (ms_gan/models/dropout.py).
    `labels`: int (N,) classes, HIDDEN where unseen, for a model with a class head (`loss`
    "sgan": ms_gan.losses.LOSSES). `supervised`: D alone learns the classes of the labelled
    images, a plain classifier (the baseline of semi-supervised training); it returns
    run_folder.CLASSIFIER_STATS. `optimizer(params, lr=, betas=)` builds each network's
    optimizer: mint.optim.Adam, PyTorch's Adam (nn.Adam puts epsilon elsewhere and drifts:
    docs/framework_differences.md#adam-epsilon), here as ms_gan.native.adam.Adam: the same
    bits, its step one native kernel (docs/native.md#adam). `mode` "jit" compiles the step with
    ms.jit, "pynative" runs it eagerly. `data_parallel`: this process is one worker of an
    msrun job (mindspore.communication initialised); each network's gradients are averaged
    across the workers (nn.DistributedGradReducer) before its optimizer step. The
    arguments are the PyTorch twin's, in its order.

    G's forward runs once, under mindspore.vjp, which keeps it for the G step: D's loss
    takes `fake` as a plain input (no gradient into G: PyTorch's fake.detach()); G's loss
    is differentiated w.r.t. `fake` only, through the updated D, and that gradient goes
    back into G's weights through the same forward. So G's BatchNorm statistics move
    once a step, as in PyTorch; the tutorial's way (run G(z) again for the G step) moves
    them twice, and measured no faster (docs/bench_cpu.md#history).
    """

    def __init__(self, generator, discriminator, lr=2e-4, beta1=0.5, loss="bce", supervised=False,
                 optimizer=Adam, mode="jit", data_parallel=False):
        if mode not in ("jit", "pynative"):
            raise ValueError(f"mode must be 'jit' or 'pynative', not {mode!r}")
        self.gan = GAN(generator, discriminator, lr, beta1, optimizer)
        # the jit step's caller sleeps while the graph runs; a PyNative step is op by op
        self.waiting = waiting_without_spinning if mode == "jit" else contextlib.nullcontext
        self.generator, self.discriminator = generator, discriminator
        self.optimizer_g, self.optimizer_d = self.gan.optimizer_g, self.gan.optimizer_d
        self.stats = run_folder.CLASSIFIER_STATS if supervised else run_folder.STATS
        self.steps_taken = 0
        dropout = self._dropout_layers(generator, discriminator)
        self.dropout_shapes = [(layer.p, layer.channels) for layer in dropout]
        self.dropout_calls = 1 if supervised else 3
        mask_params = tuple(layer.mask for layer in dropout)
        generator.set_train(True)
        discriminator.set_train(True)
        g_weights = generator.trainable_params()
        optimizer_g, optimizer_d = self.optimizer_g, self.optimizer_d
        # ms.jit reads functions from locals, not from a NamedTuple's attributes.
        d_loss, g_loss, probability, class_loss = (LOSSES[loss].discriminator_loss, LOSSES[loss].generator_loss,
                                                   LOSSES[loss].probability, LOSSES[loss].classifier_loss)

        def use_masks(masks, call):
            for i, mask in enumerate(mask_params):
                ops.assign(mask, masks[call * len(mask_params) + i])

        def d_objective(real, fake, labels, masks):
            use_masks(masks, 0)
            d_real = discriminator(real)
            use_masks(masks, 1)
            d_fake = discriminator(fake)
            _, _, loss = d_loss(d_real, d_fake, labels)
            return loss, probability(d_real).mean(), probability(d_fake).mean()

        def g_objective(fake, masks):
            use_masks(masks, 2)
            d_fake = discriminator(fake)
            return g_loss(d_fake), probability(d_fake).mean()

        def classifier_objective(real, labels, masks):
            use_masks(masks, 0)
            return class_loss(discriminator(real), labels)

        d_grad = ms.value_and_grad(d_objective, None, discriminator.trainable_params(), has_aux=True)
        g_grad = ms.value_and_grad(g_objective, 0, None, has_aux=True)   # w.r.t. fake
        classifier_grad = ms.value_and_grad(classifier_objective, None, discriminator.trainable_params())

        g_backward = _statistics_kept(generator) if mode == "pynative" else _vjp_weights
        reduce_d, reduce_g = _unreduced, _unreduced
        if data_parallel:
            reduce_d = nn.DistributedGradReducer(discriminator.trainable_params(), mean=True)
            reduce_g = nn.DistributedGradReducer(g_weights, mean=True)

        def step(real, z, labels, masks):
            fake, g_vjp = ms.vjp(generator, z, weights=g_weights)
            (loss_d, d_x, d_g_z1), d_grads = d_grad(real, fake, labels, masks)
            optimizer_d(reduce_d(d_grads))
            (loss_g, d_g_z2), fake_grad = g_grad(fake, masks)
            optimizer_g(reduce_g(g_backward(g_vjp, fake_grad)))
            return loss_d, loss_g, d_x, d_g_z1, d_g_z2

        def classifier_step(real, z, labels, masks):   # D alone on the labelled images; z unused
            loss, grads = classifier_grad(real, labels, masks)
            optimizer_d(reduce_d(grads))
            return (loss,)

        step = classifier_step if supervised else step
        self._step = ms.jit(step) if mode == "jit" else step

    @staticmethod
    def _dropout_layers(generator, discriminator):
        """D's dropout layers that drop something; G's may not (no step gives it masks)."""
        layers = ms_gan.models.dropout_layers(generator) + ms_gan.models.dropout_layers(discriminator)
        if active_dropout(generator) or not all(isinstance(layer, Dropout2d) for _, layer in layers):
            raise ValueError("dropout in G, or a dropout layer other than ms_gan.models.dropout.Dropout2d "
                             "in D: no step gives it masks, so runs would not repeat")
        return active_dropout(discriminator)

    def __call__(self, real, z, labels=None, masks=None):
        real = real if isinstance(real, ms.Tensor) else ms.Tensor(np.asarray(real, np.float32))
        if labels is not None and not isinstance(labels, ms.Tensor):
            labels = ms.Tensor(np.asarray(labels, np.int32))
        if masks is None:
            masks = streams.dropout_masks(0, 0, self.steps_taken, real.shape[0], self.dropout_shapes,
                                           self.dropout_calls)
        mask_params = [layer.mask for layer in active_dropout(self.discriminator)]
        for param, mask in zip(mask_params, masks):    # a new batch size: the masks' new shape
            if param.shape != mask.shape:
                param.set_data(ms.Tensor(mask))
        # mutable: ms.jit takes a plain tuple of tensors as a constant and compiles anew for
        # each new value (docs/framework_differences.md#dropout); no masks: no tuple to vary.
        masks = ms.mutable(tuple(ms.Tensor(m) for m in masks)) if masks else ()
        with self.waiting():
            out = self._step(real, ms.Tensor(z), labels, masks)
            stats = dict(zip(self.stats, (float(x.asnumpy()) for x in out)))
        self.steps_taken += 1
        return stats


class Backend:
    """What the shared training loop (parity/common/loop.py) needs of MindSpore."""
    framework = ms_gan.checkpoint.FORMAT.framework.key
    suffix = ms_gan.checkpoint.FORMAT.framework.suffix
    checkpoint = ms_gan.checkpoint.FORMAT
    generate = staticmethod(generate)

    def __init__(self, args):
        use_device(args.device)
        self.mode = args.mode or "jit"
        self.workers = args.workers
        self.world = World()

    def start_world(self):
        """Join the msrun job this process is a worker of, if it is one (msrun's scheduler
        process, which runs this script too, serves the job inside init() and ends there)."""
        if launcher() == "msrun":      # joining waits msrun's --cluster_time_out (MS_TOPO_TIMEOUT)
            communication.init()
            self.world = World(communication.get_rank(), communication.get_group_size())
        return self.world

    def mean_across_workers(self, stats):
        """{name: float} averaged over the workers (as they are in a one-process run)."""
        if self.world.size == 1:
            return stats
        total = ops.AllReduce()(ms.Tensor(np.array(list(stats.values()), np.float32))).asnumpy()
        return dict(zip(stats, (float(x) / self.world.size for x in total)))

    def train_step(self, config):
        model = get_config(config["model"])
        generator, discriminator = ms_gan.models.build(model.name, config["seed"], config.get("dropout", True))
        return TrainStep(generator, discriminator, config["lr"], config["beta1"], model.loss,
                         config.get("supervised", False), mode=self.mode, data_parallel=self.world.size > 1)

    def image_batches(self, data, config, epoch):
        channels, image_size, _ = get_config(config["model"]).image_shape
        dataset = create_pipeline(data, image_size, channels, config["batch_size"], seed=config["seed"], epoch=epoch,
                                 num_workers=self.workers, world=self.world)
        return dataset.get_dataset_size(), ((real, None) for real, in dataset.create_tuple_iterator(num_epochs=1))

    def labelled_batches(self, paths, shown, config, batch_size):
        channels, image_size, _ = get_config(config["model"]).image_shape
        dataset = create_labelled_pipeline(paths, shown, image_size, channels, batch_size, self.workers)
        return dataset.get_dataset_size(), dataset.create_tuple_iterator(num_epochs=1)


def train(args):
    return loop.train(args, Backend(args))
