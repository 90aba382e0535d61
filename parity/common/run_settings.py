"""A training run's settings: the defaults, the model, what --resume takes from the run it
continues and refuses to change, and the config stored in every checkpoint."""
from pathlib import Path

from .checkpoints import config_model
from .configs import MODELS

# With --data: the faces tutorial, its num_epochs and batch_size. On the 5,000 embedded
# digits: seed 004's CNN GAN at batch 32, which draws digit strokes after 2 epochs (314
# steps); the faces DCGAN there lets D win for good in about half the seeds (measured,
# PyTorch twin: D(G(z)) 0.000 after 2 epochs for 3 of 6 seeds), and batch 128 lets it win
# (D(G(z)) 0.003 after 10 epochs, grey samples).
DEFAULTS = {"embedded": {"model": "cnn_gan", "epochs": 2, "batch_size": 32},
            "data": {"model": "dcgan", "epochs": 10, "batch_size": 128}}
RUN_DEFAULTS = {"lr": 2e-4, "beta1": 0.5, "seed": 0}      # of every run
FID_N = 1000                 # --fid-n's default: images --fid-every scores
# The settings a resumed run must keep: they change what a run computes.
RESUME_KEYS = ("model", "data", "batch_size", "lr", "beta1", "seed", "labels", "supervised", "dropout")


def resolve_data(data):
    """The image folder of a run: --data, or the embedded digits (written once)."""
    if data is None:
        from .datasets import embedded_digits
        return embedded_digits()
    return Path(data)


def train_model(args, run, stored_config):
    """The model a run trains: on --resume, the resumed run's (its last checkpoint's config,
    which `stored_config(path)` reads; a --model other than it is refused); otherwise
    --model, or the default of the data."""
    last = run.last_checkpoint() if args.resume else None
    resumed = config_model(last, stored_config(last), args.model) if last is not None else None
    return resumed or args.model or DEFAULTS["embedded" if args.data is None else "data"]["model"]


def take_resumed_settings(args, run, stored_config):
    """On --resume, fill each setting of `args` the command line did not give from the run's
    last checkpoint (`stored_config(path)` reads its config), so that `--resume` alone
    continues the run; a given one stays, and check_resumable refuses it if it differs."""
    last = run.last_checkpoint() if args.resume else None
    if last is None:
        return
    stored = stored_config(last)
    for key in ("data", "epochs", "batch_size", "lr", "beta1", "seed", "labels"):
        if getattr(args, key) is None and stored.get(key) is not None:
            setattr(args, key, stored[key])
    args.supervised = args.supervised or bool(stored.get("supervised"))
    args.no_dropout = args.no_dropout or stored.get("dropout") is False


def run_config(args, framework, data, model):
    """The run's settings as a JSON-ready dict, stored in every checkpoint."""
    defaults = DEFAULTS["embedded" if args.data is None else "data"]
    config = {"framework": framework, "model": model, "data": str(Path(data).resolve()),
              "epochs": defaults["epochs"] if args.epochs is None else args.epochs,
              "batch_size": defaults["batch_size"] if args.batch_size is None else args.batch_size,
              **{key: RUN_DEFAULTS[key] if getattr(args, key) is None else getattr(args, key) for key in RUN_DEFAULTS}}
    if args.no_dropout:
        config["dropout"] = False       # absent: on, as in checkpoints made before the flag
    if MODELS[model].num_classes:
        config.update(labels=args.labels, supervised=args.supervised)
    elif args.labels is not None or args.supervised:
        raise ValueError(f"--labels and --supervised are for models with a class head; {model} has none")
    return config


def labelled_plan(data, config, paths=None):
    """(image paths, LabelledPlan) of a run of a model with a class head (`paths`: the
    folder's images to take, default all)."""
    from .datasets import LabelledPlan, choose_labelled, labelled_images
    paths, labels = labelled_images(data, MODELS[config["model"]].num_classes, paths)
    labelled = None if config["labels"] is None else choose_labelled(labels, config["labels"], config["seed"])
    return paths, LabelledPlan(labels, config["batch_size"], config["seed"], labelled, config["supervised"])


def check_resumable(stored, config, path):
    """Raise unless a run with `config` may continue from a checkpoint made with `stored`."""
    changed = [f"--{k.replace('_', '-')} {stored.get(k)!r} -> {config.get(k)!r}"
               for k in RESUME_KEYS if stored.get(k) != config.get(k)]
    if changed:
        raise ValueError(f"cannot resume from {path}: the run was made with other settings "
                         f"({'; '.join(changed)}); give the same ones, or start afresh without --resume")
