"""Every model's MindSpore file and its PyTorch twin define the same public classes and
the same parameter paths; and a pair that is not twins is caught."""
import pytest

from helpers.twins import public_classes, twin_differences
from parity.common.configs import MODELS, ModelConfig


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_files_are_twins(name):
    assert twin_differences(MODELS[name]) == []


def test_classes_a_module_imports_are_not_its_own():
    import ms_gan.models.dcgan
    classes = public_classes(ms_gan.models.dcgan)
    assert {"Generator", "Discriminator"} <= classes and "Cell" not in classes


def test_files_that_are_not_twins_are_named():
    """gan's MindSpore networks against gan_bn's PyTorch ones: other layers, other names."""
    crossed = ModelConfig(**{**vars(MODELS["gan"]), "name": "gan", "torch_module": "torch_gan.models.gan_bn"})
    problems = twin_differences(crossed)
    assert [p.split(":")[0] for p in problems] == ["G parameters", "G trainable order", "D parameters",
                                                  "D trainable order"], problems
    assert "'main.0.weight'" in problems[0] and "'model.3.running_mean'" in problems[0]
