"""The comparison of two arrays (parity/common/compare.py: `metrics`, the rows, the default
tolerances) and the rows' table / JSON / Markdown forms (parity/common/report.py) live in
parity/common: framework-free, so the twins' `export` and `parity compare` use them too."""
from parity.common.compare import GRAD_TOL, OUTPUT_TOL, Check, close, compare, metrics  # noqa: F401
from parity.common.report import format_markdown, format_table, write_json  # noqa: F401
