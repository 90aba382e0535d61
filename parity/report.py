"""The comparison rows (parity/common/compare.py) and their table / JSON / Markdown forms
(parity/common/report.py) live in parity/common: framework-free, so the twins' `export`
and a dump's compare use them too."""
from parity.common.compare import Check, close, compare  # noqa: F401
from parity.common.report import format_markdown, format_table, write_json  # noqa: F401
