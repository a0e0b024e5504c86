#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the sharedmem command, run by ctest on Linux and under Wine.

    cli_test.py [--only NAME] [--raw-peer PATH] [--docs PATH] [--build-dir PATH]
                -- <command prefix...> <path to sharedmem>

--raw-peer: the C program tests/cli/raw_peer.c (run with the same prefix);
--docs: docs/cli.md, whose exit-status table and JSON schema are checked
against the command; --build-dir: a native build whose install (man page,
completions) is checked in a throwaway prefix.

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
import shutil
import subprocess
import sys
import tempfile
import time

MULTIPLIER = float(os.environ.get("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER", "1"))
TIMEOUT = 20.0 * MULTIPLIER
COMMAND = []
PREFIX = []  # what runs a program built beside the command (Wine, or nothing)
BACKEND = ""
RAW_PEER = None
DOCS = None
BUILD_DIR = None


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

    def __init__(self, *args, terminal=False, program=None):
        self.buffer = b""
        self.terminal = terminal
        argv = (program or COMMAND) + list(args)
        if terminal:  # stdout is a pseudo-terminal, as in an interactive shell
            self.master, slave = pty.openpty()
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                            stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            self.out = self.master
        else:
            self.master = None
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE,
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

    def send_line(self, text):
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

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


