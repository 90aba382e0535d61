"""The training loop of both trainers, written once.

`train(args, backend)` runs a whole training run: settings, resume, epochs, the
per-step log and NaN stop, sample grids, checkpoints and plots (the run's folder is
parity/common/run_folder.py's `Run`, its settings parity/common/run_settings.py, its noise
parity/common/streams.py). The data folder is listed once a run, and each epoch's
pipeline is built once, when the epoch begins. What is framework-specific comes from `backend`
(ms_gan/train.py and torch_gan/train.py each define one `Backend`):

    framework, suffix                      "mindspore" / ".ckpt", "torch" / ".pt"
    checkpoint                             the framework's checkpoint module: stored_config(path),
                                           save_training_checkpoint(path, step, epoch, config),
                                           load_training_checkpoint(path, step) -> (epoch, config)
    train_step(config)                     the models built from the config, in a TrainStep
    image_batches(images, config, epoch)   (steps, batches of (real, None)) of an epoch, images
                                           the readable image paths (datasets.readable_images)
    labelled_batches(paths, shown, config, batch_size)
                                           (steps, batches of (real, labels)), the plan's order
    generate(generator, noise)             numpy images of G in eval mode
    start_world()                          join the msrun/torchrun job this process is a worker
                                           of, if it is one: a distributed.World
    mean_across_workers(stats)             a step's {name: float} averaged over the workers

A step's real images are the backend's tensors; its noise and D's dropout masks are drawn
here, in numpy, from (seed, epoch, step), so both frameworks see the same values. In a data-parallel job
(parity/common/distributed.py) each worker computes its part of every step, the metrics
are the workers' mean, and rank 0 alone writes the run's folder (and, with --fid-every,
scores G: parity/common/epoch_fid.py).
"""
from . import distributed, epoch_fid, run_settings, streams
from .configs import get_config
from .datasets import readable_images, scan_images
from .pictures import SAMPLE_COUNT
from .run_folder import Run, plural


def epoch_batches(backend, data, images, config):
    """epoch -> (steps, batches) of the run over `images` (the readable image files of the
    folder `data`): in the labelled plan's order for a model with a class head, else the
    data pipeline's seeded order."""
    if not get_config(config["model"]).num_classes:
        return lambda epoch: backend.image_batches(images, config, epoch)
    paths, plan = run_settings.labelled_plan(data, config, images)

    def labelled(epoch):
        indices, shown = plan.epoch(epoch)
        return backend.labelled_batches([paths[i] for i in indices], shown, config, plan.step_size)
    return labelled


def train(args, backend):
    """Train as `args` (the trainers' command line) says; returns the exit status."""
    world = backend.start_world()       # first: msrun's scheduler process ends in it
    run = Run(args.out, backend.suffix, args.log_every, args.resume, args.force, writer=world.main)
    run_settings.take_resumed_settings(args, run, backend.checkpoint.stored_config)
    data = run_settings.resolve_data(args.data)
    config = run_settings.run_config(args, backend.framework, data,
                                     run_settings.train_model(args, run, backend.checkpoint.stored_config))
    model = get_config(config["model"])
    found = scan_images(data)           # the run's one listing of the folder
    images = readable_images(data, found)     # before any step: so no batch is ever short of an image
    if world.size > 1:
        distributed.check_split(config["batch_size"], len(images), world, bool(model.num_classes))
    scorer = epoch_fid.epoch_scorer(args, config, data, found, run.out)     # --fid-every, or None
    step = backend.train_step(config)
    start = 0
    if args.resume:
        start = run.resume(lambda path: backend.checkpoint.load_training_checkpoint(path, step), config)
    if run.finished(start, config["epochs"]):
        return 0
    fixed_noise = streams.sample_noise(config["seed"], SAMPLE_COUNT, model.noise_shape)
    batches_of = epoch_batches(backend, data, images, config)

    steps, batches = batches_of(start)  # built once: its step count also sizes the progress bar
    run.start(start, config["epochs"], steps)
    try:
        for epoch in range(start, config["epochs"]):
            if epoch > start:
                steps, batches = batches_of(epoch)
            for i, (real, labels) in enumerate(batches):
                count = real.shape[0] * world.size          # the global batch's images
                part = distributed.part(count, world)
                z = streams.step_noise(config["seed"], epoch, i, count, model.noise_shape)
                masks = streams.dropout_masks(config["seed"], epoch, i, count, step.dropout_shapes, step.dropout_calls)
                stats = step(real, z[part], labels, [mask[part] for mask in masks])
                run.log_step(epoch, i, backend.mean_across_workers(stats))
            if not world.main:
                continue
            if config.get("supervised"):
                run.save_metrics()      # G does not train
            else:
                if scorer:
                    scorer.after_epoch(epoch + 1, run, lambda noise: backend.generate(step.generator, noise))
                run.save_samples(epoch + 1, backend.generate(step.generator, fixed_noise))
            backend.checkpoint.save_training_checkpoint(run.checkpoint_path(epoch + 1), step, epoch + 1, config)
            run.save_plots(epoch + 1)
    finally:
        run.close()
    if world.main:
        print(f"done: {plural(config['epochs'], 'epoch')}; outputs in {run.out}"
              + (f" ({world.size} workers)" if world.size > 1 else ""))
    return 0
