#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the sharedmem command, run by ctest on Linux and under Wine.

    cli_test.py [--only NAME] -- <command prefix...> <path to sharedmem>

The command prefix is empty natively and the Wine runner for the MinGW build.
Every case starts the command as a user would, checks its exit status and
output, and parses --json back. Processes synchronise on what they print
("ready", a watched value) and on exit statuses, never on sleeps; every wait
has a timeout scaled by SHAREDMEM_TEST_TIMEOUT_MULTIPLIER.
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

MULTIPLIER = float(os.environ.get("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER", "1"))
TIMEOUT = 20.0 * MULTIPLIER
COMMAND = []
BACKEND = ""


# A terminal's control sequence (CSI ... final byte, or OSC ... BEL).
TERMINAL_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


def unique(tag):
    return "cli%d_%s" % (os.getpid(), tag)


def run(*args, stdin=None, env=None):
    """Runs the command to its end: (status, stdout bytes, stderr text)."""
    environment = dict(os.environ, **(env or {}))
    done = subprocess.run(COMMAND + list(args), input=stdin, capture_output=True,
                          timeout=TIMEOUT, env=environment)
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_status(result, status, what):
    code, out, err = result
    expect(code == status, "%s: exit status %d, expected %d (stdout %r, stderr %r)"
           % (what, code, status, out[:300], err[:300]))


