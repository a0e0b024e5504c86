#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of sharedmem-bridge through a JetStream cluster on loopback.

    bridge_test.py [--only NAME] [--bench PROGRAM [--bench-json PATH]] --
                   <sharedmem-bridge> <sharedmem>

Starts 3 nats-server processes as one JetStream cluster on loopback ports
chosen free at run time, and plays two machines on this one: segment
bt<pid>_a ("machine A", its bridge connected to server 1) and bt<pid>_b
("machine B", server 2), both mapped to one bucket key with --key. Local
reads and writes go through the sharedmem command, as a user's would.

Processes synchronise on what they print (the bridges' --json events,
`sharedmem watch` lines, "ready") and on exit statuses, never on sleeps;
every wait has a timeout scaled by SHAREDMEM_TEST_TIMEOUT_MULTIPLIER. The
cluster's readiness is asked of the servers' /healthz endpoint.

Without nats-server on PATH the script exits 77, which ctest reports as
skipped. With --bench PROGRAM it runs the latency and throughput benchmark
(sharedmem-bridge-bench) on the same set-up instead of the tests, and with
--bench-json keeps its figures in PATH (docs/bridge-bench.json, which
bench/report.py puts in PERFORMANCE.md).
"""
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MULTIPLIER = float(os.environ.get("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER", "1"))
TIMEOUT = 30.0 * MULTIPLIER
# A JetStream failover (a new stream leader elected) takes a few seconds.
FAILOVER_TIMEOUT = 60.0 * MULTIPLIER
SKIP = 77
MAX_PAYLOAD = 65536
BRIDGE = ""
SHAREDMEM = ""
TOKEN = "bt-token-%d" % os.getpid()


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def free_ports(count):
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """Three JetStream servers clustered on loopback, with token auth."""

    def __init__(self, workdir):
        self.workdir = workdir
        ports = free_ports(9)
        self.client = ports[0:3]
        self.route = ports[3:6]
        self.http = ports[6:9]
        self.processes = [None, None, None]
        for i in range(3):
            routes = ", ".join("nats-route://127.0.0.1:%d" % p for p in self.route)
            config = os.path.join(workdir, "s%d.conf" % i)
            with open(config, "w") as f:
                f.write("""server_name: s%d
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: %d
authorization { token: "%s" }
jetstream { store_dir: "%s" }
cluster { name: bt, listen: 127.0.0.1:%d, routes: [%s] }
""" % (i, self.client[i], self.http[i], MAX_PAYLOAD, TOKEN,
                    os.path.join(workdir, "store%d" % i), self.route[i], routes))
            self.start(i)
        self.wait_healthy(range(3))

    def log_tail(self, i, lines=20):
        try:
            with open(os.path.join(self.workdir, "s%d.log" % i), "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError as error:
            return str(error)

    def start(self, i):
        log = open(os.path.join(self.workdir, "s%d.log" % i), "ab")
        self.processes[i] = subprocess.Popen(
            ["nats-server", "-c", os.path.join(self.workdir, "s%d.conf" % i)],
            stdout=log, stderr=log)

    def url(self, i):
        return "nats://127.0.0.1:%d" % self.client[i]

    def urls(self, first):
        """Every server's URL, server `first` first (this machine's own)."""
        return ",".join(self.url((first + k) % 3) for k in range(3))

    def wait_healthy(self, indexes, timeout=TIMEOUT):
        """Waits for each server's /healthz to say "ok". A server rejoining a
        cluster that went on without it (stopped, or killed and started
        again) reports "ok" only once its JetStream state caught up: give
        it FAILOVER_TIMEOUT. On failure, the server's last log lines say
        why."""
        deadline = time.monotonic() + timeout
        for i in indexes:
            while True:
                try:
                    with urllib.request.urlopen(
                            "http://127.0.0.1:%d/healthz" % self.http[i], timeout=2) as r:
                        if json.loads(r.read()).get("status") == "ok":
                            break
                except (OSError, ValueError):
                    pass
                expect(time.monotonic() < deadline,
                       "server %d not healthy in time:\n%s" % (i, self.log_tail(i)))
                time.sleep(0.1)  # a readiness probe of an outside server

    def kill(self, i):
        self.processes[i].kill()
        self.processes[i].wait()

    def stop(self):
        for p in self.processes:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


class Process:
    """A running program whose stdout is read line by line with timeouts."""
    started = []  # every one, killed at the end whatever happened

    def __init__(self, args):
        self.args = args
        self.buffer = b""
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        Process.started.append(self)

    def read_line(self, what, timeout=None):
        deadline = time.monotonic() + (timeout or TIMEOUT)
        out = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            expect(left > 0, "%s: no line in time (so far %r; %s)"
                   % (what, self.buffer[-300:], " ".join(self.args[:3])))
            ready, _, _ = select.select([out], [], [], left)
            if ready:
                chunk = os.read(out, 65536)
                if not chunk:
                    raise AssertionError("%s: the program ended (status %s, stderr %r)"
                                         % (what, self.process.wait(), self.stderr()[-500:]))
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def stderr(self):
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode("utf-8", "replace")

    def signal(self, number):
        self.process.send_signal(number)

    def wait(self):
        return self.process.wait(timeout=TIMEOUT)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Bridge(Process):
    def __init__(self, cluster, first, *args):
        super().__init__([BRIDGE, "--json", "--server", cluster.urls(first),
                          "--token-file", TOKEN_FILE] + list(args))
        self.unmatched = []  # events read while looking for others

    def event(self, what, predicate, timeout=None):
        """The first event, of those not yet taken, for which predicate(event)
        holds; those read on the way are kept for later calls."""
        for i, e in enumerate(self.unmatched):
            if predicate(e):
                return self.unmatched.pop(i)
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            left = deadline - time.monotonic()
            expect(left > 0, "%s: not in time (events: %r)" % (what, self.unmatched[-5:]))
            e = json.loads(self.read_line(what, left))
            if predicate(e):
                return e
            self.unmatched.append(e)

    def ready(self):
        return self.event("ready", lambda e: e["event"] == "ready")


def run(*args, stdin=None):
    done = subprocess.run([SHAREDMEM] + list(args), input=stdin, capture_output=True,
                          timeout=TIMEOUT)
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def get(name):
    status, out, err = run("get", "--json", name)
    expect(status == 0, "get %s: status %d (%s)" % (name, status, err))
    return json.loads(out)


def put(name, value):
    status, _, err = run("set", name, "-", stdin=value.encode() if isinstance(value, str) else value)
    expect(status == 0, "set %s: status %d (%s)" % (name, status, err))


class Watch(Process):
    """`sharedmem watch NAME --json`: each value of a segment as it arrives."""

    def __init__(self, name):
        super().__init__([SHAREDMEM, "watch", "--json", name])
        self.current = self.read_value("the current value")

    def read_value(self, what, timeout=None):
        return json.loads(self.read_line(what, timeout))

    def until(self, value, what, timeout=None):
        """Returns once the segment holds `value` (now, or when it arrives
        within `timeout` seconds, TIMEOUT by default)."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        seen, self.current = self.current, None
        while seen is None or seen.get("value") != value:
            left = deadline - time.monotonic()
            expect(left > 0, "%s: not in time (last seen %r)" % (what, seen))
            seen = self.read_value(what, left)
        return seen


