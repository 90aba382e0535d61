"""data_scripts against a real HTTP server on loopback: fetch, check, refuse, resume, offline."""
import gzip
import hashlib
import http.server
import io
import socket
import subprocess
import sys
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_scripts.download import DownloadError, fetch_faces, fetch_mnist, load_mnist_arrays
from parity.common.datasets import scan_images

FACES = 6
REPO = Path(__file__).resolve().parents[2]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the fixture folder; /cut/<name> announces the whole file and sends half."""

    def do_GET(self):
        if self.path.startswith("/cut/"):
            data = (Path(self.directory) / self.path[len("/cut/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def idx_gz(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A loopback server over a folder with faces.zip (6 real JPEGs under faces/), a
    truncated copy, and small MNIST idx files; yields (base URL, folder, fixture data)."""
    folder = tmp_path_factory.mktemp("served")
    rng = np.random.default_rng(0)
    jpegs = {}
    for i in range(FACES):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(buffer, "JPEG")
        jpegs[f"{i}.jpg"] = buffer.getvalue()
    with zipfile.ZipFile(folder / "faces.zip", "w") as archive:
        for name, data in jpegs.items():
            archive.writestr(f"faces/{name}", data)
    whole = (folder / "faces.zip").read_bytes()
    (folder / "truncated.zip").write_bytes(whole[: len(whole) - 100])
    mnist = {"train": (rng.integers(0, 256, (30, 28, 28)), np.arange(30) % 10),
             "test": (rng.integers(0, 256, (12, 28, 28)), np.arange(12) % 4)}
    prefix = {"train": "train", "test": "t10k"}
    for split, (images, labels) in mnist.items():
        (folder / f"{prefix[split]}-images-idx3-ubyte.gz").write_bytes(idx_gz(images, 2051))
        (folder / f"{prefix[split]}-labels-idx1-ubyte.gz").write_bytes(idx_gz(labels, 2049))
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.gz"))}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder, {"jpegs": jpegs, "mnist": mnist, "md5s": md5s}
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_url():
    """A URL on a loopback port nobody listens on: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


# ---- faces ----

def test_faces_fetched_checked_and_reused(served, tmp_path, closed_url):
    url, _, data = served
    folder = fetch_faces(tmp_path, f"{url}/faces.zip", expected=FACES, verbose=False)
    assert folder == tmp_path / "faces" and names(tmp_path) == ["faces"]     # zip and temp gone
    assert {p.name: p.read_bytes() for p in scan_images(folder)} == data["jpegs"]
    # Complete: nothing is fetched (the URL is dead) and nothing changes.
    assert fetch_faces(tmp_path, f"{closed_url}/faces.zip", expected=FACES, verbose=False) == folder
    assert len(scan_images(folder)) == FACES


def test_truncated_zip_is_refused_and_removed(served, tmp_path):
    url, _, _ = served
    with pytest.raises(DownloadError, match="corrupt or incomplete zip"):
        fetch_faces(tmp_path, f"{url}/truncated.zip", expected=FACES, verbose=False)
    assert names(tmp_path) == []


def test_wrong_image_count_is_refused(served, tmp_path):
    url, _, _ = served
    with pytest.raises(DownloadError, match=f"holds {FACES} images, expected {FACES + 1}"):
        fetch_faces(tmp_path, f"{url}/faces.zip", expected=FACES + 1, verbose=False)
    assert "faces" not in names(tmp_path) and not [n for n in names(tmp_path) if n.endswith(".tmp")]


def test_incomplete_zip_and_folder_on_disk_are_fetched_again(served, tmp_path):
    url, folder, _ = served
    (tmp_path / "faces.zip").write_bytes((folder / "truncated.zip").read_bytes())
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "0.jpg").write_bytes(b"half")
    fetch_faces(tmp_path, f"{url}/faces.zip", expected=FACES, verbose=False)
    assert names(tmp_path) == ["faces"] and len(scan_images(tmp_path / "faces")) == FACES
    assert verify_all(tmp_path / "faces")


def verify_all(folder):
    return all(Image.open(p).convert("RGB").size == (96, 96) for p in scan_images(folder))


def test_zip_placed_by_hand_is_used_offline(served, tmp_path, closed_url):
    _, folder, _ = served
    (tmp_path / "faces.zip").write_bytes((folder / "faces.zip").read_bytes())
    fetch_faces(tmp_path, f"{closed_url}/faces.zip", expected=FACES, verbose=False)
    assert len(scan_images(tmp_path / "faces")) == FACES
    assert (tmp_path / "faces.zip").exists()                # the user's file is left alone


def test_interrupted_download_is_kept_as_part_and_resumed(served, tmp_path):
    url, _, _ = served
    with pytest.raises(DownloadError, match="partial download kept as faces.zip.part"):
        fetch_faces(tmp_path, f"{url}/cut/faces.zip", expected=FACES, verbose=False)
    assert names(tmp_path) == ["faces.zip.part"]            # never taken for faces.zip
    fetch_faces(tmp_path, f"{url}/faces.zip", expected=FACES, verbose=False)
    assert names(tmp_path) == ["faces"] and len(scan_images(tmp_path / "faces")) == FACES


def test_offline_is_one_clear_error_and_leaves_nothing(tmp_path, closed_url):
    with pytest.raises(DownloadError) as error:
        fetch_faces(tmp_path / "data", f"{closed_url}/faces.zip", expected=FACES, verbose=False)
    message = str(error.value)
    assert "\n" not in message and f"{closed_url}/faces.zip" in message and "Connection refused" in message
    assert f"put faces.zip in {tmp_path / 'data'} and rerun" in message
    assert not (tmp_path / "data").exists()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "data_scripts", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli(served, tmp_path, closed_url):
    url, _, _ = served
    offline = run_cli("faces", "--root", str(tmp_path), "--url", f"{closed_url}/faces.zip")
    assert offline.returncode == 1
    assert offline.stderr.startswith("error: could not download") and offline.stderr.count("\n") == 1
    assert names(tmp_path) == []
    done = run_cli("faces", "--root", str(tmp_path), "--url", f"{url}/faces.zip", "--count", str(FACES))
    assert done.returncode == 0, done.stderr
    assert len(scan_images(tmp_path / "faces")) == FACES
    mnist = run_cli("mnist", "--root", str(tmp_path), "--url", closed_url)
    assert mnist.returncode == 1 and "put train-images-idx3-ubyte.gz in" in mnist.stderr
    assert names(tmp_path) == ["faces"]                     # no empty mnist/raw left behind


# ---- mnist ----

def test_mnist_fetched_decoded_and_reused(served, tmp_path, closed_url):
    url, _, data = served
    root = fetch_mnist(tmp_path, url, md5s=data["md5s"], verbose=False)
    assert names(root) == ["raw", "test", "train"]
    for split, (images, labels) in data["mnist"].items():
        got_images, got_labels = load_mnist_arrays(tmp_path, split)
        assert got_images.dtype == np.uint8 and got_images.shape == (len(labels), 28, 28)
        assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
        paths = scan_images(root / split)
        assert len(paths) == len(labels)
        for path in paths:
            index, label = int(path.stem), int(path.parent.name)
            assert label == labels[index] and np.array_equal(np.asarray(Image.open(path)), images[index])
    stamp = (root / "train" / "0" / "0.png").stat().st_mtime_ns
    fetch_mnist(tmp_path, closed_url, md5s=data["md5s"], verbose=False)      # nothing to fetch
    assert (root / "train" / "0" / "0.png").stat().st_mtime_ns == stamp


def test_mnist_md5_mismatch_is_refused(served, tmp_path):
    url, _, data = served
    md5s = dict(data["md5s"], **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(DownloadError, match="t10k-labels-idx1-ubyte.gz has MD5 .* expected 0{32}: refused"):
        fetch_mnist(tmp_path, url, md5s=md5s, verbose=False)
    assert "t10k-labels-idx1-ubyte.gz" not in names(tmp_path / "mnist" / "raw")
    assert names(tmp_path / "mnist") == ["raw"]


def test_load_mnist_arrays_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        load_mnist_arrays(tmp_path, "train")
