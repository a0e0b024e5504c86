# SPDX-License-Identifier: MIT
"""Tests across processes with multiprocessing, under both the fork and the
spawn start method: children open segments by name, by a pickled handle and
(fork) by inheritance, and see the parent's writes; the parent sees theirs."""
import multiprocessing

import pytest

import sharedmem
from support import timeout

START_METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def read_by_name(name, results):
    with sharedmem.Segment(name, mode="open") as seg:
        results.put(seg.read())


def read_pickled(seg, results):
    with seg:
        results.put(seg.read())


def answer_after_wait(name, seen, results):
    # Waits for the parent's next write, then answers in the segment.
    with sharedmem.Segment(name, mode="open") as seg:
        results.put("waiting")
        version = seg.wait(seen=seen, timeout=timeout(10))
        value = seg.read()
        seg.write(value + b" and back")
        results.put(version)


def run(context, target, *args):
    process = context.Process(target=target, args=args)
    process.start()
    return process


def finish(process):
    process.join(timeout(30))
    assert process.exitcode == 0


@pytest.mark.parametrize("method", START_METHODS)
def test_child_opens_by_name_and_sees_the_parents_write(method, name):
    context = multiprocessing.get_context(method)
    results = context.Queue()
    with sharedmem.Segment(name, 64) as seg:
        seg.write(b"from the parent")
        child = run(context, read_by_name, name, results)
        assert results.get(timeout=timeout(30)) == b"from the parent"
        finish(child)


@pytest.mark.parametrize("method", START_METHODS)
def test_child_opens_a_pickled_handle(method, name):
    context = multiprocessing.get_context(method)
    results = context.Queue()
    with sharedmem.Segment(name, 64) as seg:
        seg.write(b"pickled handle")
        child = run(context, read_pickled, seg, results)
        assert results.get(timeout=timeout(30)) == b"pickled handle"
        finish(child)
        assert seg.read() == b"pickled handle"  # the child's close did not close ours


@pytest.mark.parametrize("method", START_METHODS)
def test_write_and_wait_both_ways(method, name):
    context = multiprocessing.get_context(method)
    results = context.Queue()
    with sharedmem.Segment(name, 64) as seg:
        child = run(context, answer_after_wait, name, seg.version, results)
        assert results.get(timeout=timeout(30)) == "waiting"
        seg.write(b"ping")
        assert results.get(timeout=timeout(30)) == 1
        assert seg.wait(seen=1, timeout=timeout(10)) == 2
        assert seg.read() == b"ping and back"
        finish(child)


def use_inherited(seg, results):
    results.put(seg.read())
    seg.write(b"child was here")
    seg.close()


@pytest.mark.skipif("fork" not in START_METHODS, reason="no fork on this OS")
def test_a_forked_child_uses_the_inherited_handle_as_its_own(name):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    seg = sharedmem.Segment(name, 64)
    seg.write(b"before fork")
    child = context.Process(target=use_inherited, args=(seg, results))
    # With fork, Process passes the object itself (no pickling).
    child.start()
    assert results.get(timeout=timeout(30)) == b"before fork"
    finish(child)
    assert seg.read() == b"child was here"  # the child's close left ours open
    seg.close()
