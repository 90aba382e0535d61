"""What `python -m ms_gan evaluate` and `python -m torch_gan evaluate` share: the class a
model with a class head predicts, the accuracy, and how it is reported."""

import numpy as np

from .configs import MODELS
from .files import write_json_atomic


def predicted_classes(logits, num_classes):
    """The class of each row of D's class logits, among the real classes only: the extra
    class ("generated", index num_classes) is never a digit's answer."""
    return np.argmax(np.asarray(logits)[:, :num_classes], axis=1)


def accuracy(predicted, labels, num_classes):
    """{"accuracy", "correct", "images", "per_class": {class: accuracy}}."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    per_class = {int(c): float(np.mean(predicted[labels == c] == c)) for c in range(num_classes)
                 if np.any(labels == c)}
    correct = int(np.sum(predicted == labels))
    return {"accuracy": correct / len(labels), "correct": correct, "images": len(labels), "per_class": per_class}


def stack(logits, labels):
    """One array each of the batches' logits and labels."""
    if not logits:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return np.concatenate(logits), np.concatenate(labels)


def classifier_config(path, model):
    """The ModelConfig of `model`, which checkpoint `path` holds; refused unless it has a class head."""
    if not MODELS[model].num_classes:
        classified = sorted(name for name, config in MODELS.items() if config.num_classes)
        raise ValueError(f"{path} is a {model} checkpoint, which has no class head to evaluate "
                         f"(evaluate is for {', '.join(classified)})")
    return MODELS[model]


def report(args, model, logits, labels):
    """Print the accuracy of the class head of `model` (a ModelConfig) on the images of
    `args.data`, and write it to `args.json` if given; returns the exit status."""
    if len(labels) == 0:
        raise ValueError(f"no readable image in {args.data}")
    result = accuracy(predicted_classes(logits, model.num_classes), labels, model.num_classes)
    result.update(model=model.name, checkpoint=str(args.checkpoint), data=str(args.data))
    print(f"accuracy {result['accuracy']:.4f} ({result['correct']:,} of {result['images']:,} images in {args.data})")
    print("per class: " + "  ".join(f"{c}: {a:.3f}" for c, a in result["per_class"].items()))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
