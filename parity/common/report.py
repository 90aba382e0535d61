"""The comparison rows' (compare.py) table / JSON / Markdown forms."""
from dataclasses import asdict

from .files import write_json_atomic


def format_table(checks):
    width = max([len("check")] + [len(c.name) for c in checks])
    lines = [f"{'check':<{width}}  {'max abs diff':>12}  {'max rel diff':>12}  {'tolerance':>13}  pass"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.max_abs:12.3e}  {c.max_rel:12.3e}  "
                     f"{c.tol:9.0e} {c.measure:>3}  {'ok' if c.passed else 'FAIL'}")
    failed = sum(not c.passed for c in checks)
    lines.append(f"all {len(checks)} checks passed" if not failed else f"{failed} of {len(checks)} checks FAILED")
    return "\n".join(lines)


def format_markdown(title, checks):
    lines = [f"### {title}", "", "| check | max abs diff | max rel diff | tolerance | pass |",
             "| --- | ---: | ---: | ---: | --- |"]
    for c in checks:
        lines.append(f"| {c.name} | {c.max_abs:.3e} | {c.max_rel:.3e} | {c.tol:.0e} ({c.measure}) | "
                     f"{'ok' if c.passed else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def write_json(path, model, device, checks, **extra):
    record = {"model": model, "device": device, "passed": all(c.passed for c in checks),
              "checks": [asdict(c) for c in checks], **extra}
    write_json_atomic(path, record)
