"""`train --fid-every N --fid-n M`: how good the run's G is, after every N epochs.

After each scored epoch G (eval mode) draws M images from a fixed noise of its own stream
(`streams.sample_noise(seed, M, shape, FID_STREAM)`: the same in both frameworks and
across resumes), and `fid.score_images` compares them with M images of the run's data
(a fixed choice of them, docs/fid.md): the digit score for 1-channel models, in this
process, numpy only; Inception FID for 3-channel ones, in a `python -m parity fid`
subprocess, so that a MindSpore trainer never imports torch. The real images are chosen
once a run, from the run's one listing of its folder; their statistics are cached in the
run's fid_stats/. Each score is one record of metrics.jsonl,
`{"epoch", "fid", "fid_kind", "fid_n", "fid_seconds"}` (+ "confident", "class_entropy" for
digits; it has no "step"), and fid.png plots them over the epochs.
"""
import time

import numpy as np

from . import fid, run_settings, streams
from .configs import get_config
from .pictures import save_line_plot

GENERATE_BATCH = 100        # G's images a call; eval mode, so the split changes nothing


def fid_kind(model):
    """The score of a model's images: digits for 1-channel models, Inception for 3-channel."""
    return fid.DIGIT if get_config(model).image_shape[0] == 1 else fid.INCEPTION


def epoch_scorer(args, config, data, paths, out):
    """The run's EpochScorer, or None without --fid-every; raises (one line) on settings it
    cannot score, before anything is trained or written. `paths`: the image files of the
    folder `data` (datasets.scan_images), the real images' candidates."""
    if args.fid_every is None:
        if args.fid_n is not None:
            raise ValueError("--fid-n is the number of images --fid-every scores; give --fid-every too")
        return None
    if config.get("supervised"):
        raise ValueError("--fid-every scores G, which --supervised does not train")
    n = run_settings.FID_N if args.fid_n is None else args.fid_n
    if n > len(paths):
        raise ValueError(f"--fid-n {n} is more than the {len(paths):,} images of {data}: "
                         f"give --fid-n {len(paths)} or less")
    return EpochScorer(args.fid_every, n, config, fid.FolderImages(data, n, "REAL", paths), out)


class EpochScorer:
    def __init__(self, every, n, config, real, out):
        self.every, self.n, self.real, self.out = every, n, real, out     # real: a fid.FolderImages
        self.kind = fid_kind(config["model"])
        self.noise = streams.sample_noise(config["seed"], n, get_config(config["model"]).noise_shape,
                                          streams.FID_STREAM)

    def after_epoch(self, epoch, run, generate):
        """Score epoch `epoch` (1-based) if it is due: G's images from `generate(noise)`;
        the record joins run.records (saved with the epoch's metrics) and fid.png."""
        if epoch % self.every:
            return
        began = time.perf_counter()
        images = [generate(self.noise[i:i + GENERATE_BATCH]) for i in range(0, self.n, GENERATE_BATCH)]
        result = fid.score_images(np.concatenate(images), self.real, self.kind, self.out / "fid_stats")
        record = {"epoch": epoch, "fid": result["fid"], "fid_kind": self.kind, "fid_n": self.n}
        if self.kind == fid.DIGIT:
            record.update(confident=result["fake_stats"]["confident"],
                          class_entropy=result["fake_stats"]["class_entropy_bits"])
        record["fid_seconds"] = round(time.perf_counter() - began, 3)
        run.records.append(record)
        save_fid_plot([r for r in run.records if "fid" in r], self.out / "fid.png")
        from tqdm import tqdm
        tqdm.write(f"epoch {epoch}: {describe(record)}; {record['fid_seconds']:.1f} s to score")


def describe(record):
    """'digit FID 41.2345 of 1,000 images, 87.1% confident, class entropy 3.201 bits'."""
    line = f"{'digit FID' if record['fid_kind'] == fid.DIGIT else 'FID'} {record['fid']:.4f} of {record['fid_n']:,} images"
    if "confident" in record:
        line += f", {record['confident']:.1%} confident, class entropy {record['class_entropy']:.3f} bits"
    return line


def save_fid_plot(records, path):
    """The score per epoch."""
    name = "digit FID" if records[-1]["fid_kind"] == fid.DIGIT else "FID (Inception)"
    save_line_plot(path, [([r["epoch"] for r in records], [r["fid"] for r in records], {"marker": "o"})],
                   f"{name} of {records[-1]['fid_n']:,} generated images against the data", "epoch", name)
