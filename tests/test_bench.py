"""`python -m parity bench` at a tiny size: the JSON's structure, no timing assertions
(the machines are shared and noisy; the bench is its own command)."""
import json

import parity.__main__
from parity.bench import format_result


def test_bench_tiny(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert parity.__main__.main(["bench", "--batch", "2", "--repeats", "1", "--steps", "1", "--images", "4",
                                 "--workers", "1", "--no-compile", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert (result["model"], result["batch"], result["device"]) == ("dcgan", 2, "CPU")
    impls = {(e["group"], e["impl"]) for e in result["entries"]}
    assert impls == {("train", "mindspore jit"), ("train", "mindspore pynative"), ("train", "torch eager"),
                     ("generate", "mindspore"), ("generate", "torch"),
                     ("data", "mindspore dataset"), ("data", "torch DataLoader")}
    for entry in result["entries"]:
        assert entry["images_per_s"] > 0 and entry["ratio_to_torch"] > 0
        assert entry["min"] <= entry["images_per_s"] <= entry["max"]
    assert {e["impl"]: e["ratio_to_torch"] for e in result["entries"]}["torch eager"] == 1.0
    assert {c["command"] for c in result["commands"]} == {"check dcgan", "convert .ckpt -> .pt",
                                                          "convert .pt -> .ckpt"}
    assert all(c["seconds"] > 0 for c in result["commands"])
    out = capsys.readouterr().out
    assert format_result(result) in out and "mindspore jit" in out


def test_bench_trains_sgan_with_labels(tmp_path):
    path = tmp_path / "bench.json"
    assert parity.__main__.main(["bench", "--model", "sgan", "--batch", "2", "--repeats", "1", "--steps", "1",
                                 "--images", "4", "--workers", "1", "--no-compile", "--no-commands",
                                 "--json", str(path)]) == 0
    entries = json.loads(path.read_text())["entries"]
    assert {e["impl"] for e in entries if e["group"] == "train"} == {"mindspore jit", "mindspore pynative",
                                                                      "torch eager"}


def test_slow_convolution_warning(monkeypatch):
    import warnings

    import mindspore as ms
    from ms_gan.device import slow_cpu_convolutions, use_device
    assert [slow_cpu_convolutions(v) for v in ("2.8.0", "2.9.0", "2.10.0", "2.10.1rc1", "2.1.0")] == \
        [False, True, True, True, False]
    monkeypatch.setattr(ms, "__version__", "2.10.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        use_device("CPU")
    assert any("2.10.0" in str(w.message) and "mindspore==2.8.0" in str(w.message) for w in caught)
