"""The environment MindSpore reads, set before it is imported: by `ms_gan` and by `parity`,
whose tools import MindSpore before `ms_gan`. A value the user set is kept."""
import importlib.util
import os
import sys
import tempfile

JEMALLOC_SWITCH = "MS_GAN_JEMALLOC"


def mindspore_defaults():
    # MindSpore logs at WARNING by default, including a failed probe for Ascend libraries
    # on every import on CPU machines; keep ERROR and above unless the user asked otherwise.
    os.environ.setdefault("GLOG_v", "3")
    # A failed graph compile writes rank_0/om/analyze_fail.ir under MS_OM_PATH, by default the
    # working directory: keep it out of the user's folder
    # (docs/framework_differences.md#files-mindspore-writes).
    os.environ.setdefault("MS_OM_PATH", os.path.join(tempfile.gettempdir(), f"ms_gan-{os.getuid()}"))


def mindspores_jemalloc():
    """The jemalloc MindSpore's wheel ships (mindspore/lib/libjemalloc.so.2), found without
    importing MindSpore; None where there is none."""
    spec = importlib.util.find_spec("mindspore")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "lib", "libjemalloc.so.2")
        if os.path.isfile(path):
            return path
    return None


def run_with_jemalloc():
    """Run this process again, the same command line, with MindSpore's jemalloc preloaded
    as its malloc; return (without it) where it is already loaded, where MS_GAN_JEMALLOC=0,
    off Linux, or where MindSpore ships none. For ms_gan's command line only, before
    MindSpore is imported: MindSpore's graph compiler and host-side runtime allocate
    small objects by the million, and the job runs 3-5% faster with it (a compile 17-24%)
    where PyTorch, whose tensors come from malloc, runs 1.4x slower
    (docs/bench_ops.md#the-allocator). The exec keeps the process id, its open files and
    its environment."""
    preload = os.environ.get("LD_PRELOAD", "")
    if sys.platform != "linux" or os.environ.get(JEMALLOC_SWITCH) == "0" or "jemalloc" in preload:
        return
    path = mindspores_jemalloc()
    if path is None:
        return
    env = dict(os.environ, LD_PRELOAD=":".join(filter(None, (path, preload))))
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
