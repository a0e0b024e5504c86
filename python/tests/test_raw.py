# SPDX-License-Identifier: MIT
"""RawSegment and the drop-in SharedMemory: buffers shared in place, numpy
views in two processes, the robust lock, notify/wait, and the standard
library's multiprocessing.shared_memory examples run unchanged against
sharedmem.SharedMemory. Skipped when the library has no raw segments."""
import multiprocessing
import multiprocessing.shared_memory
import pickle
import signal
import warnings

import pytest

import sharedmem
from support import Child, close_during, shm_files, timeout, wait_until_sleeping

pytestmark = pytest.mark.skipif(not sharedmem.HAVE_RAW, reason="library without raw segments")
START_METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def test_raw_buffer_is_shared_in_place(name):
    with sharedmem.RawSegment(name, 5000) as a, sharedmem.RawSegment(name, mode="open") as b:
        assert a.created and not b.created and a.size == b.size == 5000
        assert bytes(a.buf) == bytes(5000)  # zero-filled
        a.buf[10:15] = b"hello"
        assert bytes(b.buf[10:15]) == b"hello"
        assert a.buf is a.buf and a.buf.format == "B" and not a.buf.readonly


def test_close_ends_the_objects_use(name):
    # What happens to views: test_views.py.
    seg = sharedmem.RawSegment(name, 64)
    seg.close()
    assert seg.closed
    with pytest.raises(ValueError):
        seg.buf


def test_notify_wakes_wait(name):
    with sharedmem.RawSegment(name, 64) as a, sharedmem.RawSegment(name, 64) as b:
        assert a.notify() == 1 and b.wait(timeout=timeout(10)) == 1
        with pytest.raises(TimeoutError):
            b.wait(timeout=0.01)


def test_a_value_segment_is_not_raw(name):
    with sharedmem.Segment(name, 64):
        with pytest.raises(OSError) as info:
            sharedmem.RawSegment(name, 64)
        assert info.value.sharedmem_error == sharedmem.ErrorCode.WRONG_KIND


def hold_the_lock(name):
    """A child that holds the lock of the raw segment `name` until its stdin
    ends."""
    holder = Child("import sharedmem, sys\n"
                   "seg = sharedmem.RawSegment(sys.argv[1], mode='open')\n"
                   "seg.lock()\n"
                   "print('locked', flush=True)\n"
                   "sys.stdin.readline()\n", name)
    holder.expect("locked")
    return holder


def test_lock_is_a_context_manager_and_times_out(name):
    with sharedmem.RawSegment(name, 64) as seg:
        with seg.lock(timeout=timeout(10)) as held:
            assert held.held and not held.owner_died
        assert not held.held
        holder = hold_the_lock(name)
        with pytest.raises(TimeoutError):
            seg.lock(timeout=0.05)
        holder.process.kill()  # dies holding the lock
        holder.process.wait(timeout(30))
        with pytest.warns(sharedmem.OwnerDiedWarning):
            guard = seg.lock(timeout=timeout(10))
        assert guard.owner_died
        guard.release()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with seg.lock(timeout=timeout(10)) as again:  # a healthy lock afterwards
                assert not again.owner_died


def test_lock_is_interrupted_by_ctrl_c(name):
    # As wait() (test_segment.py): lock() releases the GIL and looks at
    # signals between short slices.
    with sharedmem.RawSegment(name, 64):
        holder = hold_the_lock(name)
        locker = Child("import sharedmem, sys\n"
                       "seg = sharedmem.RawSegment(sys.argv[1], mode='open')\n"
                       "try:\n"
                       "    print('locking', flush=True)\n"
                       "    seg.lock()\n"
                       "except KeyboardInterrupt:\n"
                       "    print('interrupted', flush=True)\n", name)
        locker.expect("locking")
        wait_until_sleeping(locker.process.pid)
        locker.process.send_signal(signal.SIGINT)
        locker.expect("interrupted")
        assert locker.finish()[0] == 0
        holder.say("done")
        assert holder.finish()[0] == 0


