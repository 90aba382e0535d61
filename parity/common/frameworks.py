"""The two frameworks, each named once. `key` is the one name code, files and JSON use
("mindspore", "torch"); everything else a command or a message needs about a framework
(its twin package, console script, display name, checkpoint suffixes) is read from its
record here, never spelled again."""
from dataclasses import dataclass
from pathlib import Path

MINDSPORE, TORCH = "mindspore", "torch"


@dataclass(frozen=True)
class Framework:
    key: str            # MINDSPORE or TORCH; also the engine's import name
    package: str        # the twin package: ms_gan, torch_gan
    script: str         # its console script (pyproject.toml's [project.scripts])
    display: str        # the name a person reads
    suffixes: tuple     # checkpoint suffixes it reads; the first is the one its trainer writes

    @property
    def suffix(self):
        return self.suffixes[0]


FRAMEWORKS = {MINDSPORE: Framework(MINDSPORE, "ms_gan", "ms-gan", "MindSpore", (".ckpt",)),
              TORCH: Framework(TORCH, "torch_gan", "torch-gan", "PyTorch", (".pt", ".pth"))}
PACKAGES = tuple(f.package for f in FRAMEWORKS.values())


def framework(name):
    """The record named by its key ("mindspore") or its package ("ms_gan")."""
    for record in FRAMEWORKS.values():
        if name in (record.key, record.package):
            return record
    raise ValueError(f"unknown framework {name!r}: use one of {', '.join(FRAMEWORKS)} or {', '.join(PACKAGES)}")


def framework_of_suffix(path):
    """The record whose checkpoint suffixes include `path`'s, or None."""
    suffix = Path(path).suffix.lower()
    return next((record for record in FRAMEWORKS.values() if suffix in record.suffixes), None)
