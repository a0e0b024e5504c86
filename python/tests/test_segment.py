# SPDX-License-Identifier: MIT
"""Tests of sharedmem.Segment in one process: every method, bad input,
closed handles and the error mapping."""
import array
import errno
import importlib.util
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading

import pytest

import sharedmem
from support import Child, close_during, timeout, wait_until_sleeping


def test_the_package_is_the_installed_one():
    # What ships is what is tested: the package comes from site-packages, and
    # the C library it loads is the one bundled inside it.
    package_dir = os.path.dirname(sharedmem.__file__)
    assert "site-packages" in package_dir
    if sys.platform.startswith("linux"):
        with open("/proc/self/maps") as maps:
            loaded = {line.split()[-1] for line in maps if "libsharedmem" in line}
        assert loaded == {os.path.join(package_dir, "libsharedmem.so.1")}
        expected = os.environ.get("SHAREDMEM_EXPECTED_LIBRARY")
        if expected:  # ctest names the library it built and tested
            with open(expected, "rb") as built, open(os.path.join(package_dir, "libsharedmem.so.1"),
                                                      "rb") as bundled:
                assert built.read() == bundled.read()
    assert sharedmem.backend() in ("posix", "windows")


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("nm") is None,
                    reason="reads the extensions' ELF symbols with nm (binutils, Linux)")
def test_the_extensions_export_only_their_init():
    # Their C files call each other by plain names (segment_open, ...): hidden,
    # those bind inside the extension, never to a like-named symbol of
    # another library in the process. Found, not imported: importing _setget
    # would attach the default segment.
    for module in ("_core", "_setget"):
        path = importlib.util.find_spec(f"sharedmem.{module}").origin
        listing = subprocess.run(["nm", "-D", "--defined-only", path], check=True,
                                 capture_output=True, text=True).stdout
        assert [line.split()[-1] for line in listing.splitlines()] == [f"PyInit_{module}"]


def test_write_then_read_gives_the_value_and_counts_versions(name):
    with sharedmem.Segment(name, 64) as seg:
        assert seg.created and seg.capacity == 64 and seg.name == name
        assert seg.read() == b"" and seg.version == 0
        seg.write(b"hello")
        assert seg.read() == b"hello" and seg.version == 1
        seg.write(b"")
        assert seg.read() == b"" and seg.version == 2
        seg.write(b"x" * 64)
        assert seg.read() == b"x" * 64


def test_write_takes_any_bytes_like_object(name):
    with sharedmem.Segment(name, 64) as seg:
        for data, expected in ((bytearray(b"ab"), b"ab"), (memoryview(b"abcd")[1:3], b"bc"),
                               (array.array("i", [1, 2]), array.array("i", [1, 2]).tobytes())):
            seg.write(data)
            assert seg.read() == expected
        with pytest.raises(TypeError):
            seg.write("text")  # str is not bytes
        with pytest.raises(TypeError):
            seg.write(12)


def test_a_write_longer_than_the_capacity_is_refused_and_changes_nothing(name):
    with sharedmem.Segment(name, 8) as seg:
        seg.write(b"keep")
        with pytest.raises(ValueError) as info:
            seg.write(b"123456789")
        assert info.value.sharedmem_error == sharedmem.ErrorCode.VALUE_TOO_LARGE
        assert seg.read() == b"keep" and seg.version == 1


def test_read_follows_values_that_grow_and_shrink(name):
    with sharedmem.Segment(name, 200000) as seg:
        for size in (3, 100, 1, 150000, 70000, 0, 199999):  # both sides of the GIL threshold
            value = bytes((i * 7 + size) % 251 for i in range(size))
            seg.write(value)
            assert seg.read() == value


def test_read_into_copies_a_prefix_and_reports_size_and_version(name):
    with sharedmem.Segment(name, 64) as seg:
        seg.write(b"abcdef")
        buffer = bytearray(4)
        assert seg.read_into(buffer) == (6, 1)
        assert buffer == b"abcd"
        big = bytearray(16)
        assert seg.read_into(big) == (6, 1)
        assert big[:6] == b"abcdef"
        with pytest.raises(TypeError):
            seg.read_into(b"immutable")


