"""`python -m ms_gan` runs with the jemalloc MindSpore ships as its malloc (the process execs
itself once, keeping its id); MS_GAN_JEMALLOC=0 keeps the system's; a call of main() from
Python leaves the process alone (parity/common/environment.py, docs/bench_ops.md#the-allocator)."""
import os
import subprocess
import sys

import pytest

from parity.common.environment import JEMALLOC_SWITCH, mindspores_jemalloc

# Reports, at exit, the process id before main() and after, and whether jemalloc is mapped.
PROBE = """
import atexit, os, sys
first_pid = os.environ.setdefault("PROBE_FIRST_PID", str(os.getpid()))
def report():
    mapped = any("libjemalloc" in line for line in open("/proc/self/maps"))
    print(first_pid, os.getpid(), mapped)
atexit.register(report)
import ms_gan.__main__
sys.argv = ["ms_gan", "--help"]
ms_gan.__main__.main({argv})
"""


def probe(argv="", **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PROBE_FIRST_PID")}
    run = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True,
                         timeout=60, env={**environment, **env})
    assert run.returncode == 0, run.stderr
    first_pid, pid, mapped = run.stdout.splitlines()[-1].split()
    return first_pid == pid, mapped == "True"


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="LD_PRELOAD and /proc are Linux's")]


def test_mindspore_ships_jemalloc():
    assert mindspores_jemalloc().endswith(os.path.join("mindspore", "lib", "libjemalloc.so.2"))


def test_the_command_line_runs_with_jemalloc_in_the_same_process():
    assert probe() == (True, True)


def test_the_switch_keeps_the_systems_malloc():
    assert probe(**{JEMALLOC_SWITCH: "0"}) == (True, False)


def test_a_call_from_python_leaves_the_process_alone():
    assert probe(argv="['--help']") == (True, False)
