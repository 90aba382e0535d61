"""Numeric command-line values, checked at parsing by every command.

A value out of range raises argparse.ArgumentTypeError, which argparse prints as one line,
`error: argument --batch-size: must be an integer >= 1, not 0`, exiting with status 2
before anything is created.
"""
import argparse
import math
import sys
from pathlib import Path

from . import devices


def bounded(kind, low=None, *, above=None, below=None):
    """An argparse `type`: a finite `kind` (int or float) with low <= value and
    above < value < below, the bounds that are given; the error says what is allowed."""
    what = "an integer" if kind is int else "a number"
    limits = [f"{sign} {bound}" for sign, bound in ((">=", low), (">", above), ("<", below))
              if bound is not None]
    allowed = f"{what} {' and '.join(limits)}".strip()

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (value is None or not math.isfinite(value) or (low is not None and value < low)
                or (above is not None and value <= above) or (below is not None and value >= below)):
            raise argparse.ArgumentTypeError(f"must be {allowed}, not {text}")
        return value
    return parse


POSITIVE_INT = bounded(int, 1)
COUNT = bounded(int, 0)                       # 0 allowed: workers, "never" for --log-every
SEED = bounded(int, 0)                        # numpy's seeds are non-negative
LEARNING_RATE = bounded(float, above=0)
BETA = bounded(float, 0, below=1)             # Adam's beta1
FID_IMAGES = bounded(int, 2)                  # a covariance needs two images


def SHAPE(text):
    """An argparse `type`: a tensor shape as comma-separated positive integers ("4,3,32,32")."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"must be positive integers separated by commas, e.g. 2,3,32,32, not {text}")
    return shape


def _device(text):
    try:
        return devices.device_name(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {devices.ALLOWED}, not {text}") from None


DEVICE = _device                              # --device of every command: parity.common.devices


def output_files(parser, *flags):
    """Mark the options `flags` (or positional arguments, by name) of `parser` as output
    files: run_command checks each one given before the command runs
    (files.check_output_file); `--force` (added if the command has none) lets an existing
    file be replaced."""
    given = [(action.option_strings[0] if action.option_strings else action.dest.upper(), action.dest)
             for action in parser._actions if set(action.option_strings) & set(flags) or action.dest in flags]
    if given and not any("--force" in action.option_strings for action in parser._actions):
        parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.set_defaults(output_files=tuple(given))


CONSOLE_SCRIPTS = ("ms-gan", "torch-gan", "gan-parity")     # pyproject.toml's [project.scripts]


def program(default):
    """The name usage lines show: the console script the user ran (`ms-gan`), else
    `default` (`python -m ms_gan`)."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name in CONSOLE_SCRIPTS else default
