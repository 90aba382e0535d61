"""pyproject.toml admits the Python versions the suite passes on (3.10, 3.11, 3.12)."""
import platform
import re
from pathlib import Path

from packaging.specifiers import SpecifierSet

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def requires_python():
    return SpecifierSet(re.search(r'^requires-python = "([^"]+)"$', PYPROJECT.read_text(), re.M)[1])


def test_requires_python_admits_this_interpreter():
    assert platform.python_version() in requires_python()


def test_requires_python_is_where_both_frameworks_publish_wheels():
    # MindSpore 2.8.0: 3.9-3.12; PyTorch 2.14.1: 3.10-3.13 (pip index versions, of 3.9-3.13).
    spec = requires_python()
    assert [v for v in ("3.9.0", "3.10.0", "3.11.0", "3.12.0", "3.13.0") if v in spec] == ["3.10.0", "3.11.0",
                                                                                          "3.12.0"]
