"""`python -m parity bench` at a tiny size: the JSON's structure, no timing assertions
(the machines are shared and noisy; the bench is its own command)."""
import json

import pytest

import parity.__main__
from ms_gan import native
from parity.bench import NO_NATIVE, format_result

pytestmark = pytest.mark.slow     # trains or runs commands in subprocesses


def test_bench_tiny(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert parity.__main__.main(["bench", "--batch", "2", "--repeats", "1", "--steps", "1", "--images", "4",
                                 "--workers", "1", "--no-compile", "--warmup", "1", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert (result["models"], result["device"], result["warmup_steps"]) == (["dcgan"], "CPU", 1)
    assert result["model_pids"] == {"dcgan": result["pid"]}
    assert {(e["model"], e["batch"]) for e in result["entries"]} == {("dcgan", 2)}
    impls = {(e["group"], e["impl"]) for e in result["entries"]}
    # MindSpore's own convolutions beside the native ones where those are built (docs/native.md)
    without_native = set(NO_NATIVE.items()) if native.library() is not None else set()
    assert impls == {("train", "mindspore jit"), ("train", "mindspore pynative"), ("train", "torch eager"),
                     ("generate", "mindspore"), ("generate", "torch"),
                     ("data", "mindspore dataset"), ("data", "torch DataLoader")} | without_native
    assert result["native"] == ("on" if without_native else "off (" + native.state()[1] + ")")
    assert all(entry["images_per_s"] > 0 and entry["repeats"] == 1 for entry in result["entries"])
    assert len(result["machine"]["load_average"]) == len(result["machine"]["load_average_after"]) == 3
    assert {c["command"] for c in result["commands"]} == {"check dcgan", "convert .ckpt -> .pt",
                                                          "convert .pt -> .ckpt"}
    assert all(c["seconds"] > 0 for c in result["commands"])
    out = capsys.readouterr().out
    assert format_result(result) in out and "mindspore jit" in out


def test_bench_trains_sgan_with_labels(tmp_path):
    path = tmp_path / "bench.json"
    assert parity.__main__.main(["bench", "--model", "sgan", "--batch", "2", "--repeats", "1", "--steps", "1",
                                 "--images", "4", "--workers", "1", "--no-compile", "--no-commands",
                                 "--warmup", "1", "--json", str(path)]) == 0
    entries = json.loads(path.read_text())["entries"]
    without_native = {NO_NATIVE["train"]} if native.library() is not None else set()
    assert {e["impl"] for e in entries if e["group"] == "train"} == {"mindspore jit", "mindspore pynative",
                                                                      "torch eager"} | without_native


def test_bench_several_models_at_their_training_batch(tmp_path, capsys):
    from parity.bench import TRAINING_BATCH, model_names
    assert model_names(["all"]) == ["cnn_gan", "dcgan", "dcgan_mnist", "gan", "gan_bn", "sgan"]
    assert (TRAINING_BATCH["dcgan"], TRAINING_BATCH["cnn_gan"]) == (128, 32)
    path = tmp_path / "bench.json"
    assert parity.__main__.main(["bench", "--model", "gan", "gan_bn", "--repeats", "1", "--steps", "1",
                                 "--no-compile", "--no-commands", "--warmup", "1", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert {(e["model"], e["batch"], e["group"]) for e in result["entries"]} == {
        (m, 32, g) for m in ("gan", "gan_bn") for g in ("train", "generate")}
    # each model timed in a process of its own, as a user's training run (parity/bench.py)
    pids = result["model_pids"]
    assert sorted(pids) == ["gan", "gan_bn"] and len({*pids.values(), result["pid"]}) == 3
    table = capsys.readouterr().out
    assert "gan_bn          32 train     mindspore jit" in table


def test_each_implementation_warms_up_before_it_is_timed():
    """`--warmup 10 --steps 4` is 3 untimed calls of each implementation, then the timed ones,
    each right after an untimed call of its own (not right after the other framework's)."""
    from parity.bench import interleaved
    calls = []

    def implementation(name):
        def fn():
            calls.append(name)
            return 4
        return fn
    rates = interleaved({"a": implementation("a"), "b": implementation("b")}, repeats=2, warmup=-(-10 // 4))
    assert calls == ["a"] * 3 + ["b"] * 3 + ["a", "a", "b", "b", "a", "a", "b", "b"]
    assert [len(r) for r in rates.values()] == [2, 2]


def test_bench_unknown_model_is_refused(capsys):
    assert parity.__main__.main(["bench", "--model", "gan", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


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