class Child:
    """A running command whose stdout is read line by line with timeouts."""

    def __init__(self, *args, terminal=False):
        self.buffer = b""
        self.terminal = terminal
        if terminal:  # stdout is a pseudo-terminal, as in an interactive shell
            self.master, slave = pty.openpty()
            self.process = subprocess.Popen(COMMAND + list(args), stdin=subprocess.PIPE,
                                            stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            self.out = self.master
        else:
            self.master = None
            self.process = subprocess.Popen(COMMAND + list(args), stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.out = self.process.stdout.fileno()

    def read_line(self, what):
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            expect(left > 0, "%s: no line in time (so far %r)" % (what, self.buffer))
            ready, _, _ = select.select([self.out], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.out, 4096)
            except OSError:  # a pseudo-terminal whose other side closed
                chunk = b""
            expect(chunk, "%s: output ended (so far %r, stderr %r)"
                   % (what, self.buffer, self.stderr()))
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if self.terminal:
            # Wine draws its console on a terminal with control sequences
            # (cursor moves, line erases) around the characters: keep what
            # the terminal shows.
            line = TERMINAL_CONTROL.sub(b"", line)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def stderr(self):
        if self.process.poll() is None:
            return "<running>"
        return self.process.stderr.read().decode("utf-8", "replace")

    def close_stdin(self):
        self.process.stdin.close()

    def wait(self, what):
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: did not exit in time" % what)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()  # SIGKILL
        self.process.wait(timeout=TIMEOUT)

    def finish(self):
        self.kill()
        if self.master is not None:
            os.close(self.master)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def hold(name, *extra):
    """Starts `hold` (stopped by closing its stdin) and waits for "ready"."""
    child = Child("hold", name, "--until-stdin-closes", *extra)
    expect(child.read_line("hold " + name) == "ready", "hold printed no 'ready'")
    return child


def listed(name, *extra):
    code, out, err = run("list", "--json", *extra)
    expect(code == 0, "list --json failed: %r" % err)
    entries = [entry for entry in json.loads(out) if entry["name"] == name]
    return entries[0] if entries else None


# --- the cases ---------------------------------------------------------------


def test_help_everywhere():
    code, out, _ = run("--help")
    expect(code == 0 and b"Exit status: 0 ok" in out, "sharedmem --help")
    for command in ("list", "info", "get", "set", "hold", "watch", "wait"):
        code, out, _ = run(command, "--help")
        expect(code == 0 and b"Usage:" in out and command.encode() in out,
               "sharedmem %s --help: %d %r" % (command, code, out[:200]))
    code, out, _ = run("--version")
    expect(code == 0 and ("(%s backend)" % BACKEND).encode() in out, "--version: %r" % out)


def test_usage_errors_exit_2():
    expect_status(run(), 2, "no subcommand")
    expect_status(run("frobnicate"), 2, "unknown subcommand")
    expect_status(run("list", "--bogus"), 2, "unknown option")
    expect_status(run("get"), 2, "missing NAME")
    expect_status(run("set", unique("x")), 2, "set without a value")
    expect_status(run("wait", unique("x"), "--timeout", "-1"), 2, "negative timeout")
    expect_status(run("wait", unique("x"), "--timeout", "soon"), 2, "timeout not a number")
    result = run("get", "bad/name")
    expect_status(result, 2, "invalid name")
    expect("invalid segment name" in result[2], "invalid name message: %r" % result[2])
    result = run("hold", unique("cap"), "--capacity", "lots")
    expect_status(result, 2, "capacity not a number")
    expect("invalid capacity 'lots'" in result[2], "capacity message: %r" % result[2])
    result = run("hold", unique("cap"), "--capacity", "0")
    expect_status(result, 1, "capacity 0")
    expect("invalid segment capacity" in result[2], "capacity 0 message: %r" % result[2])


def test_absent_names_exit_3():
    name = unique("absent")
    for args in (("get", name), ("info", name), ("watch", name), ("wait", name),
                 ("hold", name), ("info", name, "--json")):
        result = run(*args)
        expect_status(result, 3, " ".join(args))
        expect("not found" in result[2] and name in result[2],
               "%s: message %r" % (" ".join(args), result[2]))
    expect(listed(name) is None, "an absent name is listed")


def test_set_on_unheld_name_points_at_hold():
    name = unique("unheld")
    result = run("set", name, "lost")
    expect_status(result, 3, "set on an unheld name")
    expect("sharedmem hold %s" % name in result[2] and "vanish" in result[2],
           "set message: %r" % result[2])
    expect(listed(name) is None, "set left a segment behind")


def test_hold_set_get_list_info_across_processes():
    name = unique("shared")
    holder = hold(name, "--capacity", "1K", "--value", "first")
    try:
        code, out, _ = run("get", name)
        expect(code == 0 and out == b"first", "get: %d %r" % (code, out))
        expect_status(run("set", name, "second"), 0, "set")
        code, out, _ = run("get", name, "--json")
        value = json.loads(out)
        expect(code == 0 and value == {"name": name, "version": 2, "size": 6, "value": "second"},
               "get --json: %r" % value)
        binary = bytes(range(256))
        expect_status(run("set", name, "-", stdin=binary), 0, "set from stdin")
        code, out, _ = run("get", name)
        expect(out == binary, "binary value through stdin and stdout")
        code, out, _ = run("get", name, "--json")
        expect("value_base64" in json.loads(out), "bytes that are no UTF-8 come as base64")
        result = run("set", name, "x" * 1025)
        expect_status(result, 1, "value too large")
        expect("value too large" in result[2], "too large message: %r" % result[2])

        entry = listed(name)
        expect(entry is not None, "list --json does not show the held segment")
        expect(entry["state"] == "live" and entry["kind"] == "value" and
               entry["capacity"] == 1024 and entry["value_size"] == 256 and
               entry["version"] == 3, "list entry: %r" % entry)
        if BACKEND == "posix":
            expect(entry["holders"] == 1, "one holder: %r" % entry)
            joiner = hold(name)  # joins at its capacity
            expect(listed(name)["holders"] == 2, "two holders")
            joiner.close_stdin()
            expect(joiner.wait("second holder") == 0, "second holder's exit status")
            joiner.finish()
            expect(listed(name)["holders"] == 1, "one holder again")
        else:
            expect(entry["holders"] is None, "holders unknown on Windows: %r" % entry)
        code, out, _ = run("list")
        row = [line for line in out.decode().splitlines() if line.startswith(name + " ")]
        expect(code == 0 and len(row) == 1 and row[0].split()[1:] ==
               ["value", "1024", "256", "3", "1" if BACKEND == "posix" else "unknown", "live"],
               "list table row: %r" % row)

        code, out, _ = run("info", name, "--json")
        info = json.loads(out)
        expect(code == 0 and info["layout_version"] == 3 and name in info["os_name"] and
               info["permissions"] and info["owner"], "info --json: %r" % info)
        if BACKEND == "posix":
            expect(info["mode"] == "0600" and info["permissions"].startswith("-rw-------"),
                   "info permissions: %r" % info)
        else:
            expect(info["os_name"] == "Local\\sharedmem." + name and
                   info["permissions"].startswith("D:P(A;;"), "info on Windows: %r" % info)
        code, out, _ = run("info", name)
        expect(code == 0 and b"state:          live" in out, "info: %r" % out)

        result = run("hold", name, "--capacity", "2K")
        expect_status(result, 1, "hold with another capacity")
        expect("size mismatch" in result[2], "mismatch message: %r" % result[2])
    finally:
        holder.close_stdin()
        status = holder.wait("holder")
        holder.finish()
    expect(status == 0, "hold exits 0 when stdin closes")
    expect(listed(name, "--all") is None, "the segment is gone with its last holder")


def watch_sees_values_in_order(terminal):
    name = unique("watched_tty" if terminal else "watched")
    holder = hold(name, "--capacity", "64", "--value", "one")
    watcher = Child("watch", name, "--count", "3", terminal=terminal)
    try:
        # Each value must arrive while watch still runs, before the next is set.
        expect(watcher.read_line("watch: current") == "one", "watch starts with the value")
        expect_status(run("set", name, "two"), 0, "set two")
        expect(watcher.read_line("watch: second") == "two", "watch sees the second value")
        expect_status(run("set", name, "three"), 0, "set three")
        expect(watcher.read_line("watch: third") == "three", "watch sees the third value")
        expect(watcher.wait("watch --count 3") == 0, "watch exits 0 after its count")
    finally:
        watcher.finish()
        holder.close_stdin()
        holder.wait("holder")
        holder.finish()


def test_watch_count_3_sees_three_values_in_order():
    watch_sees_values_in_order(terminal=False)


def test_watch_under_a_terminal_prints_each_value_as_it_arrives():
    watch_sees_values_in_order(terminal=True)


def test_watch_json_and_timeout():
    name = unique("watch_json")
    holder = hold(name, "--capacity", "64", "--value", "a\nb")
    try:
        code, out, _ = run("watch", name, "--count", "1", "--json")
        expect(code == 0 and json.loads(out) == {"version": 1, "size": 3, "value": "a\nb"},
               "watch --json: %r" % out)
        started = time.monotonic()
        expect_status(run("watch", name, "--timeout", "0.3"), 4, "watch --timeout")
        expect(time.monotonic() - started >= 0.3, "watch timed out early")
    finally:
        holder.close_stdin()
        holder.wait("holder")
        holder.finish()


def test_wait_times_out_with_4_and_returns_0_on_a_change():
    name = unique("waited")
    holder = hold(name, "--capacity", "64")
    try:
        started = time.monotonic()
        result = run("wait", name, "--timeout", "0.25")
        expect_status(result, 4, "wait --timeout")
        expect(time.monotonic() - started >= 0.25, "wait timed out early")
        expect(result[1] == b"" and result[2] == "", "a timeout prints nothing: %r" % (result,))
        waiter = Child("wait", name, "--timeout", str(TIMEOUT))
        try:
            # The waiter starts at some version: write until it has seen one
            # change (each write is an event it wakes for, no sleeping here).
            status = None
            deadline = time.monotonic() + TIMEOUT
            while status is None and time.monotonic() < deadline:
                expect_status(run("set", name, "tick"), 0, "set")
                try:
                    status = waiter.process.wait(timeout=0.5 * MULTIPLIER)
                except subprocess.TimeoutExpired:
                    pass
            expect(status == 0, "wait exits 0 after a change: %r" % status)
        finally:
            waiter.finish()
    finally:
        holder.close_stdin()
        holder.wait("holder")
        holder.finish()


def test_killed_holder_is_no_longer_listed():
    name = unique("killed")
    holder = hold(name, "--capacity", "64", "--value", "doomed")
    entry = listed(name)
    expect(entry is not None and entry["state"] == "live", "held segment listed: %r" % entry)
    holder.kill()  # SIGKILL: no chance to close anything
    holder.finish()
    entry = listed(name)
    if BACKEND == "windows":
        # Wine's server closes a killed process's handles when it notices the
        # death, a moment after the kill: look again until then (bounded).
        deadline = time.monotonic() + TIMEOUT
        while entry is not None and time.monotonic() < deadline:
            entry = listed(name)
    expect(entry is None, "a killed holder's segment is still listed: %r" % entry)
    if BACKEND == "posix":
        # What the killed holder left stays until a sweep (any creation of a
        # segment by this user) or the next open of the name removes it.
        dead = listed(name, "--all")
        expect(dead is None or (dead["state"] == "dead" and dead["holders"] == 0),
               "list --all shows what the killed holder left as dead: %r" % dead)
        result = run("info", name)
        expect_status(result, 3, "info on a dead segment")
        expect(dead is None or "no live process holds it" in result[2] or
               "not found" in result[2], "dead message: %r" % result[2])
    expect_status(run("get", name), 3, "get after the holder was killed")


def test_wide_values():
    name = unique("wide")
    holder = hold(name, "--capacity", "256", "--wide", "--value", "h\u00e9llo \u2603 \U0001F600")
    try:
        unit = 4 if BACKEND == "posix" else 2
        code, out, _ = run("get", name, "--bytes")
        expect(code == 0 and len(out) == unit * (9 if unit == 4 else 10),
               "wide bytes: %r" % out)
        code, out, _ = run("get", name, "--wide")
        expect(out.decode("utf-8") == "h\u00e9llo \u2603 \U0001F600", "get --wide: %r" % out)
        # Implied for the Set/Get library's default segment.
        code, out, _ = run("get", name, env={"SHAREDMEM_DEFAULT_SEGMENT": name})
        expect(out.decode("utf-8") == "h\u00e9llo \u2603 \U0001F600", "implied --wide: %r" % out)
        result = run("set", name, "-", "--wide", stdin=b"\xff\xfe")
        expect_status(result, 2, "set --wide of bytes that are no UTF-8")
        expect("not UTF-8" in result[2], "UTF-8 message: %r" % result[2])
    finally:
        holder.close_stdin()
        holder.wait("holder")
        holder.finish()


def test_foreign_and_other_objects_are_classified_never_opened():
    if BACKEND != "posix":
        return "skipped: planting objects needs the POSIX namespace (see the inspect suite)"
    directory = "/dev/shm/sharedmem.%d." % os.geteuid()
    planted = []
    try:
        cases = (("garbage", 0o600, b"\xab" * 8192, "foreign", 1, "incompatible object"),
                 ("open", 0o644, b"\0" * 8192, "not-owner", 1, "not owner"))
        for tag, mode, content, state, status, message in cases:
            name = unique(tag)
            path = directory + name
            with open(path, "wb") as planted_file:
                planted_file.write(content)
            os.chmod(path, mode)
            planted.append(path)
            entry = listed(name)
            expect(entry is not None and entry["state"] == state, "%s listed: %r" % (tag, entry))
            result = run("info", name)
            expect_status(result, 1, "info on %s" % tag)
            expect(("state:          " + state).encode() in result[1], "info %s" % tag)
            result = run("get", name)
            expect_status(result, 1, "get on %s" % tag)
            expect(message in result[2], "get %s message: %r" % (tag, result[2]))
            with open(path, "rb") as planted_file:
                expect(planted_file.read() == content, "%s was changed" % tag)
        name = unique("dir")
        os.mkdir(directory + name, 0o700)
        planted.append(directory + name)
        expect(listed(name)["state"] == "foreign", "a directory is foreign")
        expect_status(run("hold", name, "--capacity", "64"), 1, "hold over a directory")
    finally:
        for path in planted:
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)


def main():
    global COMMAND, BACKEND
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--only"]:
        only, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    COMMAND = args
    code, out, err = run("--version")
    BACKEND = "windows" if b"(windows backend)" in out else "posix"
    print("command: %s (%s)" % (" ".join(COMMAND), out.decode().strip()))
    cases = [(name, case) for name, case in sorted(globals().items())
             if name.startswith("test_") and (only is None or only in name)]
    passed = failed = skipped = 0
    for name, case in cases:
        started = time.monotonic()
        try:
            note = case()
        except Exception as error:  # a failed expectation, a timeout, a crash
            failed += 1
            print("FAIL %s: %s" % (name, error), flush=True)
            continue
        if note:
            skipped += 1
            print("SKIP %s: %s" % (name, note), flush=True)
        else:
            passed += 1
            print("ok   %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
