"""The one way common code and the studies start a `python -m PACKAGE ...` command of this
project in a subprocess: a MindSpore trainer that needs PyTorch's Inception (`parity fid`),
a study that trains both twins. tests/project/test_layout.py allows a subprocess of the project's
commands here only."""
import os
import subprocess
import sys


class SubcommandError(RuntimeError):
    """A command that exited with an error; the message ends with its last error line."""


def run_module(args, cwd=None, env=None, capture=True):
    """Run `python -m ARGS` with this interpreter and return its stdout ('' when not
    captured). `env` adds to this process's environment. With `capture` False its output
    goes to this process's console (a long training run shows its progress)."""
    command = [sys.executable, "-m", *map(str, args)]
    done = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=capture, text=True)
    if done.returncode:
        lines = (done.stderr or "").strip().splitlines() if capture else ["its error is above"]
        raise SubcommandError(f"python -m {' '.join(map(str, args[:2]))} failed: "
                              f"{lines[-1] if lines else f'exit status {done.returncode}'}")
    return done.stdout if capture else ""
