"""parity.common.files: atomic writes keep an existing file on error and get open()'s mode."""
import os
import stat

import pytest

from parity.common.files import atomic_path, write_text_atomic


def test_written_file_has_the_mode_open_would_give(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "new")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert (tmp_path / "a.txt").read_text() == "new"


def test_an_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("half-way")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
