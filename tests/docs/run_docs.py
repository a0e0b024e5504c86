#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extracts every fenced code block of the documentation and runs it: the
ctest tests sharedmem.docs (C, C++, shell programs, shell sessions and
fragments) and sharedmem.docs_python (Python programs).

The convention the documents follow (docs/building.md, "Program blocks"):
  ```c  ```cpp        a complete program: built against this build tree's
                      libraries with warnings as errors, run, exit 0
  ```python           a complete program, run by the configured Python
  ```sh               a complete bash script, run with the build's command
                      first on PATH, exit 0
  ```console          a shell session: each `$ command` runs, and its output
                      (stdout and stderr together, as a terminal shows them)
                      must match the lines shown under it (a line `...`
                      matches any lines; the user's uid prints as 1000);
                      `$ command &` runs in the background and the session
                      goes on once the lines shown under it have appeared;
                      `$ kill %N` ends the N-th background command
  other languages     text (cmake, json, text): not run
A comment on the line just before the fence changes that:
  <!-- fragment -->              not a whole program: C/C++ is compiled as
                                 a function body after the usual includes,
                                 Python and sh are checked for syntax, a
                                 console session is not run
  <!-- fragment: DECLARATIONS --> the same, with C/C++ declarations the body
                                 needs put before it
  <!-- linux-only -->            a program that is not built for Windows
Words combine: <!-- fragment linux-only: ... -->.

Usage: run_docs.py CONFIG.json (c|python) (FILE.md | DIRECTORY)...
(a directory stands for its *.md files)
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FENCE = re.compile(r"^(\s*)```([\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*((?:fragment|linux-only)(?:\s+(?:fragment|linux-only))*)\s*(?::(.*?))?-->\s*$")

C_PRELUDE = """#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sharedmem/sharedmem.h>
"""
CPP_PRELUDE = """#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <sharedmem/sharedmem.hpp>
using namespace std::chrono_literals;
"""


class Block:
    def __init__(self, path, line, language, code, words, prelude):
        self.path, self.line, self.language, self.code = path, line, language, code
        self.fragment = "fragment" in words
        self.linux_only = "linux-only" in words
        self.prelude = prelude or ""

    def where(self):
        return f"{self.path}:{self.line} ({self.language}{', fragment' if self.fragment else ''})"


def blocks_of(path, root):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    shown = os.path.relpath(path, root)
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, language = m.group(1), m.group(2)
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        start = i + 1
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            i += 1
        if i >= len(lines):
            raise SystemExit(f"{shown}:{start}: a code block is never closed")
        code = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[start:i]) + "\n"
        words = marker.group(1).split() if marker else []
        prelude = marker.group(2).strip() if marker and marker.group(2) else ""
        yield Block(shown, start, language, code, words, prelude)
        i += 1


def timeout(base):
    return base * float(os.environ.get("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER", "1") or 1)


class Runner:
    def __init__(self, config, work):
        self.config, self.work = config, work
        self.windows = config["system"] == "Windows"
        self.emulator = config.get("emulator") or []
        env = dict(os.environ)
        bin_dirs = [os.path.dirname(config["cli"])] if config.get("cli") else []
        env["PATH"] = os.pathsep.join(bin_dirs + [env.get("PATH", "")])
        self.env = env

    def run(self, command, what, cwd, stdin=None, base_timeout=60):
        try:
            done = subprocess.run(command, cwd=cwd, env=self.env, stdin=stdin or subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout(base_timeout))
        except subprocess.TimeoutExpired as e:
            return f"{what} did not finish in {e.timeout:.0f} s:\n{(e.output or b'').decode(errors='replace')}"
        output = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            return f"{what} exited with status {done.returncode}:\n{output}"
        return None

    def compile(self, block, directory, syntax_only):
        cpp = block.language == "cpp"
        source = directory / ("program.cpp" if cpp else "program.c")
        if syntax_only:
            text = (CPP_PRELUDE if cpp else C_PRELUDE) + block.prelude + "\n"
            text += "void docs_fragment(void);\nvoid docs_fragment(void) {\n" + block.code + "}\n"
        else:
            text = block.code
        source.write_text(text, encoding="utf-8")
        compiler = self.config["cxx" if cpp else "cc"]
        flags = ["-std=c++17" if cpp else "-std=c11", "-Wall", "-Wextra", "-Werror"]
        flags += shlex.split(self.config["cxx_flags" if cpp else "c_flags"])
        flags += [f"-I{d}" for d in self.config["include_dirs"]]
        if syntax_only:
            flags += ["-fsyntax-only", "-Wno-unused", "-Wno-unused-parameter"]
            return self.run([compiler, *flags, str(source)], "compiling", directory)
        program = directory / ("program.exe" if self.windows else "program")
        libraries = [self.config["core"]]
        if "setget" in block.code:
            libraries.insert(0, self.config["setget"])
        link = list(libraries)
        if self.windows:
            link += ["-static-libgcc", "-static-libstdc++"]
            for dll in self.config["runtime_files"]:
                shutil.copy(dll, directory)
        else:
            link += ["-pthread", f"-Wl,-rpath,{os.path.dirname(self.config['core'])}"]
        link += shlex.split(self.config["linker_flags"])
        return self.run([compiler, *flags, str(source), "-o", str(program), *link], "compiling", directory) or \
            self.run([*self.emulator, str(program)], "the program", directory)

    def check(self, block, mode):
        directory = Path(tempfile.mkdtemp(prefix="block.", dir=self.work))
        language = block.language
        if mode == "python":
            if language != "python":
                return "skip"
            if block.fragment:
                try:
                    compile(block.code, block.where(), "exec")
                except SyntaxError as e:
                    return f"not Python: {e}"
                return None
            (directory / "program.py").write_text(block.code, encoding="utf-8")
            return self.run([self.config["python"], "program.py"], "the program", directory)
        if language in ("c", "cpp"):
            if self.windows and block.linux_only:
                return "skip"
            return self.compile(block, directory, block.fragment)
        if self.windows:
            return "skip"  # the shell's blocks run on Linux; Wine runs the C and C++ ones
        if language == "sh":
            script = directory / "program.sh"
            script.write_text(block.code, encoding="utf-8")
            if block.fragment:
                return self.run(["bash", "-n", str(script)], "bash -n", directory)
            return self.run(["bash", str(script)], "the script", directory)
        if language == "console" and not block.fragment:
            return Session(self, directory).play(block.code)
        return "skip"


def normalise(line):
    line = re.sub(rf"\bsharedmem\.{os.getuid()}\.", "sharedmem.1000.", line)
    line = re.sub(rf"\buid {os.getuid()}\b", "uid 1000", line)
    return " ".join(line.split())


def matches(expected, actual):
    """Lines `...` in expected match any number of actual lines."""
    expected = [" ".join(l.split()) for l in expected]
    actual = [normalise(l) for l in actual]

    def match(e, a):
        if e == len(expected):
            return a == len(actual)
        if expected[e] == "...":
            return any(match(e + 1, k) for k in range(a, len(actual) + 1))
        return a < len(actual) and expected[e] == actual[a] and match(e + 1, a + 1)
    return match(0, 0)


def stop(job):
    """Waits for a job sent SIGTERM; kills it if it does not end. True if it ended."""
    try:
        job.wait(timeout=timeout(30))
        return True
    except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
        return False


class Session:
    def __init__(self, runner, directory):
        self.runner, self.directory, self.jobs = runner, directory, []

    def play(self, text):
        steps = []
        for line in text.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
            elif line.strip():
                return f"a session must start with '$ ': {line!r}"
        try:
            for command, expected in steps:
                problem = self.step(command.strip(), expected)
                if problem:
                    return f"$ {command}\n{problem}"
        finally:
            for job in self.jobs:
                if job.poll() is None:
                    job.terminate()
                    stop(job)
        return None

    def step(self, command, expected):
        kill = re.fullmatch(r"kill %(\d+)", command)
        if kill:
            number = int(kill.group(1))
            if not 1 <= number <= len(self.jobs):
                return f"there is no background command %{number}"
            self.jobs[number - 1].send_signal(signal.SIGTERM)
            return None if stop(self.jobs[number - 1]) else "did not end on SIGTERM"
        if command.endswith("&"):
            job = subprocess.Popen(["bash", "-c", command[:-1]], cwd=self.directory, env=self.runner.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            self.jobs.append(job)
            got = []
            reader = threading.Thread(target=lambda: [got.append(job.stdout.readline().rstrip("\n"))
                                                      for _ in expected])
            reader.daemon = True
            reader.start()
            reader.join(timeout(30))
            if not matches(expected, got):
                return f"expected (in the background):\n" + "\n".join(expected) + "\ngot:\n" + "\n".join(got)
            return None
        try:
            done = subprocess.run(["bash", "-c", command], cwd=self.directory, env=self.runner.env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout(60))
        except subprocess.TimeoutExpired:
            return "did not finish"
        got = done.stdout.splitlines()
        if not matches(expected, got):
            return "expected:\n" + "\n".join(expected) + "\ngot:\n" + "\n".join(got)
        return None


def main():
    if len(sys.argv) < 4 or sys.argv[2] not in ("c", "python"):
        raise SystemExit(__doc__)
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    mode = sys.argv[2]
    work = Path(config["work_dir"]) / mode
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    runner = Runner(config, work)
    ran = skipped = 0
    failures = []
    paths = []
    for given in sys.argv[3:]:
        given = Path(given)
        paths += sorted(given.glob("*.md")) if given.is_dir() else [given]
    for path in paths:
        for block in blocks_of(path, config["source_dir"]):
            started = time.monotonic()
            problem = runner.check(block, mode)
            if problem == "skip":
                skipped += 1
                continue
            ran += 1
            if problem:
                failures.append(f"{block.where()}: {problem}")
                print(f"FAIL {block.where()}\n{problem}", flush=True)
            else:
                print(f"ok   {block.where()} ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"{ran - len(failures)} passed, {len(failures)} failed, {skipped} skipped")
    if ran == 0:
        print("no block was run", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
