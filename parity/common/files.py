"""Output files: one rule for every command's (check_output_file, before any work), and
atomic writes (a temporary file beside the target, then a rename)."""
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path in the target's folder; on success rename it onto `path`.
    On any error the temporary file is removed and an existing `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        # The mode open() would give: mkstemp makes 0600, and mindspore.save_checkpoint
        # leaves its file 0400 (read-only for its owner).
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path):
    """Yield a new empty folder beside `path`; on success rename it to `path` (which must
    not exist), on any error remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path, value):
    """`value` as indented JSON with a final newline, written atomically."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def check_output_file(path, flag, force=False):
    """Refuse, before any work, an output file `flag` that cannot be written: a folder, an
    existing file unless `force`, a place that is not a writable folder (folders missing
    on the way are made when it is written)."""
    path = Path(path)
    if path.is_dir() or str(path).endswith(os.sep):
        raise ValueError(f"{flag} {path} is a folder; give a file's path")
    if path.exists() and not force:
        raise FileExistsError(f"{flag} {path} exists; kept (give --force to replace it)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path} cannot be written: {parent} is not a folder this user may write in")
