"""The environment MindSpore reads, set before it is imported: by `ms_gan` and by `parity`,
whose tools import MindSpore before `ms_gan`. A value the user set is kept."""
import os
import tempfile


def mindspore_defaults():
    # MindSpore logs at WARNING by default, including a failed probe for Ascend libraries
    # on every import on CPU machines; keep ERROR and above unless the user asked otherwise.
    os.environ.setdefault("GLOG_v", "3")
    # A failed graph compile writes rank_0/om/analyze_fail.ir under MS_OM_PATH, by default the
    # working directory: keep it out of the user's folder
    # (docs/framework_differences.md#files-mindspore-writes).
    os.environ.setdefault("MS_OM_PATH", os.path.join(tempfile.gettempdir(), f"ms_gan-{os.getuid()}"))
