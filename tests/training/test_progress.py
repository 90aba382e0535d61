"""The progress bar's rate and time left count training steps only: an epoch's end (samples,
checkpoint, plots, scoring) is left out of them."""
import time

from parity.common import run_folder


def test_the_end_of_an_epoch_is_not_counted_as_steps(tmp_path):
    run = run_folder.Run(tmp_path / "run", ".ckpt", log_every=0)
    run.start(0, 2, 3)
    for step in range(3):
        run.log_step(0, step, {"loss_d": 0.7, "loss_g": 0.7})
    elapsed = run.bar.format_dict["elapsed"]
    time.sleep(0.5)                    # the epoch's end: samples, checkpoint, ...
    run.save_plots(1)
    assert run.bar.format_dict["elapsed"] - elapsed < 0.25
    run.close()
