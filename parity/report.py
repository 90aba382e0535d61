"""The comparison records and their table / JSON / Markdown forms live in
parity/common/report.py: framework-free, so the twins' `export` prints its checks with them."""
from parity.common.report import Check, compare, format_markdown, format_table, write_json  # noqa: F401