def change_until_exit(waiter, change):
    """Changes the segment until `waiter` exits; its exit status. The waiter
    starts at some version, so one change may come before it looks: each
    change is an event it wakes for (no sleeping here)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        change()
        try:
            return waiter.process.wait(timeout=0.5 * MULTIPLIER)
        except subprocess.TimeoutExpired:
            pass
    return None


def listed(name, *extra):
    code, out, err = run("list", "--json", *extra)
    expect(code == 0, "list --json failed: %r" % err)
    document = json.loads(out)
    expect(document["schema_version"] == 1, "list --json schema: %r" % document)
    entries = [entry for entry in document["segments"] if entry["name"] == name]
    return entries[0] if entries else None


def one_line_error(result, command, name, *fragments):
    """The error is one line: sharedmem: <command> '<name>': <message>."""
    err = result[2]
    prefix = "sharedmem: %s '%s': " % (command, name) if name else "sharedmem: %s: " % command
    expect(err.endswith("\n") and err.count("\n") == 1 and err.startswith(prefix),
           "%s: not one line starting %r: %r" % (command, prefix, err))
    for fragment in fragments:
        expect(fragment in err, "%s: %r not in %r" % (command, fragment, err))


def stop(holder, what="holder"):
    holder.close_stdin()
    status = holder.wait(what)
    holder.finish()
    return status


# --- the cases ---------------------------------------------------------------


COMMANDS = ("list", "info", "get", "set", "hold", "watch", "wait", "notify", "prune", "help",
            "completion")


def fits_80_columns(out, what):
    too_long = [line for line in out.decode().splitlines() if len(line) > 80]
    expect(not too_long, "%s: lines over 80 columns: %r" % (what, too_long))


def test_help_everywhere_in_80_columns():
    code, out, _ = run("--help")
    expect(code == 0 and b"Exit status:" in out, "sharedmem --help: %r" % out[:200])
    fits_80_columns(out, "--help")
    for command in COMMANDS:
        expect(("\n  %s " % command).encode() in out, "--help lists %s" % command)
    expect(run("help")[1] == out, "sharedmem help is sharedmem --help")
    for command in COMMANDS:
        code, out, _ = run(command, "--help")
        expect(code == 0 and out.startswith(("Usage: sharedmem " + command).encode()),
               "sharedmem %s --help: %d %r" % (command, code, out[:200]))
        fits_80_columns(out, command + " --help")
        expect(b"\nExample:\n  $ sharedmem " + command.encode() in out,
               "sharedmem %s --help has an example: %r" % (command, out))
        expect(run("help", command) == (0, out, ""), "help %s is %s --help" % (command, command))
        if command == "hold":
            expect(all(signal in out for signal in (b"SIGINT", b"SIGTERM", b"SIGHUP")),
                   "hold's help names the signals it handles: %r" % out)
    for version in ("--version", "-V"):
        code, out, _ = run(version)
        expect(code == 0 and ("(%s backend)" % BACKEND).encode() in out,
               "%s: %r" % (version, out))


def test_global_only_where_it_applies():
    code, out, _ = run("list", "--help")
    if BACKEND == "posix":
        expect(b"--global" not in out, "--global offered on Linux: %r" % out)
        result = run("list", "--global")
        expect_status(result, 2, "list --global on Linux")
        one_line_error(result, "list", "", "Windows", "leave it out")
    else:
        expect(b"--global" in out, "--global not offered on Windows: %r" % out)


def test_usage_errors_exit_2():
    result = run()
    expect_status(result, 2, "no subcommand")
    expect(result[2].startswith("sharedmem: a command is required"), "no command: %r" % result[2])
    for typo, meant in (("lst", "list"), ("wacth", "watch")):
        result = run(typo)
        expect_status(result, 2, "unknown subcommand %s" % typo)
        expect("did you mean '%s'?" % meant in result[2] and result[2].count("\n") == 1,
               "%s: %r" % (typo, result[2]))
    for topic, meant in (("lst", "list"), ("exit", "exit-status")):
        result = run("help", topic)
        expect_status(result, 2, "help on an unknown topic")
        one_line_error(result, "help", "", "did you mean '%s'?" % meant)
    result = run("--bogus")
    expect_status(result, 2, "an unknown option before the command")
    expect(result[2].startswith("sharedmem: '--bogus' is no option"), "--bogus: %r" % result[2])
    result = run("watch", unique("x"), "--count")
    expect_status(result, 2, "--count without a value")
    one_line_error(result, "watch", "", "--count needs a value")
    result = run("frobnicate")
    expect_status(result, 2, "unknown subcommand")
    expect("'frobnicate' is no sharedmem command" in result[2], "frobnicate: %r" % result[2])
    expect_status(run("list", "--bogus"), 2, "unknown option")
    result = run("get")
    expect_status(result, 2, "missing NAME")
    one_line_error(result, "get", "", "NAME", "sharedmem help get")
    expect_status(run("set", unique("x")), 2, "set without a value")
    for count in ("0", "1.5"):
        result = run("watch", unique("x"), "--count", count)
        expect_status(result, 2, "watch --count %s" % count)
        one_line_error(result, "watch", "", "--count must be a whole number, at least 1")
    for seconds in ("-1", "soon", "inf"):
        result = run("wait", unique("x"), "--timeout", seconds)
        expect_status(result, 2, "wait --timeout %s" % seconds)
        one_line_error(result, "wait", "", "--timeout must be a number of seconds, at least 0")
    result = run("get", "bad/name")
    expect_status(result, 2, "invalid name")
    one_line_error(result, "get", "bad/name", "invalid segment name")
    result = run("hold", unique("cap"), "--capacity", "lots")
    expect_status(result, 2, "capacity not a number")
    one_line_error(result, "hold", "", "--capacity must be a whole number of bytes", "'lots'")
    result = run("hold", unique("cap"), "--capacity", "0")
    expect_status(result, 2, "capacity 0")
    one_line_error(result, "hold", "", "--capacity 0 (0 bytes)")
    result = run("completion", "fish")
    expect_status(result, 2, "completion for an unknown shell")


def test_absent_names_exit_3():
    name = unique("absent")
    for args in (("get", name), ("info", name), ("watch", name), ("wait", name),
                 ("notify", name), ("hold", name), ("info", name, "--json")):
        result = run(*args)
        expect_status(result, 3, " ".join(args))
        one_line_error(result, args[0], name, "not found")
    result = run("hold", name)
    expect("give --capacity to create it" in result[2] and "SHAREDMEM_" not in result[2],
           "hold without --capacity: %r" % result[2])
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
        expect(code == 0 and value == {"schema_version": 1, "name": name, "version": 2,
                                       "size": 6, "value": "second"},
               "get --json: %r" % value)
        binary = bytes(range(256))
        expect_status(run("set", name, "-", stdin=binary), 0, "set from stdin")
        code, out, _ = run("get", name)
        expect(out == binary, "binary value through stdin and stdout")
        code, out, _ = run("get", name, "--json")
        expect("value_base64" in json.loads(out), "bytes that are no UTF-8 come as base64")
        result = run("set", name, "x" * 1025)
        expect_status(result, 1, "value too large")
        one_line_error(result, "set", name, "value too large: 1025 bytes",
                       "capacity is 1024")

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
        expect(code == 0 and info["schema_version"] == 1 and info["layout_version"] == 3 and name in info["os_name"] and
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
        one_line_error(result, "hold", name, "size mismatch", "capacity is 1024 bytes, not 2048")
    finally:
        holder.close_stdin()
        status = holder.wait("holder")
        holder.finish()
    expect(status == 0, "hold exits 0 when stdin closes")
    expect(listed(name, "--all") is None, "the segment is gone with its last holder")


def watch_sees_values_in_order(terminal, *extra):
    name = unique("watched_tty" if terminal else "watched")
    holder = hold(name, "--capacity", "64", "--value", "one")
    watcher = Child("watch", name, "--count", "3", *extra, terminal=terminal)
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
        expect(code == 0 and json.loads(out) == {"schema_version": 1, "version": 1, "size": 3,
                                                 "value": "a\nb"},
               "watch --json: %r" % out)
        started = time.monotonic()
        result = run("watch", name, "--timeout", "0.3")
        expect_status(result, 4, "watch --timeout")
        expect(time.monotonic() - started >= 0.3, "watch timed out early")
        one_line_error(result, "watch", name, "timed out after 0.3 s")
    finally:
        holder.close_stdin()
        holder.wait("holder")
        holder.finish()


def wait_exits_0_on_a_change(name, *extra):
    """`wait NAME` (with `extra` options) exits 0 once a set changes the value."""
    waiter = Child("wait", name, *extra, "--timeout", str(TIMEOUT))
    try:
        status = change_until_exit(
            waiter, lambda: expect_status(run("set", name, "tick"), 0, "set"))
        expect(status == 0, "wait %s exits 0 after a change: %r" % (" ".join(extra), status))
    finally:
        waiter.finish()


def test_wait_times_out_with_4_and_returns_0_on_a_change():
    name = unique("waited")
    holder = hold(name, "--capacity", "64")
    try:
        started = time.monotonic()
        result = run("wait", name, "--timeout", "0.25")
        expect_status(result, 4, "wait --timeout")
        expect(time.monotonic() - started >= 0.25, "wait timed out early")
        expect(result[1] == b"", "a timeout prints nothing on stdout: %r" % (result,))
        one_line_error(result, "wait", name, "timed out after 0.25 s", "did not change")
        wait_exits_0_on_a_change(name)
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


def test_prune_removes_what_killed_holders_left_and_nothing_live():
    keeper_name = unique("prune_keeper")
    keeper = hold(keeper_name, "--capacity", "4K", "--value", "kept")
    try:
        # Any other process of this user that creates a segment meanwhile (a
        # test running in parallel) may sweep the dead object before prune
        # does: then the scenario is played again under a new name, so that
        # prune's own count is checked in the end.
        for attempt in range(5):
            name = unique("pruned")
            victim = hold(name, "--capacity", "1M")
            victim.kill()  # SIGKILL: the segment's object is left behind, dead
            victim.finish()
            dead = listed(name, "--all") if BACKEND == "posix" else None
            expect(dead is None or dead["state"] == "dead", "killed holder's segment: %r" % dead)
            code, out, err = run("prune", "--json")
            expect(code == 0, "prune --json: %d %r" % (code, err))
            document = json.loads(out)
            expect(document["schema_version"] == 1 and isinstance(document["removed"], int),
                   "prune --json: %r" % document)
            expect(listed(name, "--all") is None, "still listed after prune: %r"
                   % listed(name, "--all"))
            if dead is None or document["removed"] >= 1:
                break
        else:
            expect(False, "prune removed no dead segment in 5 attempts (each time another "
                          "sweep took it first?): %r" % document)
        code, out, err = run("prune")
        expect(code == 0 and re.fullmatch(rb"removed \d+ dead segment\(s\)\r?\n", out),
               "prune: %d %r %r" % (code, out, err))
        kept = listed(keeper_name)
        expect(kept is not None and kept["state"] == "live" and kept["holders"] in (1, None),
               "prune left the live segment alone: %r" % kept)
        expect(run("get", keeper_name) == (0, b"kept", ""), "the live segment's value")
    finally:
        status = stop(keeper)
        expect(status == 0, "the live holder stops with 0 after prune: %r" % status)


def test_hold_and_watch_exit_5_when_the_name_is_removed():
    if BACKEND != "posix":
        return "skipped: a Windows section's name lives as long as any handle to it"
    name = unique("removed")
    holder = hold(name, "--capacity", "4K", "--value", "here")
    # watch sleeps in sharedmem_wait until its timeout, which then finds the
    # name removed: the timeout is only how long it sleeps before looking.
    watcher = Child("watch", name, "--timeout", "%g" % (3 * MULTIPLIER))
    try:
        expect(watcher.read_line("watch: current") == "here", "watch printed the value")
        path = "/dev/shm/sharedmem.%d.%s" % (os.getuid(), name)
        expect(os.path.exists(path), "the segment's object is %s" % path)
        os.unlink(path)  # what RemoveIPC=yes does at the user's last logout
        status = holder.wait("hold after its name was removed")
        err = holder.stderr()
        expect(status == 5, "hold exits 5 when its name is removed: %r (stderr %r)"
               % (status, err))
        one_line_error((status, b"", err), "hold", name, "RemoveIPC", "docs/lifetime.md")
        status = watcher.wait("watch after the name was removed")
        err = watcher.stderr()
        expect(status == 5, "watch exits 5 when the name is removed: %r (stderr %r)"
               % (status, err))
        one_line_error((status, b"", err), "watch", name, "RemoveIPC")
    finally:
        watcher.finish()
        holder.finish()


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


# --- sharing (docs/sharing.md) ---------------------------------------------

# Throwaway ids for the commands run as other users (root only): no account
# needs to exist, the access options name them as uid:N and gid:N.
WRITER_UID, READER_UID, STRANGER_UID, GROUP_GID = 61731, 61732, 61733, 61730


def test_access_options_are_checked_before_anything_opens():
    name = unique("access_usage")
    for args, fragment in (
            (("--allow-user", "group:video"), "--allow-user takes NAME, user:NAME"),
            (("--allow-group", "uid:5"), "--allow-group takes NAME, group:NAME"),
            (("--allow-read-user", ""), "--allow-read-user takes"),
            (("--creator", "group:wheel"), "--creator takes NAME, user:NAME"),
            (("--read-only", "--value", "x"), "--value writes, which a --read-only holder")):
        result = run("hold", name, "--capacity", "64", *args)
        expect_status(result, 2, "hold %r" % (args,))
        one_line_error(result, "hold", "", fragment)
    expect_status(run("set", name, "x", "--read-only"), 2, "set has no --read-only")
    expect_status(run("notify", name, "--read-only"), 2, "notify has no --read-only")
    # One value each time: a second word is no principal.
    expect_status(run("hold", name, "--allow-user", "a", "b"), 2, "one value per option")
    expect(listed(name, "--all") is None and listed(name, "--all", "--shared") is None,
           "a refused command created something")


def test_read_only_commands_read_wait_and_hold_but_never_create():
    name = unique("read_only")
    expect_status(run("get", name, "--read-only"), 3, "get --read-only of nothing")
    result = run("hold", name, "--read-only", "--capacity", "64")
    expect_status(result, 3, "hold --read-only of nothing")
    one_line_error(result, "hold", name, "never creates")
    expect(listed(name, "--all") is None, "a read-only open created the segment")
    holder = hold(name, "--capacity", "64", "--value", "first")
    reader = None
    try:
        code, out, _ = run("get", name, "--read-only")
        expect(code == 0 and out == b"first", "get --read-only: %d %r" % (code, out))
        watch_sees_values_in_order(False, "--read-only")
        wait_exits_0_on_a_change(name, "--read-only")
        reader = hold(name, "--read-only")
        expect(stop(holder, "read-write holder") == 0, "the read-write holder stops")
        holder = None
        code, out, _ = run("get", name, "--read-only")
        expect(code == 0 and out == b"tick",
               "the read-only holder keeps the segment: %d %r" % (code, out))
    finally:
        for child in (holder, reader):
            if child is not None:
                stop(child)
    expect_status(run("get", name), 3, "gone (or dead) once its last holder stopped")
    expect_status(run("prune"), 0, "prune")
    expect(listed(name, "--all") is None, "prune left what the read-only holder left")


def test_shared_segments_are_apart_from_private_ones():
    name = unique("shared_ns")
    holder = hold(name, "--shared", "--capacity", "64", "--value", "shared")
    try:
        code, out, _ = run("get", name, "--shared")
        expect(code == 0 and out == b"shared", "get --shared: %d %r" % (code, out))
        expect_status(run("get", name), 3, "the private namespace has no such segment")
        expect(listed(name) is None, "list shows a shared segment among private ones")
        entry = listed(name, "--shared")
        expect(entry is not None and entry["state"] == "live" and entry["capacity"] == 64,
               "list --shared: %r" % entry)
        code, out, _ = run("info", name, "--shared", "--json")
        info = json.loads(out)
        expect(code == 0 and info["state"] == "live" and "shared" in info["os_name"] and
               info["permissions"], "info --shared --json: %r" % info)
        code, out, _ = run("info", name, "--shared")
        expect(code == 0 and b"permissions:    " + info["permissions"].encode() in out,
               "info --shared shows the permissions: %r" % out)
        expect_status(run("set", name, "second", "--shared"), 0, "set --shared")
        code, out, _ = run("get", name, "--shared", "--read-only")
        expect(code == 0 and out == b"second", "get --shared --read-only: %r" % out)
        code, out, _ = run("prune", "--shared", "--json")
        expect(code == 0 and "removed" in json.loads(out), "prune --shared: %r" % out)
        expect_status(run("get", name, "--shared"), 0, "prune --shared left the live segment")
    finally:
        stop(holder)
    expect_status(run("get", name, "--shared"), 3, "gone with its last holder")


def test_an_unknown_principal_is_named():
    name = unique("unknown_principal")
    group = "sharedmem_no_such_group_%d" % os.getpid()
    result = run("hold", name, "--capacity", "64", "--allow-group", group)
    expect_status(result, 1, "hold with an unknown group")
    one_line_error(result, "hold", name, "unknown principal", group)
    expect(listed(name, "--all", "--shared") is None, "an unknown principal created something")


def run_as(uid, gid, *args):
    """Runs the command as uid/gid (no supplementary groups), to its end."""
    done = subprocess.run(COMMAND + list(args), capture_output=True, timeout=TIMEOUT,
                          user=uid, group=gid, extra_groups=[])
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def test_listed_users_open_as_listed_and_nobody_else():
    if BACKEND != "posix" or os.geteuid() != 0:
        return "skipped: running the command as other users needs root on Linux"
    name = unique("listed")
    access = ("--allow-group", "gid:%d" % GROUP_GID, "--allow-read-user", "uid:%d" % READER_UID,
              "--creator", "uid:0")
    holder = hold(name, "--capacity", "64", "--value", "from-root", *access)
    try:
        expect_status(run_as(WRITER_UID, GROUP_GID, "set", name, "from-group", *access), 0,
                      "a member of the group writes")
        code, out, _ = run_as(READER_UID, READER_UID, "get", name, "--read-only", *access)
        expect(code == 0 and out == b"from-group", "the reader reads: %d %r" % (code, out))
        result = run_as(READER_UID, READER_UID, "get", name, *access)
        expect_status(result, 1, "the reader without --read-only")
        one_line_error(result, "get", name, "access denied")
        for extra in ((), ("--read-only",)):
            expect_status(run_as(STRANGER_UID, STRANGER_UID, "get", name, *extra, *access), 1,
                          "a user not listed %r" % (extra,))
        code, out, _ = run("info", name, "--shared", "--json")
        info = json.loads(out)
        expect(code == 0 and info["owner"] == "uid 0" and
               "user:%d:r--" % READER_UID in info["permissions"] and
               "group:%d:rw-" % GROUP_GID in info["permissions"],
               "info shows the access list in permissions: %r" % info)
    finally:
        stop(holder)


def raw_peer(*args):
    return Child(*args, program=PREFIX + [RAW_PEER])


def test_raw_segments_follow_versions():
    if RAW_PEER is None:
        return "skipped: no --raw-peer program given"
    name = unique("raw")
    holder = hold(name, "--raw", "--capacity", "4096")
    producer = raw_peer("notify", name)
    watcher = Child("watch", name, "--count", "3", "--json")
    try:
        info = json.loads(run("info", name, "--json")[1])
        expect(info["kind"] == "raw" and info["capacity"] == 4096 and info["version"] == 0,
               "info --json on a raw segment: %r" % info)
        # watch prints the current version, then each the C producer notifies.
        versions = [json.loads(watcher.read_line("watch: current"))["version"]]
        for _ in range(2):
            producer.send_line("go")
            expect(producer.read_line("producer").startswith("notified "), "producer notified")
            versions.append(json.loads(watcher.read_line("watch: next"))["version"])
        expect(watcher.wait("watch --count 3") == 0, "watch exits 0 after its count")
        expect(versions == sorted(set(versions)) and len(versions) == 3,
               "three increasing versions: %r" % versions)

        # wait returns 0 on a notify of the C producer.
        waiter = Child("wait", name, "--timeout", "%g" % (5 * MULTIPLIER))
        try:
            def notify():
                producer.send_line("go")
                producer.read_line("producer")
            status = change_until_exit(waiter, notify)
            expect(status == 0, "wait exits 0 on a notify: %r" % status)
        finally:
            waiter.finish()

        # sharedmem notify wakes a C waiter.
        consumer = raw_peer("wait", name, str(int(TIMEOUT * 1000)))
        try:
            ready = consumer.read_line("C waiter")
            expect(ready.startswith("ready "), "C waiter: %r" % ready)
            expect_status(run("notify", name), 0, "notify")
            changed = consumer.read_line("C waiter woken")
            expect(changed == "changed %d" % (int(ready.split()[1]) + 1),
                   "the C waiter saw the notify: %r after %r" % (changed, ready))
            expect(consumer.wait("C waiter") == 0, "C waiter's exit status")
        finally:
            consumer.finish()

        code, out, _ = run("watch", name, "--count", "1")
        expect(code == 0 and re.fullmatch(rb"version \d+\r?\n", out), "watch text: %r" % out)
        for args in (("get", name), ("set", name, "x")):
            result = run(*args)
            expect_status(result, 1, "%s on a raw segment" % args[0])
            one_line_error(result, args[0], name, "raw segment",
                           "not read or written from the shell yet")
        entry = listed(name)
        expect(entry["kind"] == "raw", "list shows the kind: %r" % entry)
        joiner = hold(name)  # joins whatever kind is live
        stop(joiner, "joining holder")
    finally:
        producer.finish()
        watcher.finish()
        stop(holder)


def test_notify_refuses_a_value_segment():
    name = unique("notify_value")
    holder = hold(name, "--capacity", "64")
    try:
        result = run("notify", name)
        expect_status(result, 1, "notify on a value segment")
        one_line_error(result, "notify", name, "a value segment")
    finally:
        stop(holder)


def documented_block(marker):
    """The fenced block of docs/cli.md right after the line `marker`."""
    with open(DOCS, encoding="utf-8") as docs:
        text = docs.read()
    expect(marker in text, "docs/cli.md has no %r" % marker)
    after = text.split(marker, 1)[1]
    match = re.match(r"\s*```text\n(.*?)```", after, re.S)
    expect(match, "docs/cli.md: no ```text block after %r" % marker)
    return match.group(1)


def test_exit_statuses_are_documented():
    if DOCS is None:
        return "skipped: no --docs given"
    code, out, _ = run("help", "exit-status")
    expect(code == 0, "help exit-status")
    fits_80_columns(out, "help exit-status")
    expect(documented_block("<!-- sharedmem help exit-status -->") == out.decode(),
           "docs/cli.md's exit-status table differs from `sharedmem help exit-status`:\n%s"
           % out.decode())
    # Every error of the library's table (SHAREDMEM_ERRORS in sharedmem.h)
    # has its row, under its name, with a documented exit status.
    header = os.path.join(os.path.dirname(DOCS), "..", "include", "sharedmem", "sharedmem.h")
    with open(header, encoding="utf-8") as header_file:
        table = re.findall(r"^\s*X\((\w+), (\d+),", header_file.read(), re.M)
    expect(len(table) >= 20, "SHAREDMEM_ERRORS not found in %s" % header)
    rows = re.findall(r"^ +(\d+)  (\S+) +(\d+)$", out.decode(), re.M)
    expect([(name, code) for code, name, _ in rows] == [("OK", "0")] + table,
           "help exit-status lists %r, the library's table is %r" % (rows, table))
    statuses = set(re.findall(r"^  (\d) ", out.decode().split("\n\n")[0], re.M))
    for code, name, status in rows:
        expect(status in statuses, "error %s %s gives undocumented status %s" % (code, name,
                                                                               status))
    wanted = {"OK": "0", "INVALID_NAME": "2", "INVALID_SIZE": "2", "NOT_FOUND": "3",
              "TIMEOUT": "4"}
    for code, name, status in rows:
        expect(wanted.get(name, status) == status,
               "%s gives %s, not %s" % (name, status, wanted.get(name)))


def documented_members(heading):
    """The members the table under `heading` in docs/cli.md lists."""
    with open(DOCS, encoding="utf-8") as docs:
        text = docs.read()
    expect(heading in text, "docs/cli.md has no %r" % heading)
    section = text.split(heading, 1)[1].split("<!-- json:", 1)[0].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", section, re.M))


def test_json_matches_its_documented_schema():
    if DOCS is None:
        return "skipped: no --docs given"
    name = unique("schema")
    holder = hold(name, "--capacity", "64", "--value", "text")
    raw_name = unique("schema_raw")
    raw_holder = hold(raw_name, "--raw", "--capacity", "64")
    try:
        documents = {
            "list": json.loads(run("list", "--json")[1]),
            "info": json.loads(run("info", name, "--json")[1]),
            "get": json.loads(run("get", name, "--json")[1]),
            "watch": json.loads(run("watch", name, "--json", "--count", "1")[1]),
            "watch-raw": json.loads(run("watch", raw_name, "--json", "--count", "1")[1]),
            "prune": json.loads(run("prune", "--json")[1]),
        }
        segment = [entry for entry in documents["list"]["segments"] if entry["name"] == name][0]
        documents["segment"] = segment
        for key, document in documents.items():
            members = documented_members("<!-- json: %s -->" % key)
            expect(set(document) == members,
                   "%s --json has %r, docs/cli.md documents %r" % (key, sorted(document),
                                                                 sorted(members)))
            if key != "segment":
                expect(document["schema_version"] == 1, "%s: schema_version" % key)
    finally:
        stop(raw_holder)
        stop(holder)


def test_installed_man_page_and_completions():
    if BUILD_DIR is None:
        return "skipped: a cross build generates no man page or completions"
    prefix = tempfile.mkdtemp(prefix="sharedmem_install_")
    try:
        done = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix],
                              capture_output=True, timeout=TIMEOUT)
        expect(done.returncode == 0, "cmake --install: %r" % done.stderr[-500:])
        page = os.path.join(prefix, "share", "man", "man1", "sharedmem.1")
        bash = os.path.join(prefix, "share", "bash-completion", "completions", "sharedmem")
        zsh = os.path.join(prefix, "share", "zsh", "vendor-completions", "_sharedmem")
        for path in (page, bash, zsh):
            expect(os.path.isfile(path), "not installed: %s" % path)
        if shutil.which("man"):
            shown = subprocess.run(["man", "-l", page], capture_output=True, timeout=TIMEOUT,
                                   env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                            PAGER="cat"))
            text = shown.stdout.decode("utf-8", "replace")
            expect(shown.returncode == 0 and "SHAREDMEM(1)" in text, "man -l: %r" % text[:300])
            for command in COMMANDS:
                expect(re.search(r"^ +%s\b" % command, text, re.M),
                       "the man page does not show %s" % command)
            expect("EXIT STATUS" in text and "Example:" in text, "man page sections")
        # NAME completes from `list`, or `list --shared` after --shared or an
        # access option; a user option's value from the system's users.
        stem = unique("completed")
        private_holder = hold(stem + "_p", "--capacity", "64")
        shared_holder = hold(stem + "_s", "--capacity", "64", "--shared")
        try:
            script = ('source "$1"; complete_words() { COMP_WORDS=("$@"); '
                      'COMP_CWORD=$(($# - 1)); COMPREPLY=(); _sharedmem; echo "${COMPREPLY[*]}"; }; '
                      'complete_words sharedmem l; complete_words sharedmem w; '
                      'complete_words sharedmem help no; complete_words sharedmem watch x --c; '
                      'complete_words sharedmem get "$2"; complete_words sharedmem get --shared "$2"; '
                      'complete_words sharedmem get --allow-group video "$2"; '
                      'complete_words sharedmem hold x --allow-read-user roo; '
                      'complete -p sharedmem')
            done = subprocess.run(["bash", "-c", script, "bash", bash, stem], capture_output=True,
                                  timeout=TIMEOUT,
                                  env=dict(os.environ, PATH=os.path.dirname(COMMAND[-1]) + ":" +
                                           os.environ["PATH"]))
        finally:
            stop(private_holder)
            stop(shared_holder)
        lines = done.stdout.decode().splitlines()
        expect(done.returncode == 0 and len(lines) == 9 and
               lines[:4] == ["list", "watch wait", "notify", "--count --creator"] and
               lines[4:7] == [stem + "_p", stem + "_s", stem + "_s"] and lines[7] == "root" and
               "_sharedmem" in lines[8], "bash completion: %r %r" % (lines, done.stderr))
        with open(zsh, encoding="utf-8") as script_file:
            text = script_file.read()
        expect(text.startswith("#compdef sharedmem\n") and
               all("'%s:" % command in text for command in COMMANDS), "zsh completion: %r" % text)
        if shutil.which("zsh"):
            expect(subprocess.run(["zsh", "-n", zsh]).returncode == 0, "zsh -n")
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def main():
    global COMMAND, PREFIX, BACKEND, RAW_PEER, DOCS, BUILD_DIR
    args = sys.argv[1:]
    only = None
    while args and args[0] != "--":
        option, value, args = args[0], args[1], args[2:]
        if option == "--only":
            only = value
        elif option == "--raw-peer":
            RAW_PEER = value
        elif option == "--docs":
            DOCS = value
        elif option == "--build-dir":
            BUILD_DIR = value
        else:
            raise SystemExit("cli_test.py: unknown option %s" % option)
    COMMAND = args[1:]
    PREFIX = COMMAND[:-1]
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