def test_closing_a_raw_segment_that_another_thread_locks_ends_the_lock(name):
    with sharedmem.RawSegment(name, 64) as seg:
        holder = hold_the_lock(name)
        assert len(close_during(seg, lambda: seg.lock(timeout=timeout(10)))) == 1
        holder.say("done")
        assert holder.finish()[0] == 0


def add_under_lock(name, times):
    with sharedmem.RawSegment(name, mode="open") as seg:
        counter = seg.buf.cast("Q")
        for _ in range(times):
            with seg.lock():
                counter[0] += 1
        counter.release()


@pytest.mark.parametrize("method", START_METHODS)
def test_lock_excludes_across_processes(method, name):
    context = multiprocessing.get_context(method)
    with sharedmem.RawSegment(name, 8) as seg:
        children = [context.Process(target=add_under_lock, args=(name, 500)) for _ in range(3)]
        for child in children:
            child.start()
        add_under_lock(name, 500)
        for child in children:
            child.join(timeout(60))
            assert child.exitcode == 0
        assert int.from_bytes(bytes(seg.buf), "little") == 2000


def numpy_child(name):
    import numpy as np
    with sharedmem.RawSegment(name, mode="open") as seg:
        array = np.ndarray((4, 4), dtype=np.float64, buffer=seg.buf)
        array *= 2
        del array
        seg.notify()


@pytest.mark.parametrize("method", START_METHODS)
def test_numpy_views_in_two_processes(method, name):
    np = pytest.importorskip("numpy")
    context = multiprocessing.get_context(method)
    with sharedmem.RawSegment(name, 16 * 8) as seg:
        array = np.ndarray((4, 4), dtype=np.float64, buffer=seg.buf)
        array[:] = np.arange(16).reshape(4, 4)
        child = context.Process(target=numpy_child, args=(name,))
        child.start()
        seg.wait(seen=0, timeout=timeout(30))
        child.join(timeout(30))
        assert child.exitcode == 0
        assert (array == np.arange(16).reshape(4, 4) * 2).all()
        del array


# --- the drop-in ------------------------------------------------------------

def test_standard_documentation_example_basic():
    # From the multiprocessing.shared_memory documentation, unchanged.
    from sharedmem import SharedMemory as shared_memory_SharedMemory
    shm_a = shared_memory_SharedMemory(create=True, size=10)
    assert type(shm_a.buf) is memoryview
    buffer = shm_a.buf
    assert len(buffer) == 10
    buffer[:4] = bytearray([22, 33, 44, 55])
    buffer[4] = 100
    shm_b = shared_memory_SharedMemory(shm_a.name)
    import array
    assert array.array('b', shm_b.buf[:5]).tolist() == [22, 33, 44, 55, 100]
    shm_b.buf[:5] = b'howdy'
    assert bytes(shm_a.buf[:5]) == b'howdy'
    shm_b.close()
    shm_a.close()
    shm_a.unlink()
    assert shm_files(shm_a.name) == []


def test_standard_documentation_example_numpy():
    np = pytest.importorskip("numpy")
    from sharedmem import SharedMemory
    a = np.array([1, 1, 2, 3, 5, 8])
    shm = SharedMemory(create=True, size=a.nbytes)
    b = np.ndarray(a.shape, dtype=a.dtype, buffer=shm.buf)
    b[:] = a[:]
    existing_shm = SharedMemory(name=shm.name)
    c = np.ndarray((6,), dtype=np.int64, buffer=existing_shm.buf)
    c[-1] = 888
    assert b.tolist() == [1, 1, 2, 3, 5, 888]
    del c
    existing_shm.close()
    del b
    shm.close()
    shm.unlink()