# --- the scenarios -------------------------------------------------------------


def start_pair(cluster, tag, key, *options, capacity="64K", prefer=None):
    """Bridges for two machines: A on server 0, B on server 1."""
    a_name, b_name = "bt%d_%s_a" % (os.getpid(), tag), "bt%d_%s_b" % (os.getpid(), tag)
    extra = list(options) + (["--prefer", prefer] if prefer else [])
    a = Bridge(cluster, 0, "--bucket", BUCKET, "--capacity", capacity, "--key",
               "%s=%s" % (a_name, key), *extra)
    try:
        a.ready()
        b = Bridge(cluster, 1, "--bucket", BUCKET, "--capacity", capacity, "--key",
                   "%s=%s" % (b_name, key), *extra)
    except AssertionError:
        a.kill()
        raise
    try:
        b.ready()
    except AssertionError:
        a.kill()
        b.kill()
        raise
    return a, b, a_name, b_name


def test_start_up(cluster):
    """A local value meets an empty bucket: published; a new segment meets a
    bucket value: it takes it."""
    a_name, b_name = "bt%d_su_a" % os.getpid(), "bt%d_su_b" % os.getpid()
    holder = Process([SHAREDMEM, "hold", a_name, "--capacity", "4K", "--value", "local first"])
    a = b = None
    try:
        expect(holder.read_line("hold ready") == "ready", "hold ready")
        a = Bridge(cluster, 0, "--bucket", BUCKET, "--key", "%s=startup" % a_name,
                   "--status-interval", "0.1")
        published = a.event("A publishes its value", lambda e: e["event"] == "published")
        a.ready()
        status = a.event("a status line", lambda e: e["event"] == "status")
        expect(status["connected"] and status["names"][0]["revision"] == published["revision"]
               and status["names"][0]["published"] == 1, "the status line: %r" % status)
        b = Bridge(cluster, 1, "--bucket", BUCKET, "--capacity", "4K", "--key",
                   "%s=startup" % b_name)
        ready = b.ready()
        expect(get(b_name)["value"] == "local first", "B took the bucket's value at start-up")
        expect(ready["names"][0]["revision"] == published["revision"], "B at A's revision")
        for bridge in (a, b):
            bridge.signal(signal.SIGTERM)
            expect(bridge.wait() == 0, "SIGTERM: exit status 0")
            bridge.event("the stopped line", lambda e: e["event"] == "stopped")
        # The bridge held B alone: stopped, it let the segment go.
        expect(run("info", b_name)[0] == 3, "B's segment is gone with its bridge")
    finally:
        for process in (a, b, holder):
            if process is not None:
                process.kill()


