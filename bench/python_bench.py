#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python package's benchmark: sharedmem.Segment against what a Python
user writes today with multiprocessing.shared_memory, side by side in one
run, and the report docs/PYTHON-PERFORMANCE.md.

Every figure is a ratio to a baseline measured in the same run, interleaved
with it (absolute times on a shared machine drift from run to run):

- Segment.read() against bytes(shm.buf[:n]) on a standard SharedMemory: no
  lock, the fastest (and unsafe: it can return a torn value) thing a Python
  user can write. Goal: at most 1.5x.
- Segment.read() and Segment.write() against the same standard SharedMemory
  guarded by a multiprocessing.Lock, the safe way to write it today. Goal:
  faster.
- The wake latency of Segment.wait() across two processes against a
  multiprocessing.Event and a multiprocessing.Condition. Goal: faster.

Needs the sharedmem package importable (CMake's bench-python target installs
it into a venv from the bench build's libraries and runs this):

    cmake --build --preset bench-python       # writes docs/PYTHON-PERFORMANCE.md
    python_bench.py --smoke --out DIR          # each measurement once (CI)
"""
import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from multiprocessing import shared_memory

import sharedmem

SIZES = (64, 4096)


def human_size(n):
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def per_call_ns(function, calls):
    """Nanoseconds per call of `function(calls)`, a loop of `calls` calls."""
    start = time.perf_counter_ns()
    function(calls)
    return (time.perf_counter_ns() - start) / calls


def compare(candidates, calls, repeats):
    """Runs each candidate `repeats` times, interleaved, and gives each one's
    median ns per call."""
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, function in candidates.items():
            samples[name].append(per_call_ns(function, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


# --- reads and writes in one process ----------------------------------------

def copy_benchmarks(size, calls, repeats, tag):
    data = bytes(range(256)) * (size // 256) if size >= 256 else bytes(range(size))
    seg = sharedmem.Segment(f"pybench_{tag}_{os.getpid()}_{size}", size)
    seg.write(data)
    shm = shared_memory.SharedMemory(create=True, size=size)
    shm.buf[:size] = data
    lock = multiprocessing.Lock()
    n = size

    def segment_read(k):
        read = seg.read
        for _ in range(k):
            read()

    def bare_read(k):
        for _ in range(k):
            bytes(shm.buf[:n])

    def locked_read(k):
        for _ in range(k):
            with lock:
                bytes(shm.buf[:n])

    def segment_write(k):
        write = seg.write
        for _ in range(k):
            write(data)

    def locked_write(k):
        for _ in range(k):
            with lock:
                shm.buf[:n] = data

    assert seg.read() == bytes(shm.buf[:n]) == data
    try:
        return compare({"segment_read": segment_read, "bare_read": bare_read,
                        "locked_read": locked_read, "segment_write": segment_write,
                        "locked_write": locked_write}, calls, repeats)
    finally:
        seg.close()
        shm.close()
        shm.unlink()


# --- wake latency across two processes --------------------------------------
# Ping-pong: the parent wakes the child, the child wakes the parent; a round
# trip is two wake-ups, and the latency reported is half a round trip.

def segment_echo(ping_name, pong_name, rounds):
    with sharedmem.Segment(ping_name, mode="open") as ping, \
            sharedmem.Segment(pong_name, mode="open") as pong:
        seen = 0
        pong.write(b"r")  # ready
        for _ in range(rounds):
            seen = ping.wait(seen)
            pong.write(b"p")


def segment_round_trips(context, rounds):
    tag = f"{os.getpid()}_{time.monotonic_ns()}"
    with sharedmem.Segment(f"pybench_ping_{tag}", 8) as ping, \
            sharedmem.Segment(f"pybench_pong_{tag}", 8) as pong:
        child = context.Process(target=segment_echo, args=(ping.name, pong.name, rounds))
        child.start()
        seen = pong.wait(0, timeout=30)  # the child is ready
        trips = []
        clock = time.perf_counter_ns
        for _ in range(rounds):
            start = clock()
            ping.write(b"p")
            seen = pong.wait(seen, timeout=30)
            trips.append(clock() - start)
        child.join(30)
    return statistics.median(trips) / 2


def event_echo(ping, pong, rounds):
    pong.set()  # ready
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def event_round_trips(context, rounds):
    ping, pong = context.Event(), context.Event()
    child = context.Process(target=event_echo, args=(ping, pong, rounds))
    child.start()
    pong.wait(30)
    pong.clear()
    trips = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        ping.set()
        pong.wait()
        pong.clear()
        trips.append(clock() - start)
    child.join(30)
    return statistics.median(trips) / 2


def condition_echo(condition, turn, rounds):
    # turn: even means the parent's move, odd the child's.
    with condition:
        turn.value = 1  # ready
        condition.notify()
        for i in range(rounds):
            while turn.value != 2 * i + 2:
                condition.wait()
            turn.value += 1
            condition.notify()


def condition_round_trips(context, rounds):
    condition = context.Condition()
    turn = context.Value("q", 0, lock=False)
    child = context.Process(target=condition_echo, args=(condition, turn, rounds))
    child.start()
    with condition:
        while turn.value != 1:
            condition.wait(30)
        trips = []
        clock = time.perf_counter_ns
        for i in range(rounds):
            start = clock()
            turn.value += 1
            condition.notify()
            while turn.value != 2 * i + 3:
                condition.wait()
            trips.append(clock() - start)
    child.join(30)
    return statistics.median(trips) / 2


def wake_benchmarks(rounds, repeats):
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    samples = {"segment": [], "event": [], "condition": []}
    for _ in range(repeats):  # interleaved, as the copies are
        samples["segment"].append(segment_round_trips(context, rounds))
        samples["event"].append(event_round_trips(context, rounds))
        samples["condition"].append(condition_round_trips(context, rounds))
    return {name: statistics.median(values) for name, values in samples.items()}


# --- the report -------------------------------------------------------------

def fmt_ns(ns):
    return f"{ns / 1000:.2f} us" if ns >= 1000 else f"{ns:.0f} ns"


def ratio(a, b):
    return a / b


def verdict(met):
    return "met" if met else "**not met**"


def write_report(path, copies, wakes, args):
    lines = [
        "# Python performance",
        "",
        "Generated by `bench/python_bench.py` (`cmake --build --preset bench-python`); do not "
        "edit by hand. sharedmem's Python package (`python/`) against what a Python user "
        "writes today with `multiprocessing.shared_memory.SharedMemory`, measured side by side "
        "in one run: each figure is the median of "
        f"{args.repeats} interleaved runs of {args.calls} calls (wake-ups: {args.rounds} round "
        "trips), and each goal is a ratio to a baseline of the same run.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"Python {platform.python_version()} ({getattr(sys, '_base_executable', sys.executable)}, "
        f"in a venv); sharedmem backend "
        f"{sharedmem.backend()}." + (f" Load average at the start: {args.load:.1f} (a "
                                      "shared machine: absolute times vary from run to run)."
                                      if args.load is not None else ""),
        "",
        "## Goals",
        "",
        "| goal | measured | verdict |",
        "|---|---|---|",
    ]
    for size in SIZES:
        c = copies[size]
        r = ratio(c["segment_read"], c["bare_read"])
        lines.append(f"| `Segment.read()` {human_size(size)} within 1.5x of `bytes(shm.buf[:n])` "
                     f"(no lock) | {r:.2f}x | {verdict(r <= 1.5)} |")
    for size in SIZES:
        c = copies[size]
        r = ratio(c["segment_read"], c["locked_read"])
        lines.append(f"| `Segment.read()` {human_size(size)} faster than the same read under a "
                     f"`multiprocessing.Lock` | {r:.2f}x | {verdict(r < 1)} |")
        w = ratio(c["segment_write"], c["locked_write"])
        lines.append(f"| `Segment.write()` {human_size(size)} faster than `shm.buf[:n] = data` "
                     f"under a `multiprocessing.Lock` | {w:.2f}x | {verdict(w < 1)} |")
    for other, label in (("event", "multiprocessing.Event"), ("condition", "multiprocessing.Condition")):
        r = ratio(wakes["segment"], wakes[other])
        lines.append(f"| `wait()` wake-up across two processes faster than a `{label}` | "
                     f"{r:.2f}x | {verdict(r < 1)} |")
    lines += ["", "## Reads and writes (ns per call)", "",
              "| size | `Segment.read()` | `bytes(shm.buf[:n])` | same, under a Lock | "
              "`Segment.write()` | `shm.buf[:n] = data` under a Lock |",
              "|---|---|---|---|---|---|"]
    for size in SIZES:
        c = copies[size]
        lines.append(f"| {human_size(size)} | {fmt_ns(c['segment_read'])} | "
                     f"{fmt_ns(c['bare_read'])} | {fmt_ns(c['locked_read'])} | "
                     f"{fmt_ns(c['segment_write'])} | {fmt_ns(c['locked_write'])} |")
    lines += ["", "## Wake-up latency across two processes", "",
              "Half a ping-pong round trip between a parent and a forked child: one side "
              "writes (or sets, or notifies), the other wakes up from waiting and answers. "
              "Each figure is half the median round trip of its runs, so that the round "
              "trips the scheduler delayed (this machine is shared) do not decide it.", "",
              "| mechanism | one wake-up |", "|---|---|",
              f"| `Segment.write()` + `Segment.wait()` | {fmt_ns(wakes['segment'])} |",
              f"| `multiprocessing.Event` set/wait/clear | {fmt_ns(wakes['event'])} |",
              f"| `multiprocessing.Condition` notify/wait, turn in a shared `Value` | "
              f"{fmt_ns(wakes['condition'])} |",
              "",
              "## What the figures say", "",
              "- The bare `bytes(shm.buf[:n])` is not a safe read: it copies whatever is in the "
              "buffer, half of one write and half of the next if a writer is busy. "
              "`Segment.read()` returns exactly one write's value without taking a lock, and "
              "pays for it with a method call into the extension, a version check and the "
              "allocation of the result sized by the value.",
              "- The safe standard equivalent takes a `multiprocessing.Lock` (a POSIX semaphore) "
              "around each access: two system-call-free but non-trivial C calls and a context "
              "manager in Python, which is where `Segment` gains.",
              "- `Segment.wait()` sleeps on a futex in the segment and a write wakes it "
              "directly; `multiprocessing.Event` is a `Condition` over a semaphore-backed lock, "
              "which costs several semaphore operations per wake-up.",
              ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for PYTHON-PERFORMANCE.md")
    parser.add_argument("--smoke", action="store_true", help="each measurement once, tiny")
    parser.add_argument("--calls", type=int, default=200000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    args.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.smoke:
        args.calls, args.repeats, args.rounds = 100, 1, 10
    copies = {size: copy_benchmarks(size, args.calls, args.repeats, "copy") for size in SIZES}
    wakes = wake_benchmarks(args.rounds, max(1, args.repeats // 3))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "PYTHON-PERFORMANCE.md")
    write_report(path, copies, wakes, args)
    print(open(path).read())


if __name__ == "__main__":
    main()
