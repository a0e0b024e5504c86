# SPDX-License-Identifier: MIT
"""Helpers of the Python tests: unique names, scaled timeouts, child
processes that report readiness on a line, and what is left in /dev/shm."""
import itertools
import os
import re
import select
import subprocess
import sys
import threading
import time

_counter = itertools.count()


def unique_name(hint="t"):
    """A name no other test or run uses: the test's name, pid and a counter,
    in the library's character set."""
    hint = re.sub(r"[^A-Za-z0-9_-]", "_", hint)[:60]
    return f"py_{hint}_{os.getpid()}_{next(_counter)}"


def timeout(seconds):
    """`seconds` scaled by SHAREDMEM_TEST_TIMEOUT_MULTIPLIER, as the C++ suite does."""
    return seconds * float(os.environ.get("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER", "1"))


def shm_files(name):
    """The files in /dev/shm that belong to the segment `name` (Linux)."""
    if not os.path.isdir("/dev/shm"):
        return []
    return [f for f in os.listdir("/dev/shm") if f.split(".", 2)[-1] == name]


class Child:
    """A Python child running `code`; it talks in lines on stdin/stdout."""

    def __init__(self, code, *args, **popen):
        """`popen`: more arguments of subprocess.Popen (user=, group=, ...)."""
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, **popen)

    def expect(self, line, seconds=10):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout(seconds))
        got = self.process.stdout.readline().strip() if ready else "<nothing in time>"
        if got != line:
            self.process.kill()
            _, err = self.process.communicate(timeout=timeout(10))
            raise AssertionError(f"child said {got!r}, expected {line!r}; stderr:\n{err}")

    def say(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self):
        out, err = self.process.communicate(timeout=timeout(30))
        return self.process.returncode, out, err


def wait_until_sleeping(pid):
    """Returns once the process sleeps (Linux: state S in /proc), so that the
    signal reaches it inside wait() or lock() rather than before; elsewhere
    at once."""
    stat = f"/proc/{pid}/stat"
    if not os.path.exists(stat):
        return
    deadline = time.monotonic() + timeout(10)
    while time.monotonic() < deadline:
        with open(stat) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "S":
                return
    raise AssertionError("the child never went to sleep")


def close_during(segment, blocking_call):
    """Closes `segment` while another thread runs blocking_call(), a wait on
    it that nothing else ends within seconds, and returns the ValueErrors
    that call raised: close() comes before the call begins or during it, and
    either way the call must end in ValueError, never use a freed handle."""
    errors = []
    started = threading.Event()

    def run():
        started.set()
        try:
            blocking_call()
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(timeout(10))
    segment.close()
    thread.join(timeout(10))
    assert not thread.is_alive()
    return errors
