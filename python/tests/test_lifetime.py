# SPDX-License-Identifier: MIT
"""Lifetime across processes: a segment lives while any process holds it,
even after its creator is killed with SIGKILL, and is gone, with nothing left
in /dev/shm, once every user has left; no resource-tracker warnings."""
import os
import signal
import subprocess
import sys

import pytest

import sharedmem
from support import Child, shm_files, timeout

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")

CREATOR = (
    "import sharedmem, sys\n"
    "seg = sharedmem.Segment(sys.argv[1], 64, mode='create')\n"
    "seg.write(b'written by the creator')\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n")


def kill(child):
    child.process.kill()  # SIGKILL: no exit handler runs
    child.process.wait(timeout(30))
    assert child.process.returncode == -signal.SIGKILL


def test_a_segment_outlives_its_killed_creator_while_another_holds_it(name):
    creator = Child(CREATOR, name)
    creator.expect("ready")
    with sharedmem.Segment(name, mode="open") as holder:
        kill(creator)
        assert holder.read() == b"written by the creator"
        with sharedmem.Segment(name, mode="open") as again:  # still there by name
            assert again.read() == b"written by the creator"
    # The last user closed: the name is gone and so is its file.
    with pytest.raises(FileNotFoundError):
        sharedmem.Segment(name, mode="open")
    assert shm_files(name) == []


def test_a_segment_whose_only_user_was_killed_is_gone(name):
    creator = Child(CREATOR, name)
    creator.expect("ready")
    kill(creator)
    with pytest.raises(FileNotFoundError):
        sharedmem.Segment(name, mode="open")
    # The dead user's file is removed by the next process that creates a
    # segment (README, lifetime rule 5): a fresh process creates one.
    sweeper = subprocess.run(
        [sys.executable, "-c",
         "import sharedmem, sys; sharedmem.Segment(sys.argv[1], 8).close()", name + "_sweep"],
        timeout=timeout(30))
    assert sweeper.returncode == 0
    assert shm_files(name) == [] and shm_files(name + "_sweep") == []


def test_a_process_that_exits_without_closing_leaves_nothing(name):
    result = subprocess.run(
        [sys.executable, "-c",
         "import sharedmem, sys\n"
         "seg = sharedmem.Segment(sys.argv[1], 64)\n"
         "seg.write(b'x')\n"
         "sys.exit(0)  # no close\n", name],
        capture_output=True, text=True, timeout=timeout(30))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert shm_files(name) == []


def test_no_resource_tracker_warnings_at_exit(name, tmp_path):
    # Segments created and shared with spawned children: the standard
    # SharedMemory's resource tracker would warn of "leaked" segments here.
    script = (
        "import multiprocessing as mp, sharedmem, sys\n"
        "def child(name):\n"
        "    seg = sharedmem.Segment(name, mode='open')\n"
        "    seg.write(b'child')\n"
        "if __name__ == '__main__':\n"
        "    seg = sharedmem.Segment(sys.argv[1], 64)\n"
        "    p = mp.get_context('spawn').Process(target=child, args=(sys.argv[1],))\n"
        "    p.start(); p.join()\n"
        "    assert p.exitcode == 0\n"
        "    print(seg.read().decode())\n")
    (tmp_path / "spawner.py").write_text(script)
    result = subprocess.run([sys.executable, str(tmp_path / "spawner.py"), name],
                            capture_output=True, text=True,
                            timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "child"
    assert result.stderr == ""
    assert shm_files(name) == []


def test_prune_removes_what_a_killed_only_user_left(name):
    """Tests that sharedmem.prune() removes, now, the object of a segment
    whose only user was killed, reports it, and leaves a live segment be."""
    with sharedmem.Segment(name + "_live", 8) as live:
        live.write(b"kept")
        # A test running in parallel may sweep the dead object before prune
        # does: then prune has nothing to count, and the scenario is played
        # again under a new name.
        for attempt in range(5):
            dead = "%s_%d" % (name, attempt)
            creator = Child(CREATOR, dead)
            creator.expect("ready")
            kill(creator)
            removed = sharedmem.prune()
            assert shm_files(dead) == []
            if removed >= 1:
                break
        else:
            raise AssertionError("prune removed no dead segment in 5 attempts")
        assert live.read() == b"kept"