def test_write_if_writes_only_on_the_expected_version(name):
    with sharedmem.Segment(name, 64) as seg:
        assert seg.write_if(b"first", 0) is True and seg.version == 1
        assert seg.write_if(b"stale", 0) is False
        assert seg.read() == b"first"
        assert seg.write_if(b"second", expected_version=1) is True
        assert seg.read() == b"second" and seg.version == 2
        with pytest.raises(ValueError):
            seg.write_if(b"x", -1)
        with pytest.raises(TypeError):
            seg.write_if(b"x", 1.5)


def test_copies_past_the_gil_threshold_answer_as_small_ones(name):
    # From 64 KiB on, copies run without the GIL: the same results and errors.
    size = 100000
    with sharedmem.Segment(name, size) as seg:
        value = bytes(i % 251 for i in range(size))
        assert seg.write_if(value, 0) is True
        assert seg.write_if(value[::-1], 0) is False
        buffer = bytearray(size + 10)
        assert seg.read_into(buffer) == (size, 1) and buffer[:size] == value
        with pytest.raises(ValueError) as info:
            seg.write(bytes(size + 1))
        assert info.value.sharedmem_error == sharedmem.ErrorCode.VALUE_TOO_LARGE
        assert seg.read() == value and seg.version == 1


def test_wait_returns_at_once_when_the_version_differs(name):
    with sharedmem.Segment(name, 64) as seg:
        seg.write(b"a")
        assert seg.wait(seen=0) == 1
        assert seg.wait(0, timeout=0) == 1


def test_wait_times_out_with_timeout_error(name):
    with sharedmem.Segment(name, 64) as seg:
        with pytest.raises(TimeoutError) as info:
            seg.wait(timeout=0.05)
        assert info.value.sharedmem_error == sharedmem.ErrorCode.TIMEOUT
        with pytest.raises(TimeoutError):
            seg.wait(timeout=0)


def test_wait_refuses_bad_arguments(name):
    with sharedmem.Segment(name, 64) as seg:
        with pytest.raises(ValueError):
            seg.wait(timeout=-1)
        with pytest.raises(ValueError):
            seg.wait(timeout=float("nan"))
        with pytest.raises(ValueError):
            seg.wait(seen=-1)
        with pytest.raises(TypeError):
            seg.wait(timeout="1")


def test_wait_without_seen_waits_past_the_last_value_read(name):
    with sharedmem.Segment(name, 64) as seg, sharedmem.Segment(name, 64) as writer:
        writer.write(b"one")
        assert seg.read() == b"one"  # this handle has now seen version 1
        done = threading.Event()
        result = []

        def wait_in_thread():
            result.append(seg.wait(timeout=timeout(10)))
            done.set()

        thread = threading.Thread(target=wait_in_thread)
        thread.start()
        writer.write(b"two")
        assert done.wait(timeout(10))
        thread.join()
        assert result == [2]
        # The write came between read and wait or during it: either way wait
        # saw it, and the handle has now seen version 2.
        with pytest.raises(TimeoutError):
            seg.wait(timeout=0.01)


def test_wait_is_interrupted_by_ctrl_c():
    # A child waits with no timeout; SIGINT must end it with KeyboardInterrupt
    # (wait releases the GIL and looks at signals between short slices).
    child = Child(
        "import sharedmem, sys\n"
        "seg = sharedmem.Segment(sys.argv[1], 8)\n"
        "try:\n"
        "    print('waiting', flush=True)\n"
        "    seg.wait()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n",
        f"py_ctrl_c_{os.getpid()}")
    child.expect("waiting")
    wait_until_sleeping(child.process.pid)
    child.process.send_signal(signal.SIGINT)
    child.expect("interrupted")
    assert child.finish()[0] == 0


