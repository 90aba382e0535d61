"""`python -m parity digit-classifier --out PATH`: train the digit classifier of the digit score.

A small CNN (parity.common.fid.DigitClassifier, whose numpy forward pass both
frameworks' trainers run) trained in PyTorch on the 4,000 training digits of the embedded
split (datasets.embedded_digits_split; its 1,000 test digits, 100 of each class, are held
out and give the accuracy), with Adam, cross-entropy, the weights drawn from --seed and the
digits visited in the order datasets.epoch_order gives for --seed. Writes PATH (.npz):
float32 weights under the names of the PyTorch model, and what the run measured.
The package ships one as parity/common/digit_classifier.npz (docs/fid.md).
"""
import os
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from parity.common import fid
from parity.common.datasets import epoch_order
from parity.common.files import atomic_path

BATCH_SIZE = 64
LEARNING_RATE = 1e-3


def build():
    """The PyTorch twin of fid.DigitClassifier, its layers named as the .npz's arrays."""
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 16, 3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(16, 32, 3, padding=1), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(), fc1=nn.Linear(32 * 7 * 7, 64), relu3=nn.ReLU(), fc2=nn.Linear(64, fid.DIGIT_CLASSES)))


def load(weights):
    """The PyTorch model with `weights` ({name: array}, or a .npz of them)."""
    if isinstance(weights, (str, Path)):
        with np.load(weights) as data:
            weights = {k: data[k] for k in data.files}
    model = build()
    model.load_state_dict({k: torch.from_numpy(np.asarray(weights[k], np.float32)) for k in model.state_dict()})
    return model.eval()


def train(images, labels, seed, epochs):
    """The model trained on float32 (N, 1, 28, 28) `images` and their `labels`."""
    torch.manual_seed(seed)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    images, labels = torch.from_numpy(images), torch.from_numpy(labels)
    for epoch in range(epochs):
        order = torch.from_numpy(epoch_order(len(labels), seed, epoch))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def main(args):
    out = Path(args.out)      # checked before, as every output file (parity.common.files.check_output_file)
    train_folder, test_folder = fid.digit_split()
    train_images, train_labels = fid.load_digits(train_folder)
    test_images, test_labels = fid.load_digits(test_folder)
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    model = train(train_images, train_labels, args.seed, args.epochs)
    seconds, load_after = time.perf_counter() - start, os.getloadavg()[0]
    weights = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    accuracy = fid.DigitClassifier(weights).accuracy(test_images, test_labels)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **weights, seed=args.seed, epochs=args.epochs, test_accuracy=accuracy,
                                test_images=len(test_labels), train_images=len(train_labels),
                                train_seconds=seconds, load_average=[load_before, load_after],
                                torch_threads=torch.get_num_threads(), torch_version=torch.__version__)
    print(f"wrote {out}: test accuracy {accuracy:.4f} on {len(test_labels):,} held-out digits, "
          f"{args.epochs} epochs on {len(train_labels):,} in {seconds:.1f} s "
          f"(seed {args.seed}, {torch.get_num_threads()} threads, load average {load_before:.2f} -> {load_after:.2f})")
    return 0
