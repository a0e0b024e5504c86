# SPDX-License-Identifier: MIT
"""Views never outlive the mapping: arrays and views made from a RawSegment
or a drop-in SharedMemory in every way numpy, ctypes and memoryview offer
stay valid after close(), which never raises BufferError; the segment is
let go of when the last of them goes. Bad sizes are ValueError."""
import ctypes
import pickle
import subprocess
import sys

import pytest

import sharedmem
from support import shm_files, timeout

pytestmark = pytest.mark.skipif(not sharedmem.HAVE_RAW, reason="library without raw segments")
np = pytest.importorskip("numpy")

SIZE = 64

# Every way to put an array or a view on the memory: the numpy
# constructions the issue names, ctypes and plain memoryviews; each takes
# the object whose memory it uses.
CONSTRUCTIONS = {
    "ndarray(buffer=buf)": lambda seg, buf: np.ndarray((SIZE,), dtype=np.uint8, buffer=buf),
    "ndarray(buffer=seg)": lambda seg, buf: np.ndarray((SIZE,), dtype=np.uint8, buffer=seg),
    "frombuffer(buf)": lambda seg, buf: np.frombuffer(buf, dtype=np.uint8),
    "frombuffer(seg)": lambda seg, buf: np.frombuffer(seg, dtype=np.uint8),
    "asarray(buf)": lambda seg, buf: np.asarray(buf),
    "ctypes.from_buffer(buf)": lambda seg, buf: (ctypes.c_uint8 * SIZE).from_buffer(buf),
    "ctypes.from_buffer(seg)": lambda seg, buf: (ctypes.c_uint8 * SIZE).from_buffer(seg),
    "buf[:] slice": lambda seg, buf: buf[:],
    "memoryview(seg)": lambda seg, buf: memoryview(seg),
}
# The drop-in SharedMemory has no buffer protocol of its own (as the
# standard class): only the constructions over its buf.
DROP_IN_CONSTRUCTIONS = [k for k in CONSTRUCTIONS if "seg)" not in k]


def open_raw(name):
    seg = sharedmem.RawSegment(name, SIZE)
    return seg, seg.buf


def open_drop_in(name):
    shm = sharedmem.SharedMemory(name, create=True, size=SIZE)
    return shm, shm.buf


@pytest.mark.parametrize("how", CONSTRUCTIONS)
def test_raw_close_leaves_every_view_valid_until_it_goes(how, name):
    seg, buf = open_raw(name)
    view = CONSTRUCTIONS[how](seg, buf)
    other = sharedmem.RawSegment(name, mode="open")
    del buf
    seg.close()  # no BufferError, whatever the view
    assert seg.closed
    with pytest.raises(ValueError):
        seg.buf
    view[3] = 7  # still the shared memory: the other holder sees it
    assert other.buf[3] == 7
    other.buf[4] = 9
    assert view[4] == 9
    other.close()
    # This process still holds the segment through the view, and lets go of
    # it with the view (with the segment object itself, for the views made
    # from the segment, which numpy and memoryview keep it for).
    assert sharedmem.RawSegment(name, mode="open").size == SIZE
    del view, seg
    with pytest.raises(FileNotFoundError):
        sharedmem.RawSegment(name, mode="open")
    assert shm_files(name) == []


@pytest.mark.parametrize("how", DROP_IN_CONSTRUCTIONS)
def test_drop_in_close_leaves_every_view_valid_until_it_goes(how, name):
    shm, buf = open_drop_in(name)
    view = CONSTRUCTIONS[how](None, buf)
    del buf
    shm.close()
    shm.unlink()
    assert shm.buf is None  # as the standard class
    view[5] = 11
    other = sharedmem.SharedMemory(name)
    assert other.buf[5] == 11
    other.close()
    del view
    with pytest.raises(FileNotFoundError):
        sharedmem.SharedMemory(name)
    assert shm_files(name) == []


