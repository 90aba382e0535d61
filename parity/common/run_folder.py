"""A run's output folder (`--out`), its per-step metrics and its progress bar.

    checkpoints/epoch_001.ckpt (.pt)   G, D, both Adam states, the epoch and the config,
                                       after every epoch (parity/common/checkpoints.py)
    samples/epoch_001.png              G on the run's fixed noise, after every epoch
    metrics.jsonl                      one line per step: losses, D(x), D(G(z)); with --fid-every,
                                       one line per scored epoch: its FID (parity/common/epoch_fid.py)
    losses.png                         both losses over the iterations
    fid.png, fid_stats/                with --fid-every: the FID per epoch, the real images' statistics
    progress.gif                       the sample grids, one frame per epoch
Every file is written whole to a temporary name and then renamed (files.atomic_path).
"""
import json
import math
import re
from pathlib import Path

from .files import write_text_atomic
from .pictures import save_gif, save_image_grid, save_loss_plot
from .run_settings import check_resumable

STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")   # what a train step returns
CLASSIFIER_STATS = ("loss_class",)                        # ... and one of D alone (--supervised)


def plural(count, noun):
    """'1 epoch', '2 epochs'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or infinite: the run stops, the last checkpoint stays."""


class Run:
    """A run's output folder, its per-step metrics and its progress bar.

    Opening it refuses an --out that is a file, or one that holds another run's files unless
    the run resumes or `force` starts it over; `start` makes the folder, before any step.
    Only a `writer` (a one-process run, or rank 0 of a data-parallel job) writes or prints
    anything; another worker's Run keeps the metrics, and stops on a NaN loss, alike."""

    def __init__(self, out, suffix, log_every=50, resume=False, force=False, writer=True):
        self.out = Path(out)
        self.writer = writer
        self.suffix = suffix              # checkpoint suffix of the framework: .ckpt or .pt
        self.log_every = log_every
        self.force = force
        self.records = []
        self.bar = None
        if self.out.exists() and not self.out.is_dir():
            raise NotADirectoryError(f"--out {self.out} is a file, not a folder")
        previous = self.previous_files()
        if previous and not (resume or force):
            raise FileExistsError(
                f"--out {self.out} holds a run ({len(previous)} files, e.g. {previous[-1]}); "
                f"continue it with --resume, start it over with --force, or choose another --out")

    # layout
    @property
    def metrics_path(self):
        return self.out / "metrics.jsonl"

    def checkpoint_path(self, epoch):
        return self.out / "checkpoints" / f"epoch_{epoch:03d}{self.suffix}"

    def sample_path(self, epoch):
        return self.out / "samples" / f"epoch_{epoch:03d}.png"

    def previous_files(self):
        """The files of this layout that a run (of either framework) left in the folder."""
        found = [self.out / name for name in ("metrics.jsonl", "losses.png", "fid.png", "progress.gif")]
        found = [path for path in found if path.exists()]
        found += sorted((self.out / "samples").glob("epoch_*.png"))
        found += sorted((self.out / "checkpoints").glob("epoch_*"))    # last: the latest is named
        return found

    def last_checkpoint(self):
        """The checkpoint of the highest epoch in the folder, or None."""
        found = {}
        for path in (self.out / "checkpoints").glob(f"epoch_*{self.suffix}"):
            match = re.fullmatch(rf"epoch_(\d+){re.escape(self.suffix)}", path.name)
            if match:
                found[int(match[1])] = path
        return found[max(found)] if found else None

    def resume(self, load, config):
        """Load the last checkpoint with `load(path) -> (epochs done, its config)`, after
        checking it was made with the same settings; returns the epochs done."""
        path = self.last_checkpoint()
        if path is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {self.out / 'checkpoints'}")
        start, stored = load(path)
        check_resumable(stored, config, path)
        if self.writer:
            print(f"resuming from {path} (epoch {start} done)")
        return start

    def finished(self, epochs_done, epochs):
        """Whether a resumed run has no epoch left to train (it says so)."""
        if epochs_done < epochs:
            return False
        if self.writer:
            print(f"run already finished ({plural(epochs_done, 'epoch')}) in {self.out}; "
                  f"a larger --epochs trains it on")
        return True

    # metrics and progress
    def start(self, epochs_done, epochs, steps_per_epoch):
        """Keep the metrics of the epochs already done (on resume) and open the bar."""
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        if not self.writer:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        if not epochs_done and self.force:    # here, so that a run refused on its data deletes nothing
            for path in self.previous_files():
                path.unlink()
        if epochs_done and self.metrics_path.exists():
            lines = self.metrics_path.read_text().splitlines()
            self.records = [r for r in map(json.loads, lines) if r["epoch"] <= epochs_done]
        from tqdm import tqdm
        self.bar = tqdm(total=epochs * steps_per_epoch, initial=epochs_done * steps_per_epoch,
                        unit="step", dynamic_ncols=True)

    def log_step(self, epoch, step, stats):
        """Record step `step` (0-based) of epoch `epoch` (0-based); stop on a NaN loss."""
        record = {"epoch": epoch + 1, "step": step + 1,
                  "iteration": epoch * self.steps_per_epoch + step + 1,
                  **{k: float(v) for k, v in stats.items()}}
        bad = [k for k in stats if k.startswith("loss") and not math.isfinite(record[k])]
        if bad:
            self.close()
            self.save_metrics()       # the good steps of this epoch too, to see what led there
            last = self.last_checkpoint()
            raise NonFiniteLoss(
                f"{' and '.join(bad)} {'are' if len(bad) > 1 else 'is'} "
                f"{', '.join(str(record[k]) for k in bad)} at epoch {epoch + 1}, step {step + 1} "
                f"(iteration {record['iteration']}); the last good checkpoint is "
                f"{last if last else 'none (no epoch finished)'}, left as it was")
        self.records.append(record)
        if not self.writer:
            return
        self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)
        losses = " ".join(f"{k} {record[k]:.4f}" for k in stats if k.startswith("loss"))
        self.bar.set_postfix_str(f"step {step + 1}/{self.steps_per_epoch} {losses}", refresh=False)
        self.bar.update()
        if self.log_every and (step % self.log_every == 0 or step + 1 == self.steps_per_epoch):
            where = f"[{epoch + 1:2d}/{self.epochs}][{step + 1:3d}/{self.steps_per_epoch}]"
            if "loss_g" in record:      # the tutorial's line
                self.bar.write(f"{where} Loss_D:{record['loss_d']:7.4f} Loss_G:{record['loss_g']:7.4f} "
                               f"D(x):{record['d_x']:.4f} D(G(z)):{record['d_g_z1']:.4f}/{record['d_g_z2']:.4f}")
            else:
                self.bar.write(f"{where} {losses}")

    def save_metrics(self):
        if not self.writer:
            return
        write_text_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in self.records))

    def save_samples(self, epoch, images):
        """After epoch `epoch` (1-based): its sample grid and the metrics so far."""
        save_image_grid(images, self.sample_path(epoch))
        self.save_metrics()

    def save_plots(self, epoch):
        """losses.png and progress.gif, up to epoch `epoch` (1-based)."""
        steps = [r for r in self.records if "step" in r]     # not --fid-every's records
        if steps:
            save_loss_plot(steps, self.out / "losses.png")
        frames = [self.sample_path(e) for e in range(1, epoch + 1) if self.sample_path(e).exists()]
        if frames:
            save_gif(frames, self.out / "progress.gif")
        if self.bar is not None:
            # The bar's rate and time left count steps; the epoch's end (samples, checkpoint,
            # plots, --fid-every's scoring) is other work: leave its time out of the rate.
            self.bar.unpause()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