def test_shareable_list_works_over_the_drop_in(monkeypatch):
    monkeypatch.setattr(multiprocessing.shared_memory, "SharedMemory", sharedmem.SharedMemory)
    from multiprocessing.shared_memory import ShareableList
    a = ShareableList(['howdy', b'HoWdY', -273.154, 100, None, True, 42])
    assert isinstance(a.shm, sharedmem.SharedMemory)
    a[2] = -78.5
    a[-1] = 'dry ice'
    b = ShareableList(name=a.shm.name)
    assert list(b) == ['howdy', b'HoWdY', -78.5, 100, None, True, 'dry ice']
    c = pickle.loads(pickle.dumps(b))
    assert c[0] == 'howdy'
    for sl in (c, b, a):
        sl.shm.close()
    a.shm.unlink()


def test_drop_in_matches_the_standard_constructor_errors():
    from sharedmem import SharedMemory
    with pytest.raises(ValueError, match="'size' must be a positive integer"):
        SharedMemory(create=True, size=-1)
    with pytest.raises(ValueError, match="different from zero"):
        SharedMemory(create=True, size=0)
    with pytest.raises(ValueError, match="'name' can only be None if create=True"):
        SharedMemory()
    with pytest.raises(FileNotFoundError) as info:
        SharedMemory("py_no_such_block")
    assert info.value.filename == "/py_no_such_block" and info.value.errno == 2
    with pytest.raises(TypeError):
        SharedMemory(b"bytes")
    with pytest.raises(ValueError):
        SharedMemory("a\0b", create=True, size=8)
    with pytest.raises(OSError):
        SharedMemory("a/b", create=True, size=8)


def test_drop_in_names_repr_and_pickling(name):
    from sharedmem import SharedMemory
    shm = SharedMemory(name, create=True, size=32)
    assert shm.name == name and shm.size == 32
    assert repr(shm) == f"SharedMemory({name!r}, size=32)"
    with pytest.raises(FileExistsError) as info:
        SharedMemory(name, create=True, size=32)
    assert info.value.filename == "/" + name
    slashed = SharedMemory("/" + name)  # the same block, as shm_open has it
    assert slashed.name == "/" + name and slashed.size == 32
    copy = pickle.loads(pickle.dumps(shm))
    assert copy.name == name and copy.size == 32
    weird = SharedMemory("my block é", create=True, size=8)  # any name shm_open takes
    assert weird.name == "my block é"
    assert SharedMemory("my block é").size == 8
    for block in (weird, copy, slashed, shm):
        block.close()
    assert shm_files(name) == []


def hold_drop_in(name, results, go):
    from sharedmem import SharedMemory
    shm = SharedMemory(name)
    results.put(bytes(shm.buf[:4]))
    go.get()  # until the parent has closed and unlinked
    results.put(bytes(shm.buf[:4]))
    shm.close()


def test_unlink_never_removes_a_block_others_hold():
    from sharedmem import SharedMemory
    context = multiprocessing.get_context("spawn")
    results, go = context.Queue(), context.Queue()
    shm = SharedMemory(create=True, size=16)
    shm.buf[:4] = b"kept"
    child = context.Process(target=hold_drop_in, args=(shm.name, results, go))
    child.start()
    assert results.get(timeout=timeout(30)) == b"kept"
    name = shm.name
    shm.close()
    shm.unlink()
    go.put("go")
    # The standard class would have removed it under the child here; ours
    # lives on, and the child still reads it by its mapping.
    assert results.get(timeout=timeout(30)) == b"kept"
    child.join(timeout(30))
    assert child.exitcode == 0
    assert shm_files(name) == []


