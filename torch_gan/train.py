"""`python -m torch_gan train`: the PyTorch twin of ms_gan/train.py, step for step.

Each step: fake = G(z) once; a D step on D(real) and D(fake.detach()); then a G step on
D(fake) through the *updated* D, back into G through the same forward.
What a run writes, and the noise, are in parity/common/training.py.
"""
import torch

import torch_gan.models
from parity.common import training
from parity.common.configs import get_config
from torch_gan.checkpoint import load_training_checkpoint, save_training_checkpoint, stored_config
from torch_gan.data import create_labelled_loader, create_loader
from torch_gan.device import use_device
from torch_gan.generate import generate
from torch_gan.losses import LOSSES


class TrainStep:
    """One training step; `step(real, z, labels=None)` -> {name: float} of training.STATS.

    `real`: (N, C, H, W) float32 in [-1, 1], numpy or tensor; `z`: numpy (N, *noise_shape);
    `labels`: int (N,) classes, HIDDEN where unseen, for a model with a class head (`loss`
    "sgan": torch_gan.losses.LOSSES). `supervised`: D alone learns the classes of the
    labelled images, a plain classifier; it returns training.CLASSIFIER_STATS.
    `optimizer(params, lr=, betas=)` builds each network's optimizer (torch.optim.Adam)."""

    def __init__(self, generator, discriminator, lr=2e-4, beta1=0.5, device="cpu", loss="bce", supervised=False,
                 optimizer=torch.optim.Adam):
        self.device = torch.device(device)
        self.generator, self.discriminator = generator.to(self.device), discriminator.to(self.device)
        self.optimizer_g = optimizer(generator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizer_d = optimizer(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.losses, self.supervised = LOSSES[loss], supervised
        self.stats = training.CLASSIFIER_STATS if supervised else training.STATS
        generator.train()
        discriminator.train()

    def __call__(self, real, z, labels=None):
        real = torch.as_tensor(real, dtype=torch.float32).to(self.device)
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.int64).to(self.device)
        out = self.classifier_step(real, labels) if self.supervised else self.gan_step(real, z, labels)
        return dict(zip(self.stats, (float(x.item()) for x in out)))

    def gan_step(self, real, z, labels):
        losses = self.losses
        fake = self.generator(torch.from_numpy(z).to(self.device))

        self.optimizer_d.zero_grad()
        d_real, d_fake = self.discriminator(real), self.discriminator(fake.detach())
        _, _, loss_d = losses.discriminator_loss(d_real, d_fake, labels)
        loss_d.backward()
        self.optimizer_d.step()

        self.optimizer_g.zero_grad()
        d_fake_after = self.discriminator(fake)
        loss_g = losses.generator_loss(d_fake_after)
        loss_g.backward()
        self.optimizer_g.step()
        return (loss_d, loss_g, losses.probability(d_real).mean(), losses.probability(d_fake).mean(),
                losses.probability(d_fake_after).mean())

    def classifier_step(self, real, labels):
        """D alone on the labelled images."""
        self.optimizer_d.zero_grad()
        loss = self.losses.classifier_loss(self.discriminator(real), labels)
        loss.backward()
        self.optimizer_d.step()
        return (loss,)


def train(args):
    device = use_device(args.device)
    if args.mode:
        print(f"note: --mode {args.mode} is MindSpore's; PyTorch runs the step eagerly")
    data = training.resolve_data(args.data)
    run = training.Run(args.out, ".pt", args.log_every, args.resume, args.force)
    config = training.run_config(args, "torch", data, training.train_model(args, run, stored_config))
    model = get_config(config["model"])
    channels, image_size, _ = model.image_shape

    generator, discriminator = torch_gan.models.build(model.name, seed=args.seed)
    step = TrainStep(generator, discriminator, args.lr, args.beta1, device, model.loss,
                     config.get("supervised", False))
    start = run.resume(lambda path: load_training_checkpoint(path, step), config) if args.resume else 0
    if run.finished(start, config["epochs"]):
        return 0
    fixed_noise = training.sample_noise(args.seed, training.SAMPLE_COUNT, model.noise_shape)

    if model.num_classes:   # batches of (images, labels) in the plan's order
        paths, plan = training.labelled_plan(data, config)

        def loader(epoch):
            indices, shown = plan.epoch(epoch)
            return create_labelled_loader([paths[i] for i in indices], shown, image_size, channels,
                                          plan.step_size, args.workers)
    else:
        def loader(epoch):
            return create_loader(data, image_size, channels, config["batch_size"], seed=args.seed, epoch=epoch,
                                 num_workers=args.workers)

    run.start(start, config["epochs"], len(loader(start)))
    try:
        for epoch in range(start, config["epochs"]):
            for i, batch in enumerate(loader(epoch)):
                real, *labels = batch if model.num_classes else (batch,)
                z = training.step_noise(args.seed, epoch, i, real.shape[0], model.noise_shape)
                run.log_step(epoch, i, step(real, z, *labels))
            if config.get("supervised"):
                run.save_metrics()      # G does not train
            else:
                run.save_samples(epoch + 1, generate(generator, fixed_noise))
            save_training_checkpoint(run.checkpoint_path(epoch + 1), step, epoch + 1, config)
            run.save_plots(epoch + 1)
    finally:
        run.close()
    print(f"done: {training.plural(config['epochs'], 'epoch')}; outputs in {run.out}")
    return 0
