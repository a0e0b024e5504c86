# SPDX-License-Identifier: MIT
"""Sharing beyond one user: read-only handles (read_only=True, for Segment,
RawSegment and SharedMemory), shared segments (access=sharedmem.Access),
the checks of the access argument and the errors of both. The cases with
other users run as root only (children switch to throwaway uids) and are
skipped elsewhere."""
import dataclasses
import io
import os
import pickle
import subprocess
import sys

import pytest

import sharedmem
from sharedmem import Access, ErrorCode
from support import Child, shm_files, timeout

needs_raw = pytest.mark.skipif(not sharedmem.HAVE_RAW, reason="library without raw segments")
as_root = pytest.mark.skipif(
    os.name == "nt" or os.geteuid() != 0,
    reason="running children as other users needs root (setuid)")

# Throwaway identities for the children: no account needs to exist, the
# access lists name them as uid:N and gid:N.
WRITER_UID, READER_UID, STRANGER_UID, GROUP_GID = 61721, 61722, 61723, 61720


def expect_read_only_refusal(call):
    with pytest.raises(io.UnsupportedOperation) as info:
        call()
    assert info.value.sharedmem_error == ErrorCode.READ_ONLY
    assert sharedmem.strerror(ErrorCode.READ_ONLY) in str(info.value)
    return info.value


# --- the access argument ----------------------------------------------------


