"""Run Python code in a fresh process where one framework cannot be imported, as on a
machine that has only the other (docs/cross_machine.md)."""
import json
import os
import subprocess
import sys

from helpers import ROOT

BLOCKED = {"torch": ["torch", "torchvision"], "mindspore": ["mindspore"], "both": ["torch", "torchvision", "mindspore"]}


def run_without(framework, code, *args):
    """Run `code` with sys.argv[1:] = args where `framework` ("torch", "mindspore" or
    "both") cannot be imported (sys.modules[name] = None makes `import name` raise
    ImportError), with this checkout first on the path."""
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in BLOCKED[framework])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", prelude + code, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT)


PARITY = "from parity.__main__ import main\nsys.exit(main(sys.argv[1:]))\n"


# A wrong twin: PyTorch's LeakyReLU built with slope 0.25 whatever the model asks.
WRONG_SLOPE = """
import torch.nn
_init = torch.nn.LeakyReLU.__init__
torch.nn.LeakyReLU.__init__ = lambda self, negative_slope=0.01, inplace=False: _init(self, 0.25, inplace)
"""


def dump(framework, model, out, *args, patch=""):
    other = "torch" if framework == "mindspore" else "mindspore"
    check = "\nassert sys.modules.get(%r) is None\n" % other
    result = run_without(other, patch + PARITY.replace("sys.exit(", "code = (") + check + "sys.exit(code)\n",
                         "dump", model, "--framework", framework, "--out", out, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "manifest.json").read_text())


def compare(a, b, *args):
    return run_without("both", PARITY, "compare", a, b, *args)
