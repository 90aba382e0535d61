"""`parity compare --html`: the report, and the page in Debian's headless Chromium (installed
by `chromium()` with apt-get where it is missing)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from helpers.single_framework import PARITY, run_without


def chromium():
    """Debian's Chromium; installed with apt-get where it is missing and this is root on a
    Debian machine (the README's test command on a fresh machine), else a failure saying how."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True)
        found = shutil.which("chromium")
    assert found, "no chromium on PATH: apt-get install -y chromium"
    return found


def headless(page, *args):
    """(DOM after the page's scripts ran, Chromium's log) of a file in headless Chromium."""
    result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                             "--v=0", "--virtual-time-budget=5000", *args, page.as_uri()],
                            capture_output=True, text=True, timeout=120)
    return result.stdout, result.stderr


def console_errors(log):
    return [line for line in log.splitlines() if "CONSOLE" in line and re.search(r"error|uncaught", line, re.I)]


@pytest.fixture(scope="module")
def wrong_twin_report(gan_bn_dump, gan_bn_wrong_dump, tmp_path_factory):
    """(folder of report.html, MindSpore's manifest, the comparison's summary) of gan_bn
    against a wrong twin (parity_api/conftest.py's dumps)."""
    dumps, manifest = gan_bn_dump
    folder = tmp_path_factory.mktemp("report")
    result = run_without("both", PARITY, "compare", dumps / "ms", gan_bn_wrong_dump, "--html", folder / "report.html",
                         "--json", folder / "c.json")
    assert result.returncode == 1, result.stdout + result.stderr
    return folder, manifest, json.loads((folder / "c.json").read_text())["summary"]


def test_the_report_is_one_file_with_its_data_and_no_network(wrong_twin_report):
    folder, _, summary = wrong_twin_report
    page = (folder / "report.html").read_text()
    assert page.count("<script") == 2 and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and summary["first_forward"]["layer"] in page


@pytest.mark.slow
def test_chromium_shows_the_first_diverging_layer_without_console_errors(wrong_twin_report, tmp_path):
    folder, manifest, summary = wrong_twin_report
    dom, log = headless(folder / "report.html", "--dump-dom")
    assert console_errors(log) == [], log[-2000:]
    first = summary["first_forward"]
    marked = re.search(r'<span class="layer first" data-layer="([^"]+)"[^>]*id="first-diverging"', dom)
    assert marked and marked.group(1) == f"{first['net']} {first['layer']}", dom[:3000]
    assert f"Metrics: step {first['step']}, {first['net']} {first['layer']}" in dom     # opened on load
    assert dom.count("<svg") == 2 and "First diverging layer (forward)" in dom

    broken = tmp_path / "broken.html"   # the check above can fail: a page with an error is seen
    broken.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    assert console_errors(headless(broken, "--dump-dom")[1])