def test_access_keeps_its_lists_as_tuples_and_is_frozen():
    """Tests that Access takes any iterable of str, keeps tuples, and cannot
    be changed afterwards (a segment's access cannot drift from its list)."""
    access = Access(read_write=["group:video"], read_only=iter(["user:guest"]),
                    creators=("user:root",))
    assert access == Access(("group:video",), ("user:guest",), ("user:root",), False)
    assert access.read_only == ("user:guest",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        access.read_write = ()  # type: ignore[misc]
    assert Access() == Access((), (), (), False)


@pytest.mark.parametrize("kwargs,error,text", [
    ({"read_write": "group:video"}, TypeError, "not a single str"),
    ({"read_only": [b"user:guest"]}, TypeError, "must be a str"),
    ({"creators": 42}, TypeError, "sequence of principals"),
    ({"read_write": ["user:a\0b"]}, ValueError, "embedded null"),
    ({"low_integrity": 1}, TypeError, "must be a bool"),
])
def test_access_refuses_what_is_no_list_of_principals(kwargs, error, text):
    """Tests the mistakes Access catches before the library sees them."""
    with pytest.raises(error, match=text):
        Access(**kwargs)


def test_a_mapping_stands_for_an_access_and_anything_else_is_refused(name):
    """Tests that access= takes an Access or a mapping of its fields, and
    that a mapping with another key or another type is a TypeError, with
    nothing created."""
    with pytest.raises(TypeError, match="unknown key"):
        sharedmem.Segment(name, 64, access={"readwrite": ["group:video"]})
    with pytest.raises(TypeError, match="sharedmem.Access or a mapping"):
        sharedmem.Segment(name, 64, access=["group:video"])
    with pytest.raises(TypeError, match="not a single str"):
        sharedmem.Segment(name, 64, access={"read_write": "group:video"})
    assert shm_files(name) == []


def test_read_only_never_creates(name):
    """Tests that read_only=True with mode='create' is refused as a bad
    argument and that a read-only open of a name nobody holds is
    FileNotFoundError: neither creates anything."""
    with pytest.raises(ValueError, match="cannot create") as info:
        sharedmem.Segment(name, 64, mode="create", read_only=True)
    assert info.value.sharedmem_error == ErrorCode.INVALID_ARGUMENT
    for mode in ("open", "open_or_create"):
        with pytest.raises(FileNotFoundError) as info:
            sharedmem.Segment(name, 64, mode=mode, read_only=True)
        assert info.value.sharedmem_error == ErrorCode.NOT_FOUND
    assert shm_files(name) == []


def test_unknown_principal_is_a_value_error_naming_it(name):
    """Tests that a principal the system does not know is ValueError with
    UNKNOWN_PRINCIPAL, whose message names it (the library's detail), and
    that nothing is created."""
    for principal in ("group:sharedmem_no_such_group_xq", "nonsense"):
        with pytest.raises(ValueError) as info:
            sharedmem.Segment(name, 64, access=Access(read_only=[principal]))
        assert info.value.sharedmem_error == ErrorCode.UNKNOWN_PRINCIPAL
        assert principal in str(info.value), str(info.value)
    assert shm_files(name) == []


# --- read-only handles ------------------------------------------------------


def test_read_only_segment_reads_waits_and_refuses_writes(name):
    """Tests that a read-only Segment reads what the writer wrote, wakes for
    its next write, and that write() and write_if() raise
    io.UnsupportedOperation and change nothing."""
    with sharedmem.Segment(name, 64) as writer:
        writer.write(b"hello")
        with sharedmem.Segment(name, read_only=True) as reader:
            assert reader.read_only and not writer.read_only and reader.access is None
            assert not reader.created and reader.capacity == 64
            assert reader.read() == b"hello"
            version = reader.version
            expect_read_only_refusal(lambda: reader.write(b"x"))
            expect_read_only_refusal(lambda: reader.write_if(b"x", version))
            assert writer.read() == b"hello" and writer.version == version
            assert "read_only=True" in repr(reader)
            child = Child(
                "import sharedmem, sys\n"
                "s = sharedmem.Segment(sys.argv[1], mode='open')\n"
                "print('ready', flush=True)\n"
                "sys.stdin.readline()\n"
                "s.write(b'world')\n", name)
            child.expect("ready")
            child.say("go")
            assert reader.wait(version, timeout=timeout(10)) > version
            assert reader.read() == b"world"
            assert child.finish()[0] == 0


def test_a_read_only_handle_pickles_as_one(name):
    """Tests that a read-only Segment comes back from pickle read-only."""
    with sharedmem.Segment(name, 64) as writer, sharedmem.Segment(name, read_only=True) as r:
        writer.write(b"v")
        again = pickle.loads(pickle.dumps(r))
        assert again.read_only and again.read() == b"v"
        expect_read_only_refusal(lambda: again.write(b"w"))
        again.close()


def test_a_read_only_holder_keeps_the_segment_and_last_out_leaves_it_never_stale(name):
    """Tests that a read-only handle keeps the segment alive when the
    writer closes, and that after it closes too the name is not found,
    sharedmem.prune() leaves nothing of it, and the next creation starts
    empty (never the old value)."""
    writer = sharedmem.Segment(name, 64)
    writer.write(b"kept")
    reader = sharedmem.Segment(name, read_only=True)
    writer.close()
    with sharedmem.Segment(name, mode="open") as joined:
        assert not joined.created and joined.read() == b"kept"
    reader.close()
    with pytest.raises(FileNotFoundError):
        sharedmem.Segment(name, mode="open")
    sharedmem.prune()
    assert shm_files(name) == []
    with sharedmem.Segment(name, 64) as fresh:
        assert fresh.created and fresh.read() == b"" and fresh.version == 0


@needs_raw
def test_read_only_raw_buffer_is_read_only_and_lock_and_notify_refused(name):
    """Tests that a read-only RawSegment's buf is a read-only memoryview of
    the writer's bytes (numpy arrays over it are not writeable), and that
    lock() and notify() raise io.UnsupportedOperation, while wait() sees
    the writer's notify."""
    with sharedmem.RawSegment(name, 4096) as writer, \
            sharedmem.RawSegment(name, read_only=True) as reader:
        writer.buf[:5] = b"frame"
        view = reader.buf
        assert view.readonly and reader.read_only and reader.size == 4096
        assert bytes(view[:5]) == b"frame"
        with pytest.raises(TypeError):
            view[0] = 1
        with pytest.raises(TypeError):
            memoryview(reader)[0] = 1  # the segment's own export is read-only too
        expect_read_only_refusal(lambda: reader.lock(timeout=0))
        expect_read_only_refusal(reader.notify)
        seen = reader.version
        assert writer.notify() == seen + 1
        assert reader.wait(seen, timeout=timeout(10)) == seen + 1
        writer.buf[0:1] = b"F"
        assert bytes(view[:5]) == b"Frame"
        del view


@needs_raw
def test_numpy_arrays_over_a_read_only_buffer_are_not_writeable(name):
    np = pytest.importorskip("numpy")
    with sharedmem.RawSegment(name, 64) as writer, \
            sharedmem.RawSegment(name, read_only=True) as reader:
        writer.buf[:8] = bytes(range(8))
        for array in (np.frombuffer(reader.buf, dtype=np.uint8),
                      np.ndarray((8,), dtype=np.uint8, buffer=reader.buf)):
            assert not array.flags.writeable and list(array[:8]) == list(range(8))
            with pytest.raises(ValueError):
                array[0] = 9
            del array


@needs_raw
def test_shared_memory_read_only_attach(name):
    """Tests SharedMemory(name, read_only=True): the writer's bytes through a
    read-only buf, create=True with it refused, pickled it stays read-only."""
    from sharedmem import SharedMemory
    with pytest.raises(ValueError, match="read_only"):
        SharedMemory(name, create=True, size=16, read_only=True)
    block = SharedMemory(name, create=True, size=16)
    block.buf[:3] = b"abc"
    attached = SharedMemory(name, read_only=True)
    assert attached.read_only and not block.read_only
    assert attached.buf.readonly and bytes(attached.buf[:3]) == b"abc" and attached.size == 16
    with pytest.raises(TypeError):
        attached.buf[0] = 0
    assert "read_only=True" in repr(attached)
    again = pickle.loads(pickle.dumps(attached))
    assert again.read_only and again.buf.readonly
    for shm in (again, attached, block):
        shm.close()
    assert shm_files(name) == []


# --- shared segments, one user ----------------------------------------------


def test_shared_and_private_segments_of_one_name_never_meet(name):
    """Tests that a shared segment (an empty list: only this user) is joined
    by openers with the same list, is another segment than the private one
    of its name, and that prune(shared=True) leaves live ones alone."""
    with sharedmem.Segment(name, 64, access=Access()) as shared:
        assert shared.created and shared.access == Access()
        assert "access=Access(" in repr(shared)
        shared.write(b"shared")
        with sharedmem.Segment(name, mode="open", access={}) as joined:
            assert not joined.created and joined.read() == b"shared"
            assert isinstance(joined.access, Access)
        with pytest.raises(FileNotFoundError):
            sharedmem.Segment(name, mode="open")  # the private namespace
        with sharedmem.Segment(name, 64) as private:
            assert private.created and private.read() == b""
        assert isinstance(sharedmem.prune(shared=True), int)
        with sharedmem.Segment(name, read_only=True, access=Access()) as reader:
            assert reader.read() == b"shared"
            expect_read_only_refusal(lambda: reader.write(b"x"))
        again = pickle.loads(pickle.dumps(shared))
        assert again.access == Access() and again.read() == b"shared"
        again.close()
    assert shm_files(name) == []


# --- other users (root) -----------------------------------------------------


def as_user(uid, gid):
    """subprocess arguments that run a child as uid/gid, without root's
    supplementary groups."""
    return dict(user=uid, group=gid, extra_groups=[], cwd="/",
                env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def run_as(uid, gid, code, *args):
    """Runs `code` as uid/gid; (status, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout(60), **as_user(uid, gid))
    return done.returncode, done.stdout.strip(), done.stderr


ACCESS = Access(read_write=[f"gid:{GROUP_GID}"], read_only=[f"uid:{READER_UID}"],
                creators=["uid:0"])

# A child's attempt: opens the segment with ACCESS (read_only as argv[2]
# says), writes argv[3] unless empty, and prints what it read and the
# outcome of each step ("error NAME" for a library error).
ATTEMPT = """
import sys, sharedmem
access = sharedmem.Access(read_write=['gid:%d'], read_only=['uid:%d'], creators=['uid:0'])
def code(error):
    return 'error ' + sharedmem.ErrorCode(error.sharedmem_error).name
try:
    seg = sharedmem.Segment(sys.argv[1], mode='open', access=access,
                            read_only=sys.argv[2] == 'ro')
except OSError as error:
    print(code(error)); sys.exit(0)
print('read', seg.read().decode())
if sys.argv[3]:
    try:
        seg.write(sys.argv[3].encode()); print('wrote')
    except OSError as error:
        print(code(error))
""" % (GROUP_GID, READER_UID)


# A child that opens the segment read-write with ACCESS, says what it read
# on one line, and closes it when told.
HOLD = """
import sys, sharedmem
access = sharedmem.Access(read_write=['gid:%d'], read_only=['uid:%d'], creators=['uid:0'])
seg = sharedmem.Segment(sys.argv[1], mode='open', access=access)
print('holding', seg.read().decode(), flush=True)
sys.stdin.readline()
seg.close()
""" % (GROUP_GID, READER_UID)


@as_root
def test_listed_users_open_as_listed_and_nobody_else(name):
    """Tests the issue's scenario with throwaway ids: root creates a segment
    read-write for a group and read-only for a user; a member of the group
    reads and writes; the read-only user reads and its writes raise
    io.UnsupportedOperation; it is refused read-write, and a user not listed
    is refused both ways (PermissionError, ACCESS_DENIED)."""
    with sharedmem.Segment(name, 64, access=ACCESS) as owner:
        owner.write(b"from-root")
        assert run_as(WRITER_UID, GROUP_GID, ATTEMPT, name, "rw", "from-group")[:2] == \
            (0, "read from-root\nwrote")
        assert owner.read() == b"from-group"
        assert run_as(READER_UID, READER_UID, ATTEMPT, name, "ro", "nope")[:2] == \
            (0, "read from-group\nerror READ_ONLY")
        assert owner.read() == b"from-group"
        assert run_as(READER_UID, READER_UID, ATTEMPT, name, "rw", "")[:2] == \
            (0, "error ACCESS_DENIED")
        for mode in ("rw", "ro"):
            assert run_as(STRANGER_UID, STRANGER_UID, ATTEMPT, name, mode, "")[:2] == \
                (0, "error ACCESS_DENIED")


@as_root
def test_a_listed_user_last_out_leaves_nothing_stale(name):
    """Tests that when a listed user who is not the owner is the last out,
    the segment is gone for the next opener (never stale), and the owner's
    prune(shared=True) leaves nothing of it."""
    owner = sharedmem.Segment(name, 64, access=ACCESS)
    owner.write(b"old")
    holder = Child(HOLD, name, **as_user(WRITER_UID, GROUP_GID))
    holder.expect("holding old")
    owner.close()
    holder.say("close")
    status, _, err = holder.finish()
    assert status == 0, err
    with pytest.raises(FileNotFoundError):
        sharedmem.Segment(name, mode="open", access=ACCESS)
    sharedmem.prune(shared=True)
    assert shm_files(name) == []
    with sharedmem.Segment(name, 64, access=ACCESS) as fresh:
        assert fresh.created and fresh.read() == b""