def test_propagation_and_echo(cluster):
    """Writes reach the other side within 1 s, both ways; 100 writes on A
    grow A's version by exactly 100 and B's by at most 100 (no echo)."""
    a, b, a_name, b_name = start_pair(cluster, "echo", "echo")
    try:
        watch_b = Watch(b_name)
        latencies = []
        for i in range(20):
            value = "a%d" % i
            start = time.monotonic()
            put(a_name, value)
            watch_b.until(value, "B receives %s" % value)
            latencies.append(time.monotonic() - start)
        median = statistics.median(latencies)
        print("A -> B through the bridges, including `sharedmem set`'s start: median %.1f ms, "
              "max %.1f ms" % (median * 1000, max(latencies) * 1000))
        expect(median < 1.0 * MULTIPLIER, "median A -> B latency %.3f s >= 1 s" % median)
        expect(max(latencies) < 1.0 * MULTIPLIER * 3, "worst latency %.3f s" % max(latencies))
        watch_b.kill()

        watch_a = Watch(a_name)
        for i in range(5):
            put(b_name, "b%d" % i)
            watch_a.until("b%d" % i, "A receives b%d" % i)
        watch_a.kill()

        before_a, before_b = get(a_name)["version"], get(b_name)["version"]
        for i in range(100):
            put(a_name, "n%d" % i)
        # B has the last value; then a marker from B, after anything B could
        # have sent back, reaches A.
        b.event("B applies n99", lambda e: e["event"] == "applied" and
                e["revision"] >= 0 and get(b_name)["value"] == "n99")
        put(b_name, "marker")
        a.event("A applies the marker", lambda e: e["event"] == "applied" and
                get(a_name)["value"] == "marker")
        grown_a = get(a_name)["version"] - before_a
        grown_b = get(b_name)["version"] - before_b
        print("100 writes on A: A's version grew by %d (+1 marker), B's by %d (+1 marker)"
              % (grown_a - 1, grown_b - 1))
        expect(grown_a == 101, "A's version grew by %d, expected 100 + the marker" % grown_a)
        expect(2 <= grown_b <= 101, "B's version grew by %d, expected 1..100 + the marker"
               % grown_b)
    finally:
        a.kill()
        b.kill()


