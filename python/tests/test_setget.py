# SPDX-License-Identifier: MIT
"""Tests of set_shared_mem/get_shared_mem, the classic default segment
(SHAREDMEM_DEFAULT_SEGMENT names one of this run's own, see conftest.py)."""
import multiprocessing

import pytest

import sharedmem
from support import timeout


def test_set_then_get_gives_the_text_back():
    sharedmem.set_shared_mem("hello, wörld ✓")
    assert sharedmem.get_shared_mem() == "hello, wörld ✓"
    sharedmem.set_shared_mem("")
    assert sharedmem.get_shared_mem() == ""


def test_long_text_is_truncated_to_the_capacity():
    from sharedmem import _setget
    limit = _setget.DEFAULT_CAPACITY_CHARS
    sharedmem.set_shared_mem("y" * (limit + 100))
    assert sharedmem.get_shared_mem() == "y" * limit


def test_bad_text_is_refused():
    sharedmem.set_shared_mem("kept")
    with pytest.raises(ValueError):
        sharedmem.set_shared_mem("a\0b")
    with pytest.raises(TypeError):
        sharedmem.set_shared_mem(b"bytes")
    with pytest.raises(TypeError):
        sharedmem.set_shared_mem(None)
    assert sharedmem.get_shared_mem() == "kept"


def child_get(results):
    results.put(sharedmem.get_shared_mem())


@pytest.mark.parametrize("method", [m for m in ("fork", "spawn")
                                    if m in multiprocessing.get_all_start_methods()])
def test_a_child_reads_what_the_parent_set(method):
    context = multiprocessing.get_context(method)
    results = context.Queue()
    sharedmem.set_shared_mem(f"from the parent, {method}")
    child = context.Process(target=child_get, args=(results,))
    child.start()
    assert results.get(timeout=timeout(30)) == f"from the parent, {method}"
    child.join(timeout(30))
    assert child.exitcode == 0
