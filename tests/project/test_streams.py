"""Every random stream of a run is declared once, in parity/common/streams.py, whose
registry refuses an id (or a name) that is taken."""
import ast
from pathlib import Path

import numpy as np
import pytest

from parity.common import datasets, streams

ROOT = Path(__file__).resolve().parent.parent


def test_the_registry_holds_every_stream_once():
    assert streams.STREAMS == {"sample grids' fixed noise": 2**32 - 1,
                               "labelled images' choice and order (--labels)": 2**32 - 2,
                               "dropout masks": 2**32 - 3,
                               "--fid-every's fixed noise": 2**32 - 4}
    assert len(set(streams.STREAMS.values())) == len(streams.STREAMS)
    assert datasets.LABELLED_STREAM is streams.LABELLED_STREAM


def test_a_second_stream_with_a_taken_id_or_name_is_refused():
    before = dict(streams.STREAMS)
    with pytest.raises(ValueError, match=r"random stream id 4294967294 of fid again is taken by "
                                         r"labelled images' choice and order \(--labels\); every stream"):
        streams.declare("fid again", 2**32 - 2)
    with pytest.raises(ValueError, match="random stream dropout masks is declared already"):
        streams.declare("dropout masks", 2**32 - 99)
    assert streams.STREAMS == before


def test_the_fid_noise_and_the_labelled_choice_draw_different_values():
    # They shared 2**32 - 2 before #25: the same sequence.
    fid_noise = streams.sample_noise(0, 4, (3,), streams.FID_STREAM)
    labelled = np.random.default_rng([0, streams.LABELLED_STREAM]).standard_normal((4, 3), dtype=np.float32)
    sample = streams.sample_noise(0, 4, (3,))
    assert not np.array_equal(fid_noise, labelled) and not np.array_equal(fid_noise, sample)


def _stream_ids_outside_the_registry(root):
    """"file:line" of each 2**32 - k written outside parity/common/streams.py."""
    found = []
    for package in ("ms_gan", "torch_gan", "parity"):
        for path in sorted((root / package).rglob("*.py")):
            if path.relative_to(root).as_posix() == "parity/common/streams.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
                        and all(isinstance(side, ast.Constant) for side in (node.left, node.right))
                        and (node.left.value, node.right.value) == (2, 32)):
                    found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_stream_ids_are_written_in_the_registry_only(tmp_path):
    assert _stream_ids_outside_the_registry(ROOT) == []
    (tmp_path / "parity" / "common").mkdir(parents=True)
    (tmp_path / "ms_gan").mkdir()
    (tmp_path / "torch_gan").mkdir()
    (tmp_path / "parity" / "common" / "datasets.py").write_text("import numpy\n\nMY_STREAM = 2**32 - 2\n")
    assert _stream_ids_outside_the_registry(tmp_path) == ["parity/common/datasets.py:3"]