def test_payload_limit(cluster):
    """A value over the server's maximum payload is refused with a clear
    error and not published; the next one is."""
    a, b, a_name, b_name = start_pair(cluster, "big", "big", capacity="128K")
    try:
        put(a_name, "small")
        b.event("B applies small", lambda e: e["event"] == "applied")
        before_b = get(b_name)["version"]
        put(a_name, b"x" * (MAX_PAYLOAD + 1000))
        refused = a.event("A refuses the big value", lambda e: e["event"] == "refused" or (
            e["event"] == "published" and e["size"] > MAX_PAYLOAD))
        expect(refused["event"] == "refused", "the big value was published: %r" % refused)
        error = a.event("the error line", lambda e: e["event"] == "error")
        expect("maximum payload" in error["message"] and "not published" in error["message"],
               "a clear error: %r" % error["message"])
        put(a_name, "after")
        b.event("B applies after", lambda e: e["event"] == "applied")
        seen = get(b_name)
        expect(seen["value"] == "after", "B has the next value")
        expect(seen["version"] == before_b + 1, "B never received the big value")
    finally:
        a.kill()
        b.kill()


def test_kill_server(cluster):
    """Killing the server a bridge is connected to loses no final value."""
    a, b, a_name, b_name = start_pair(cluster, "kill", "kill")
    try:
        put(a_name, "before")
        b.event("B applies before", lambda e: e["event"] == "applied")
        cluster.kill(0)  # A's server
        for i in range(10):
            put(a_name, "during%d" % i)
        a.event("A reconnects", lambda e: e["event"] == "reconnected", FAILOVER_TIMEOUT)
        started = time.monotonic()
        watch_b = Watch(b_name)
        try:
            watch_b.until("during9", "B receives the final value", FAILOVER_TIMEOUT)
            print("a server killed: B had the final value %.1f s after A reconnected"
                  % (time.monotonic() - started))
        except AssertionError:
            a.kill()
            b.kill()
            print("A:", a.unmatched, a.stderr(), "\nB:", b.unmatched, b.stderr())
            raise
        finally:
            watch_b.kill()
        put(b_name, "back")
        a.event("A applies back", lambda e: e["event"] == "applied" and
                get(a_name)["value"] == "back", FAILOVER_TIMEOUT)
    finally:
        a.kill()
        b.kill()
        cluster.start(0)
        cluster.wait_healthy([0], FAILOVER_TIMEOUT)


def test_network_down(cluster):
    """The network to A's server goes silent (the server is stopped, not
    killed): local processes keep reading and writing, and the latest value
    reaches B when the bridge gets through again."""
    a, b, a_name, b_name = start_pair(cluster, "net", "net")
    try:
        put(a_name, "before")
        b.event("B applies before", lambda e: e["event"] == "applied")
        cluster.processes[0].send_signal(signal.SIGSTOP)
        try:
            for i in range(5):
                put(a_name, "offline%d" % i)
                expect(get(a_name)["value"] == "offline%d" % i, "A works locally")
            Watch(b_name).until("offline4", "B receives the latest value", FAILOVER_TIMEOUT)
        finally:
            cluster.processes[0].send_signal(signal.SIGCONT)
    finally:
        a.kill()
        b.kill()
        cluster.wait_healthy(range(3), FAILOVER_TIMEOUT)


