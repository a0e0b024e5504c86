# SPDX-License-Identifier: MIT
"""The package's version is the library's: one number for the C library,
the command and the package."""
import importlib.metadata
import re

import sharedmem
from sharedmem import _core


def test_version_is_the_loaded_librarys():
    """Tests that __version__ is what the loaded library says, a
    major.minor.patch string, and the installed distribution's version (which
    setup.py takes from the same CMake project version)."""
    assert sharedmem.__version__ == _core.library_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", sharedmem.__version__)
    assert importlib.metadata.version("sharedmem-ipc") == sharedmem.__version__