def test_raw_bad_input_and_closed_handles(name):
    with pytest.raises(ValueError):
        sharedmem.RawSegment(name, -1)
    with pytest.raises(ValueError):
        sharedmem.RawSegment(name, 0)  # open_or_create needs a size
    with pytest.raises(ValueError):
        sharedmem.RawSegment("a\0b", 8)
    with pytest.raises(TypeError):
        sharedmem.RawSegment(name, "8")
    with pytest.raises(FileNotFoundError):
        sharedmem.RawSegment(name, mode="open")
    seg = sharedmem.RawSegment(name, 8)
    with pytest.raises(ValueError):
        seg.lock(timeout=-1)
    with pytest.raises(RuntimeError) as info:  # unlock without lock, as threading.Lock
        seg.unlock()
    assert info.value.sharedmem_error == sharedmem.ErrorCode.NOT_HELD
    assert not hasattr(seg, "read") and not hasattr(seg, "write")
    assert repr(seg) == f"sharedmem.RawSegment({name!r}, size=8)"
    copy = pickle.loads(pickle.dumps(seg))
    assert copy.size == 8 and not copy.created
    copy.close()
    seg.close()
    seg.close()
    for operation in (lambda: seg.buf, seg.lock, seg.unlock, seg.notify, seg.wait,
                      lambda: seg.size, lambda: memoryview(seg), lambda: pickle.dumps(seg)):
        with pytest.raises((ValueError, BufferError)):
            operation()


def test_drop_in_accepts_track_and_the_manager_example(monkeypatch):
    # The SharedMemoryManager example of the standard documentation, with
    # the standard class replaced by ours.
    from sharedmem import SharedMemory
    SharedMemory(create=True, size=8, track=False).close()
    monkeypatch.setattr(multiprocessing.shared_memory, "SharedMemory", sharedmem.SharedMemory)
    from multiprocessing.managers import SharedMemoryManager
    with SharedMemoryManager() as smm:
        sl = smm.ShareableList(range(2000))
        assert isinstance(sl.shm, sharedmem.SharedMemory)
        assert sum(sl[i] for i in range(0, 2000, 500)) == 0 + 500 + 1000 + 1500
        shm = smm.SharedMemory(size=128)
        shm.buf[0] = 7
        # Keep the object: its __del__ releases buf, as the standard one does.
        opened = SharedMemory(shm.name)
        assert opened.buf[0] == 7
        opened.close()


DROP_IN_CREATOR = (
    "import sharedmem, sys\n"
    "shm = sharedmem.SharedMemory(sys.argv[1], create=True, size=64)\n"
    "shm.buf[:7] = b'created'\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n")


def test_drop_in_block_outlives_its_killed_creator(name):
    from sharedmem import SharedMemory
    creator = Child(DROP_IN_CREATOR, name)
    creator.expect("ready")
    holder = SharedMemory(name)
    creator.process.kill()
    creator.process.wait(timeout(30))
    assert bytes(holder.buf[:7]) == b"created"
    holder.close()
    with pytest.raises(FileNotFoundError):
        SharedMemory(name)
    assert shm_files(name) == []


def test_drop_in_leaves_nothing_and_warns_nothing(name, tmp_path):
    # What the standard class gets wrong: a block created by one process and
    # used by a spawned child; the standard resource tracker would unlink it
    # when the child exits and warn about a leak at the end.
    script = (
        "import multiprocessing as mp, sharedmem, sys\n"
        "def child(name):\n"
        "    shm = sharedmem.SharedMemory(name)\n"
        "    shm.buf[0] = 42\n"
        "if __name__ == '__main__':\n"
        "    shm = sharedmem.SharedMemory(sys.argv[1], create=True, size=16)\n"
        "    p = mp.get_context('spawn').Process(target=child, args=(sys.argv[1],))\n"
        "    p.start(); p.join()\n"
        "    assert p.exitcode == 0\n"
        "    again = sharedmem.SharedMemory(sys.argv[1])\n"
        "    print(again.buf[0])\n")
    (tmp_path / "drop_in.py").write_text(script)
    import subprocess
    import sys
    result = subprocess.run([sys.executable, str(tmp_path / "drop_in.py"), name],
                            capture_output=True, text=True, timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"
    assert result.stderr == ""
    assert shm_files(name) == []