def test_restart_bridge(cluster):
    """A bridge killed and restarted converges to the latest value: the
    bucket's (the default) or, with --prefer local, the segment's."""
    a, b, a_name, b_name = start_pair(cluster, "rs", "restart")
    holder = Process([SHAREDMEM, "hold", b_name])  # B's segment outlives its bridge
    try:
        expect(holder.read_line("hold ready") == "ready", "hold ready")
        put(a_name, "one")
        b.event("B applies one", lambda e: e["event"] == "applied")
        b.kill()  # SIGKILL
        put(a_name, "while B's bridge was down")
        a.event("A publishes", lambda e: e["event"] == "published")
        b = Bridge(cluster, 1, "--bucket", BUCKET, "--key", "%s=restart" % b_name)
        b.ready()
        expect(get(b_name)["value"] == "while B's bridge was down", "B converged")

        b.kill()
        put(b_name, "written on B while its bridge was down")
        b = Bridge(cluster, 1, "--bucket", BUCKET, "--key", "%s=restart" % b_name,
                   "--prefer", "local")
        b.ready()
        Watch(a_name).until("written on B while its bridge was down", "A converged")
    finally:
        a.kill()
        b.kill()
        holder.kill()


def race(cluster, tag, *options):
    """B's bridge paused (SIGSTOP) while A's write reaches the bucket and a
    local write is made on B; then B's bridge resumes. Returns both values."""
    a, b, a_name, b_name = start_pair(cluster, tag, tag, *options)
    try:
        put(a_name, "base")
        b.event("B applies base", lambda e: e["event"] == "applied")
        b.signal(signal.SIGSTOP)
        try:
            put(a_name, "from A")
            a.event("A publishes", lambda e: e["event"] == "published")
            put(b_name, "from B")
        finally:
            b.signal(signal.SIGCONT)
        expected = "from B" if not options else "from A"
        Watch(a_name).until(expected, "A converges")
        Watch(b_name).until(expected, "B converges")
        return get(a_name)["value"], get(b_name)["value"]
    finally:
        a.kill()
        b.kill()


def test_last_writer_wins(cluster):
    """Without --cas the write that reaches the bucket last wins: B's."""
    values = race(cluster, "lww")
    expect(values == ("from B", "from B"), "last writer wins: %r" % (values,))


def test_cas(cluster):
    """With --cas the bucket's revision that came first wins: B's local write
    is replaced by A's value instead of overwriting it; concurrent writers on
    both sides converge to one value."""
    values = race(cluster, "cas", "--cas")
    expect(values == ("from A", "from A"), "compare-and-write: %r" % (values,))
    a, b, a_name, b_name = start_pair(cluster, "cas2", "cas2", "--cas")
    try:
        writers = [subprocess.Popen(
            ["/bin/sh", "-c", 'for i in $(seq 30); do "$0" set "$1" "$2$i" || exit 1; done',
             SHAREDMEM, name, side]) for name, side in ((a_name, "a"), (b_name, "b"))]
        for w in writers:
            expect(w.wait(timeout=TIMEOUT) == 0, "a writer failed")
        # Quiet: a last write from each side, in turn, settles both.
        put(a_name, "last")
        Watch(b_name).until("last", "B converges")
        Watch(a_name).until("last", "A converges")
    finally:
        a.kill()
        b.kill()


