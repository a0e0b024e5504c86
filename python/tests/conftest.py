# SPDX-License-Identifier: MIT
# pytest setup for the sharedmem package's tests. They test the installed
# package (ctest installs it into a venv first), never the source tree: this
# directory holds no package, and `sharedmem` resolves to site-packages.
import os

import pytest

# The Set/Get tests get a default segment of their own (ctest sets one per
# build tree; this covers a manual run). Read when libsharedmem_setget loads.
os.environ.setdefault("SHAREDMEM_DEFAULT_SEGMENT", f"pytest_default_{os.getpid()}")


@pytest.fixture
def name(request):
    """A segment name unique to this test and process."""
    from support import unique_name
    return unique_name(request.node.name)
