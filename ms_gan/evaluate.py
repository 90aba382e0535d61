"""`python -m ms_gan evaluate`: the class accuracy of a model with a class head (sgan's D)
on a labelled image folder, folder/<class>/... (MNIST's test digits: data_scripts).

Twin: torch_gan/evaluate.py. D runs in eval mode (dropout off, BatchNorm's running
statistics); the predicted class is the best of the real classes (parity.common.class_accuracy).
"""
import mindspore as ms

from ms_gan.checkpoint import FORMAT
from ms_gan.data import create_labelled_pipeline
from ms_gan.device import use_device
from parity.common import class_accuracy
from parity.common.checkpoints import DISCRIMINATOR
from parity.common.datasets import labelled_images


def class_logits(discriminator, images):
    """D's class logits (numpy) for float32 images, in eval mode."""
    discriminator.set_train(False)
    return discriminator(ms.Tensor(images))[1].asnumpy()


def main(args):
    use_device(args.device)
    name, discriminator = FORMAT.load_network(args.checkpoint, DISCRIMINATOR, args.model)
    model = class_accuracy.classifier_config(args.checkpoint, name)
    channels, image_size, _ = model.image_shape
    paths, labels = labelled_images(args.data, model.num_classes)
    dataset = create_labelled_pipeline(paths, labels, image_size, channels, args.batch_size, args.workers)
    logits, seen = [], []
    for images, batch_labels in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        logits.append(class_logits(discriminator, images))
        seen.append(batch_labels)      # an unreadable image leaves its batch with its label
    return class_accuracy.report(args, model, *class_accuracy.stack(logits, seen))
