"""What several test modules share, imported as `helpers.<module>` (pyproject.toml puts tests/
on the path): the trainers' command lines and runs (runs), tiny image folders (images), the
twin checks (twins), bit-equal arrays (arrays), the layer tests' three-way run (layer_checks),
and processes where one framework cannot be imported (single_framework). Test modules import
these, never one another; pytest fixtures live in the conftest.py files."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]      # the checkout