def test_closing_a_segment_that_another_thread_waits_on_ends_the_wait(name):
    seg = sharedmem.Segment(name, 64)
    errors = close_during(seg, lambda: seg.wait(timeout=timeout(10)))
    assert seg.closed
    assert len(errors) == 1


def test_open_modes(name):
    with pytest.raises(FileNotFoundError) as info:
        sharedmem.Segment(name, 16, mode="open")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == name
    assert info.value.sharedmem_error == sharedmem.ErrorCode.NOT_FOUND
    with sharedmem.Segment(name, 16, mode="create") as first:
        assert first.created
        with pytest.raises(FileExistsError) as info:
            sharedmem.Segment(name, 16, mode="create")
        assert info.value.errno == errno.EEXIST
        with sharedmem.Segment(name, mode="open") as opened:  # capacity 0: the segment's own
            assert not opened.created and opened.capacity == 16
        with sharedmem.Segment(name, 16) as joined:
            assert not joined.created
        with pytest.raises(ValueError) as info:
            sharedmem.Segment(name, 17)
        assert info.value.sharedmem_error == sharedmem.ErrorCode.SIZE_MISMATCH


@pytest.mark.parametrize("bad, error", [
    ("", ValueError), ("a/b", ValueError), (".hidden", ValueError), ("a\0b", ValueError),
    ("x" * 129, ValueError), ("é", ValueError), (b"bytes", TypeError), (None, TypeError),
    (42, TypeError)])
def test_bad_names_are_refused(bad, error):
    with pytest.raises(error):
        sharedmem.Segment(bad, 16)


def test_bad_capacities_and_modes_are_refused(name):
    with pytest.raises(ValueError):
        sharedmem.Segment(name, -1)
    with pytest.raises(ValueError) as info:
        sharedmem.Segment(name, 0)  # open_or_create needs a capacity
    assert info.value.sharedmem_error == sharedmem.ErrorCode.INVALID_SIZE
    with pytest.raises(TypeError):
        sharedmem.Segment(name, 1.5)
    with pytest.raises(ValueError):  # as the docs say (not OverflowError): test_views.py
        sharedmem.Segment(name, 2**64)
    with pytest.raises(ValueError):
        sharedmem.Segment(name, 16, mode="append")
    with pytest.raises(TypeError):
        sharedmem.Segment(name, 16, "create")  # mode is keyword-only


def test_a_closed_segment_refuses_every_operation(name):
    seg = sharedmem.Segment(name, 16)
    seg.close()
    seg.close()  # twice is fine
    assert seg.closed
    assert "closed" in repr(seg)
    for operation in (seg.read, lambda: seg.write(b"x"), lambda: seg.read_into(bytearray(4)),
                      lambda: seg.write_if(b"x", 0), seg.wait, lambda: seg.version,
                      lambda: seg.capacity, lambda: pickle.dumps(seg), seg.__enter__):
        with pytest.raises(ValueError):
            operation()
    assert seg.name == name


def test_repr_and_pickle(name):
    with sharedmem.Segment(name, 32) as seg:
        assert repr(seg) == f"sharedmem.Segment({name!r}, capacity=32)"
        seg.write(b"pickled")
        copy = pickle.loads(pickle.dumps(seg))
        with copy:
            assert copy.read() == b"pickled" and not copy.created and copy.capacity == 32


def test_segment_is_gone_after_the_last_close(name):
    seg = sharedmem.Segment(name, 16)
    seg.write(b"x")
    seg.close()
    with pytest.raises(FileNotFoundError):
        sharedmem.Segment(name, mode="open")
    with sharedmem.Segment(name, 16) as fresh:
        assert fresh.created and fresh.read() == b"" and fresh.version == 0


def test_error_codes_and_messages():
    assert sharedmem.strerror(sharedmem.ErrorCode.NOT_FOUND).startswith("not found")
    for code in sharedmem.ErrorCode:
        assert sharedmem.strerror(code)
