import os

os.environ.setdefault("GLOG_v", "3")
