# SPDX-License-Identifier: MIT
"""The package is typed (py.typed and stubs for its C extensions): mypy
checks typing_sample.py, which uses every public name, without an error."""
import os
import subprocess
import sys

import pytest

import sharedmem
from support import timeout


def test_mypy_accepts_the_typed_api():
    pytest.importorskip("mypy")
    package_dir = os.path.dirname(sharedmem.__file__)
    assert os.path.exists(os.path.join(package_dir, "py.typed"))
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "typing_sample.py")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull,
         "--python-executable", sys.executable, "--strict", "--allow-any-generics",
         "--always-true", "HAVE_RAW", sample],
        capture_output=True, text=True, timeout=timeout(300))
    assert result.returncode == 0, result.stdout + result.stderr
