"""python -m ms_gan train|generate|evaluate|export ...: see `python -m ms_gan COMMAND --help`."""
import sys

from parity.common.command_line import build_parser, run_command
from parity.common.devices import DEVICES
from parity.common.environment import run_with_jemalloc


def main(argv=None):
    if argv is None:        # the process's own command line, not a call from Python
        run_with_jemalloc()
    args = build_parser("python -m ms_gan", DEVICES, "CPU").parse_args(argv)
    if args.command == "train":
        from ms_gan.train import train as command
    elif args.command == "generate":
        from ms_gan.generate import main as command
    elif args.command == "export":
        from ms_gan.export import main as command
    else:
        from ms_gan.evaluate import main as command
    return run_command(command, args)


if __name__ == "__main__":
    sys.exit(main())