def test_refusals(cluster):
    """Wrong credentials, raw segments and missing segments are refused with
    the command's exit statuses; a non-loopback server without TLS warns."""
    wrong = os.path.join(WORKDIR, "wrong-token")
    with open(wrong, "w") as f:
        f.write("not-the-token\n")
    p = Process([BRIDGE, "--server", cluster.url(0), "--token-file", wrong, "--bucket", BUCKET,
                 "--capacity", "1K", "bt%d_auth" % os.getpid()])
    expect(p.wait() == 1, "a refused token: exit status 1")
    err = p.stderr()
    expect("cannot connect" in err and "uthoriz" in err, "says why: %r" % err)

    raw = "bt%d_raw" % os.getpid()
    holder = Process([SHAREDMEM, "hold", raw, "--capacity", "4K", "--raw"])
    try:
        expect(holder.read_line("hold ready") == "ready", "hold ready")
        p = Bridge(cluster, 0, "--bucket", BUCKET, raw)
        expect(p.wait() == 1, "a raw segment: exit status 1")
        expect("value segments only" in p.stderr(), "says raw segments are not mirrored")
    finally:
        holder.kill()

    p = Bridge(cluster, 0, "--bucket", BUCKET, "bt%d_absent" % os.getpid())
    expect(p.wait() == 3, "no live segment and no --capacity: exit status 3")

    p = Process([BRIDGE, "--server", "nats://192.0.2.1:4222", "--token-file", TOKEN_FILE,
                 "--bucket", BUCKET, "--capacity", "1K", "bt%d_far" % os.getpid()])
    expect(p.wait() == 1, "an unreachable server: exit status 1")
    err = p.stderr()
    expect("without TLS" in err and "cannot connect" in err, "warns about clear text: %r" % err)

    status = subprocess.run([BRIDGE, "--server", cluster.url(0), "--bucket", BUCKET],
                            capture_output=True, timeout=TIMEOUT).returncode
    expect(status == 2, "no name: exit status 2")


