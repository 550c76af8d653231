"""TensorFlow's C++ start-up lines, kept from the user.

While TensorFlow loads and looks for a GPU, its C++ side writes glog-style lines straight to file
descriptor 2 (``cuInit`` failures on a machine without a GPU, absl's notice, CPU-feature hints).
They are noise to a user; ``tf_runtime.device_name`` states the one fact they carry.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

# What TensorFlow's C++ side prints while it loads and looks for a GPU: glog-style lines
# ("E0000 00:00:17.. 123 cuda_platform.cc:52] failed call to cuInit ..."), absl's notice, CPU feature hints.
_NATIVE_NOISE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]|absl::InitializeLog|cpu_feature_guard"
    r"|rebuild TensorFlow with the appropriate compiler flags|oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS"
)


@contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Capture what is written to fd 2 (C++ included); pass on only the lines that are not start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines()
                if line.strip() and not _NATIVE_NOISE.search(line)
            ]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
