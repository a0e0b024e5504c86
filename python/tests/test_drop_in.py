# SPDX-License-Identifier: MIT
"""sharedmem.shared_memory as a drop-in for multiprocessing.shared_memory:
the three classes from both import paths, and install(), the one-line
switch of a whole program, tested on a program written only for the
standard module (programs/pool_numpy.py: numpy on a SharedMemory, a Pool
attaching by name, ShareableLists, a SharedMemoryManager) with each start
method, the switch at the top and under ``if __name__ == "__main__":``."""
import multiprocessing
import multiprocessing.managers
import multiprocessing.shared_memory
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import sharedmem
from support import shm_files, timeout

pytestmark = pytest.mark.skipif(not sharedmem.HAVE_RAW, reason="library without raw segments")

PROGRAM = Path(__file__).parent / "programs" / "pool_numpy.py"
START_METHODS = [m for m in ("fork", "spawn", "forkserver")
                 if m in multiprocessing.get_all_start_methods()]
SWITCH = "import sharedmem.shared_memory; sharedmem.shared_memory.install()"
EXPECTED = ["sum of squares: 2470", "lists: [2, 5.0, 'abab'] [20, 40]"]


def test_the_three_classes_from_both_import_paths():
    from sharedmem import ShareableList, SharedMemory, SharedMemoryManager
    from sharedmem import shared_memory
    assert (shared_memory.SharedMemory, shared_memory.ShareableList,
            shared_memory.SharedMemoryManager) == (SharedMemory, ShareableList,
                                                   SharedMemoryManager)
    assert issubclass(ShareableList, multiprocessing.shared_memory.ShareableList)
    assert issubclass(SharedMemoryManager, multiprocessing.managers.SharedMemoryManager)
    assert set(shared_memory.__all__) >= {"SharedMemory", "ShareableList",
                                          "SharedMemoryManager", "install"}


def test_shareable_list_lives_on_a_sharedmem_block():
    from sharedmem.shared_memory import ShareableList
    a = ShareableList(["howdy", b"HoWdY", -273.154, 100, None, True, 42])
    assert isinstance(a.shm, sharedmem.SharedMemory)
    a[2] = -78.5
    b = ShareableList(name=a.shm.name)
    assert list(b) == ["howdy", b"HoWdY", -78.5, 100, None, True, 42]
    c = pickle.loads(pickle.dumps(b))
    assert type(c) is ShareableList and c[0] == "howdy"
    assert a.count(100) == 1 and a.index(True) == 5
    name = a.shm.name
    for sl in (c, b, a):
        sl.shm.close()
    assert shm_files(name) == []


def test_manager_makes_sharedmem_blocks_and_shuts_down_after_they_are_gone():
    from sharedmem.shared_memory import SharedMemoryManager
    with SharedMemoryManager() as manager:
        shm = manager.SharedMemory(size=128)
        sl = manager.ShareableList(range(10))
        assert isinstance(shm, sharedmem.SharedMemory) and isinstance(sl.shm, sharedmem.SharedMemory)
        shm.buf[0] = 7
        opened = sharedmem.SharedMemory(shm.name)
        assert opened.buf[0] == 7
        opened.close()
        assert sum(sl) == 45
        names = [shm.name, sl.shm.name]
        shm.close()
        sl.shm.close()
    # The standard manager would open each block at shutdown to unlink it;
    # these went with their last holder, and the shutdown did not fail.
    for name in names:
        assert shm_files(name) == []


def run_program(method, switch, tmp_path):
    """Runs the program, with the switch at `switch` ('top', 'main' or
    None), and returns its output lines; no stderr allowed (the standard
    module's resource tracker warns there)."""
    source = PROGRAM.read_text()
    if switch == "top":
        source = SWITCH + "\n" + source
    elif switch == "main":
        guard = 'if __name__ == "__main__":\n'
        assert guard in source
        source = source.replace(guard, guard + "    " + SWITCH + "\n")
    script = tmp_path / f"program_{method}_{switch}.py"
    script.write_text(source)
    result = subprocess.run([sys.executable, str(script), method], capture_output=True,
                            text=True, timeout=timeout(240), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


@pytest.mark.parametrize("switch", ["top", "main"])
@pytest.mark.parametrize("method", START_METHODS)
def test_a_standard_program_runs_on_sharedmem_after_the_switch(method, switch, tmp_path):
    lines = run_program(method, switch, tmp_path)
    assert lines[:2] == EXPECTED
    # The parent and every child used sharedmem's classes.
    assert lines[2] == "classes: sharedmem.shared_memory ['sharedmem.shared_memory']"
    names = lines[3].split()[1:]
    for name in names:
        assert shm_files(name) == []
        assert not os.path.exists("/dev/shm/" + name)  # no standard block either


def test_the_program_is_a_standard_one(tmp_path):
    # Unswitched it runs on the standard module (fork: the quickest).
    if "fork" not in START_METHODS:
        pytest.skip("no fork on this OS")
    lines = run_program("fork", None, tmp_path)
    assert lines[:2] == EXPECTED
    assert lines[2] == "classes: multiprocessing.shared_memory ['multiprocessing.shared_memory']"


def test_install_rebinds_names_imported_before_it(tmp_path):
    script = tmp_path / "rebind.py"
    script.write_text(
        "from multiprocessing.shared_memory import SharedMemory\n"
        "import multiprocessing.shared_memory as standard\n"
        "import sharedmem.shared_memory\n"
        "sharedmem.shared_memory.install()\n"
        "sharedmem.shared_memory.install()\n"  # again: nothing more
        "print(SharedMemory is sharedmem.SharedMemory,\n"
        "      standard.SharedMemory is sharedmem.SharedMemory,\n"
        "      standard.ShareableList is sharedmem.ShareableList)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


# CPython's own SharedMemory tests that the drop-in fails by design, with
# the reason (python/README.md has the table): each asserts, on POSIX only,
# that unlink() removes a block others still hold.
CPYTHON_DIFFERENCES = {
    # a second unlink() must raise FileNotFoundError: unlink() does nothing
    "test_shared_memory_basics",
    # after the manager's shutdown, a block the test still holds must be gone
    "test_shared_memory_SharedMemoryManager_basics",
}


@pytest.mark.parametrize("method", START_METHODS)
def test_cpython_shared_memory_tests_pass_but_the_documented_differences(method, tmp_path):
    import importlib.util
    if importlib.util.find_spec("test._test_multiprocessing") is None:
        pytest.skip("CPython's test package is not installed (libpython3.11-testsuite)")
    runner = Path(__file__).parent / "cpython_shared_memory.py"
    result = subprocess.run([sys.executable, str(runner), method], capture_output=True,
                            text=True, timeout=timeout(300), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outcomes = dict(line.split() for line in result.stdout.splitlines())
    assert len(outcomes) >= 13, result.stderr
    failed = {test for test, outcome in outcomes.items() if outcome != "ok"}
    assert failed == CPYTHON_DIFFERENCES, result.stderr