def test_tls(cluster):
    """TLS: a server that requires it and a client certificate is reached with
    --tls-ca and --tls-cert/--tls-key, and refused without either."""
    if shutil.which("openssl") is None:
        print("openssl is not installed: test_tls not run")
        return
    d = os.path.join(WORKDIR, "tls")
    os.mkdir(d)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=TIMEOUT)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "1", "-subj", "/CN=bridge-test-ca")
    extensions = os.path.join(d, "san.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".key", "-out",
                who + ".csr", "-subj", "/CN=" + who)
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", who + ".pem", "-days", "1", "-extfile", extensions)
    port, http = free_ports(2)
    with open(os.path.join(d, "tls.conf"), "w") as f:
        f.write("""listen: 127.0.0.1:%d
http: 127.0.0.1:%d
tls { cert_file: "%s/server.pem", key_file: "%s/server.key", ca_file: "%s/ca.pem", verify: true }
jetstream { store_dir: "%s/store" }
""" % (port, http, d, d, d, d))
    server = subprocess.Popen(["nats-server", "-c", os.path.join(d, "tls.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % http, timeout=2) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        break
            except (OSError, ValueError):
                pass
            expect(time.monotonic() < deadline, "the TLS server is not healthy in time")
            time.sleep(0.1)  # a readiness probe of an outside server
        url = "tls://127.0.0.1:%d" % port
        base = [BRIDGE, "--json", "--server", url, "--bucket", BUCKET + "tls", "--capacity", "1K",
                "bt%d_tls" % os.getpid()]
        client = ["--tls-cert", os.path.join(d, "client.pem"), "--tls-key",
                  os.path.join(d, "client.key")]
        ca = ["--tls-ca", os.path.join(d, "ca.pem")]
        for options, why in ((client, "no CA to verify the server"),
                             (ca, "no client certificate")):
            p = Process(base + options)
            expect(p.wait() == 1, "TLS without %s: exit status 1" % why)
            expect("cannot connect" in p.stderr(), "TLS without %s: says so" % why)
        p = Process(base + ca + client)
        try:
            ready = json.loads(p.read_line("ready over TLS"))
            expect(ready["event"] == "ready" and ready["server"].startswith("tls://"),
                   "connected over TLS: %r" % ready)
        finally:
            p.kill()
    finally:
        server.kill()
        server.wait()


TESTS = [test_start_up, test_propagation_and_echo, test_payload_limit, test_last_writer_wins,
         test_cas, test_restart_bridge, test_refusals, test_tls, test_network_down,
         test_kill_server]


def bench(cluster, program):
    a, b, a_name, b_name = start_pair(cluster, "bench", "bench")
    # A bridge whose --json lines nobody reads stops when the pipe fills, as
    # any program would: they are drained meanwhile.
    for bridge in (a, b):
        threading.Thread(target=bridge.process.stdout.read, daemon=True).start()
    try:
        rounds = os.environ.get("SHAREDMEM_BRIDGE_BENCH_ROUNDS", "1000")
        updates = os.environ.get("SHAREDMEM_BRIDGE_BENCH_UPDATES", "1000")
        # The benchmark connects without the bridge's token file: it gets
        # the token the one way NATS takes it in a URL.
        def with_token(i):
            return "nats://%s@127.0.0.1:%d" % (TOKEN, cluster.client[i])
        done = subprocess.run([program, "--server-a", with_token(0), "--server-b", with_token(1),
                               "--bucket", BUCKET, "--a", a_name, "--b", b_name, "--bare-key",
                               "bare", "--rounds", rounds, "--updates", updates],
                              capture_output=True, timeout=600 * MULTIPLIER)
        sys.stderr.write(done.stderr.decode())
        if done.returncode != 0:
            a.kill()
            b.kill()
            raise AssertionError("the benchmark failed; bridge A: %s; bridge B: %s"
                                 % (a.stderr()[-500:], b.stderr()[-500:]))
        figures = json.loads(done.stdout)
        figures["load_average_1min"] = os.getloadavg()[0]
        figures["cpus"] = os.cpu_count()
        text = json.dumps(figures, indent=1) + "\n"
        sys.stdout.write(text)
        if BENCH_JSON:
            with open(BENCH_JSON, "w") as f:
                f.write(text)
    finally:
        a.kill()
        b.kill()


def main():
    global BRIDGE, SHAREDMEM, TOKEN_FILE, WORKDIR, BUCKET, BENCH_JSON
    args = sys.argv[1:]
    only, program, BENCH_JSON = None, None, None
    while args and args[0] != "--":
        if args[0] == "--only":
            only, args = args[1], args[2:]
        elif args[0] == "--bench":
            program, args = args[1], args[2:]
        elif args[0] == "--bench-json":
            BENCH_JSON, args = args[1], args[2:]
        else:
            sys.exit("usage: bridge_test.py [--only NAME] [--bench PROGRAM [--bench-json PATH]] -- "
                     "BRIDGE SHAREDMEM")
    BRIDGE, SHAREDMEM = args[1], args[2]
    if shutil.which("nats-server") is None:
        print("nats-server is not installed (./scripts/setup --all): skipped")
        return SKIP
    BUCKET = "bt%d" % os.getpid()
    with tempfile.TemporaryDirectory(prefix="sharedmem-bridge-") as workdir:
        WORKDIR = workdir
        TOKEN_FILE = os.path.join(workdir, "token")
        with open(TOKEN_FILE, "w") as f:
            f.write(TOKEN + "\n")
        cluster = Cluster(workdir)
        try:
            # Every bridge below finds the bucket, three replicas strong.
            first = Bridge(cluster, 0, "--bucket", BUCKET, "--replicas", "3", "--capacity", "1K",
                           "bt%d_create" % os.getpid())
            first.ready()
            first.kill()
            if program:
                bench(cluster, program)
                return 0
            failed = 0
            for test in TESTS:
                if only and test.__name__ != "test_" + only:
                    continue
                started = time.monotonic()
                try:
                    test(cluster)
                    print("PASS %s (%.1f s)" % (test.__name__, time.monotonic() - started))
                except (AssertionError, subprocess.SubprocessError, OSError, ValueError) as e:
                    failed += 1
                    print("FAIL %s: %s" % (test.__name__, e))
                sys.stdout.flush()
            return 1 if failed else 0
        finally:
            for process in Process.started:
                process.kill()
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