def test_close_without_views_lets_go_at_once(name):
    seg = sharedmem.RawSegment(name, SIZE)
    kept = seg.buf  # a reference to buf alone is no view: close() releases it
    seg.close()
    with pytest.raises(ValueError):
        kept[0]
    with pytest.raises(FileNotFoundError):
        sharedmem.RawSegment(name, mode="open")


def test_a_buf_that_cannot_be_released_stays_usable(name):
    # Something holds a buffer exported by the memoryview `buf` itself (a
    # PickleBuffer does): close() cannot release it, and does not fail.
    seg = sharedmem.RawSegment(name, SIZE)
    buf = seg.buf
    holder = pickle.PickleBuffer(buf)
    seg.close()
    buf[1] = 5
    assert buf[1] == 5 and memoryview(holder)[1] == 5
    del holder, buf
    with pytest.raises(FileNotFoundError):
        sharedmem.RawSegment(name, mode="open")


def test_a_put_off_close_still_releases_the_lock(name):
    seg = sharedmem.RawSegment(name, SIZE)
    array = np.ndarray((SIZE,), dtype=np.uint8, buffer=seg.buf)
    seg.lock(timeout=timeout(10))
    seg.close()  # the handle stays for the array, the lock does not
    with sharedmem.RawSegment(name, mode="open") as other:
        with other.lock(timeout=timeout(10)):
            array[0] = 1
    del array


CYCLES = r"""
import ctypes, sys
import numpy as np
import sharedmem
name, cycles = sys.argv[1], int(sys.argv[2])
size = 4096
total = 0
for cycle in range(cycles):
    for kind in ("raw", "drop-in"):
        if kind == "raw":
            seg = sharedmem.RawSegment(name, size, mode="create")
            source = seg
        else:
            seg = sharedmem.SharedMemory(name, create=True, size=size)
            source = None
        buf = seg.buf
        views = [np.ndarray((size,), dtype=np.uint8, buffer=buf),
                 np.frombuffer(buf, dtype=np.uint8),
                 np.asarray(buf),
                 (ctypes.c_uint8 * size).from_buffer(buf),
                 buf[16:32]]
        if source is not None:
            views += [np.ndarray((size,), dtype=np.uint8, buffer=source),
                      np.frombuffer(source, dtype=np.uint8),
                      np.asarray(source),
                      (ctypes.c_uint8 * size).from_buffer(source)]
        del buf
        seg.close()
        for number, view in enumerate(views):
            view[1] = number
            total += view[1] + len(view)
        del views, view, seg, source
print(total, flush=True)
"""


def test_a_thousand_close_and_access_cycles_never_crash(name, tmp_path):
    # In a child: a crash is a signal exit there, not the end of pytest.
    script = tmp_path / "cycles.py"
    script.write_text(CYCLES)
    cycles = 1000
    result = subprocess.run([sys.executable, str(script), name, str(cycles)],
                            capture_output=True, text=True, timeout=timeout(300))
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    per_cycle = (sum(range(5)) + 4 * 4096 + 16) + (sum(range(9)) + 8 * 4096 + 16)
    assert int(result.stdout) == cycles * per_cycle
    assert shm_files(name) == []


@pytest.mark.parametrize("make", [
    lambda name: sharedmem.Segment(name, 2**64),
    lambda name: sharedmem.RawSegment(name, 2**64),
    lambda name: sharedmem.RawSegment(name, 2**100),
    lambda name: sharedmem.Segment(name, -1),
])
def test_sizes_out_of_range_are_value_errors(make, name):
    with pytest.raises(ValueError) as info:
        make(name)
    assert info.value.sharedmem_error == sharedmem.ErrorCode.INVALID_SIZE


def test_versions_out_of_range_are_value_errors(name):
    with sharedmem.Segment(name, 8) as seg:
        for call in (lambda: seg.wait(seen=2**64, timeout=0),
                     lambda: seg.write_if(b"x", 2**64)):
            with pytest.raises(ValueError) as info:
                call()
            assert info.value.sharedmem_error == sharedmem.ErrorCode.INVALID_ARGUMENT
