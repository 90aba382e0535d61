"""The twins mirror each other: every model's MindSpore file and its PyTorch twin define the
same public classes and the same parameter paths; every module of ms_gan/ has its twin in
torch_gan/ with the same public functions and classes, and each class the same public
methods, but for the differences declared below with their reasons; and twins that are not
are caught."""
import pytest

from helpers.twins import mirror_differences, public_classes, twin_differences
from parity.common.configs import MODELS, ModelConfig

# What ms_gan/ and torch_gan/ may have that the other has not (dotted path under both
# packages: its reason). A hook's two names (construct / forward, extend_repr / extra_repr)
# are one name here. An entry that no longer differs fails the test: delete it.
ALLOWED = {
    "models.layers": "MindSpore's fast layers, where its own differ from PyTorch's or are slow on CPU; "
                     "PyTorch's twins use torch.nn's (docs/native.md)",
    "native": "MindSpore's native CPU kernels (docs/native.md); PyTorch's own are fast already",
    "native.adam": "the Adam whose step is one native kernel (docs/native.md#adam); PyTorch's twin uses "
                   "torch.optim.Adam",
    "checkpoint.to_arrays": "a torch.load'ed tree (dicts and lists of tensors) as numpy arrays; a MindSpore "
                            "file is a flat {name: Parameter}, read by its private _entries",
    "checkpoint.to_tensors": "the reverse of to_arrays, for torch.save",
    "data.ImageFiles": "the torch.utils.data.Dataset a DataLoader reads; MindSpore's GeneratorDataset takes "
                       "a plain function",
    "device.slow_cpu_convolutions": "MindSpore releases whose CPU convolutions are 30-100x slower "
                                    "(docs/framework_differences.md#mindspore-version)",
    "device.waiting_without_spinning": "MindSpore's caller busy-waits for a jit graph on its frontend queue "
                                       "(docs/bench_ops.md#the-spinning-wait); PyTorch's eager step has no queue",
    "export.TanhExportForm": "MindSpore's exporters cannot take some of the project's layers: the export form "
                             "(docs/export.md); torch.onnx takes PyTorch's layers as they are",
    "export.TanhExpm1Form": "export form, as TanhExportForm",
    "export.UpsampleExportForm": "export form, as TanhExportForm",
    "export.export_class": "export form, as TanhExportForm",
    "export.plain_layer": "export form, as TanhExportForm",
    "export.repair_onnx": "MindSpore's ONNX file needs ConvTranspose's output_shape trimmed and its input "
                          "and outputs named as PyTorch's (docs/export.md)",
    "generate.eval_graph": "G's eval forward compiled by ms.jit: PyNative's op-by-op dispatch is 2x slower "
                           "on CPU; PyTorch's eager forward is its fast path",
    "models.cnn_gan.conv": "says MindSpore's pad mode and bias, whose defaults differ from PyTorch's",
    "models.dcgan_mnist.deconv": "says MindSpore's pad mode and bias, whose defaults differ from PyTorch's",
    "train.GAN": "G, D and their optimizers under one cell: MindSpore's checkpoint names and ms.jit's "
                 "unique parameter names",
    "train.TrainStep.gan_step": "MindSpore's step is closures built once in __init__ (ms.jit compiles "
                                "functions); PyTorch's phases are methods",
    "train.TrainStep.classifier_step": "as gan_step",
    "train.TrainStep.use_masks": "as gan_step",
}


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


def test_every_twin_module_mirrors_its_twin():
    found = mirror_differences("ms_gan", "torch_gan")
    assert {k: v for k, v in found.items() if k not in ALLOWED} == {}
    assert sorted(set(ALLOWED) - set(found)) == [], "no longer a difference: delete it from ALLOWED"


def test_a_broken_twin_is_caught(tmp_path, monkeypatch):
    """A module missing, a function renamed, a method missing, a class for a function; a hook
    under each framework's name and a private helper in one twin only are no difference."""
    files = {
        "ms_twin/__init__.py": "",
        "ms_twin/extra.py": "def helper():\n    pass\n",
        "ms_twin/models/__init__.py": "",
        "ms_twin/models/net.py": ("from collections import OrderedDict\n\n"
                                  "class Net:\n    def construct(self, x):\n        return x\n\n"
                                  "    def reset(self):\n        pass\n\n"
                                  "def create_dataset():\n    pass\n\ndef build():\n    pass\n\n"
                                  "def _private():\n    pass\n"),
        "torch_twin/__init__.py": "",
        "torch_twin/models/__init__.py": "",
        "torch_twin/models/net.py": ("import collections\n\n"
                                     "class Net:\n    def forward(self, x):\n        return x\n\n"
                                     "def create_loader():\n    pass\n\nclass build:\n    pass\n"),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(tmp_path)
    assert mirror_differences("ms_twin", "torch_twin") == {
        "extra": "module only in ms_twin",
        "models.net.create_dataset": "only in ms_twin",
        "models.net.create_loader": "only in torch_twin",
        "models.net.build": "a function in one, a class in the other",
        "models.net.Net.reset": "method only in ms_twin",
    }
