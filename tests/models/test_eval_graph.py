"""ms_gan.generate.generate runs G's eval forward as one ms.jit graph (eval_graph): its images
must be the PyNative forward's bit for bit, for every model, and follow G's parameters and
BatchNorm statistics as they change (a train step, a checkpoint loaded into the same cells)."""
import mindspore as ms
import numpy as np
import pytest

import ms_gan.models
from ms_gan.generate import eval_graph, generate
from ms_gan.train import TrainStep
from parity.common.configs import MODELS, get_config
from parity.common.streams import sample_noise

SLOW_MODELS = {"cnn_gan", "dcgan", "sgan"}   # convolutional generators: seconds each


def pynative_images(generator, noise):
    generator.set_train(False)
    images = generator(ms.Tensor(noise)).asnumpy()
    generator.set_train(True)
    return images


@pytest.mark.parametrize("model", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_MODELS else m
                                   for m in sorted(MODELS)])
def test_generate_is_pynatives_forward_bit_for_bit(model):
    generator, _ = ms_gan.models.build(model, seed=0)
    generator.set_train(True)
    noise = sample_noise(3, 8, get_config(model).noise_shape)
    images = generate(generator, noise)
    assert generator.training, "generate leaves the training mode as it found it"
    np.testing.assert_array_equal(images, pynative_images(generator, noise))
    assert images.shape == (8, *get_config(model).image_shape)
    assert eval_graph(generator) is eval_graph(generator), "one graph a generator, compiled once"


@pytest.mark.parametrize("mode", ["jit", "pynative"])   # PyNative's step puts G's BatchNorm statistics back with set_data
def test_generate_follows_the_parameters_and_statistics_as_they_change(mode):
    generator, discriminator = ms_gan.models.build("gan_bn", seed=0)
    noise = sample_noise(3, 16, get_config("gan_bn").noise_shape)
    before = generate(generator, noise)

    rng = np.random.default_rng(0)
    step = TrainStep(generator, discriminator, loss=get_config("gan_bn").loss, mode=mode)
    config = get_config("gan_bn")
    step(rng.uniform(-1, 1, (32, *config.image_shape)).astype(np.float32),
         rng.standard_normal((32, *config.noise_shape)).astype(np.float32))
    after_step = generate(generator, noise)
    assert not np.array_equal(after_step, before)
    np.testing.assert_array_equal(after_step, pynative_images(generator, noise))

    other, _ = ms_gan.models.build("gan_bn", seed=1)
    mine = list(generator.get_parameters())      # renamed by the train step: "generator.model.0.weight"
    not_loaded, _ = ms.load_param_into_net(generator, {p.name: ms.Parameter(q.data.copy(), name=p.name)
                                                       for p, q in zip(mine, other.get_parameters())})
    assert not not_loaded
    loaded = generate(generator, noise)
    np.testing.assert_array_equal(loaded, pynative_images(other, noise))
