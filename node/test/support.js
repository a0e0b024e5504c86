// SPDX-License-Identifier: MIT
// What the Node tests share: the package under test (the one staged in the
// build tree, checked), unique names, timeouts scaled by
// SHAREDMEM_TEST_TIMEOUT_MULTIPLIER, and processes that answer one line per
// command (the C peer, test/peer.c, and Node children, test/child.js), so
// that every cross-process step waits on an answer, never on a sleep.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const sharedmem = require('sharedmem');

// The package must be the build tree's, not some other install.
const packageDir = process.env.SHAREDMEM_NODE_PACKAGE_DIR;
assert.ok(packageDir, 'SHAREDMEM_NODE_PACKAGE_DIR is not set: run the tests through ctest');
assert.equal(path.dirname(require.resolve('sharedmem')), packageDir);

const multiplier = Number(process.env.SHAREDMEM_TEST_TIMEOUT_MULTIPLIER || '1') || 1;

/** `base` milliseconds scaled by SHAREDMEM_TEST_TIMEOUT_MULTIPLIER. */
function timeout(base) {
  return Math.ceil(base * multiplier);
}

let counter = 0;
/** A segment name no other test or run uses. */
function uniqueName(tag) {
  counter += 1;
  return `node_${process.pid}_${tag}_${counter}`;
}

/** Rejects after `ms` with a message naming what was awaited. */
function withTimeout(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** A child process spoken to in lines: ask(command) resolves with its answer. */
class LineProcess {
  constructor(command, args, options = {}) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], ...options });
    this.lines = [];
    this.waiting = [];
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
        for (const { reject } of this.waiting.splice(0))
          reject(new Error(`${command} exited (${code ?? signal}) before answering`));
      });
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next.resolve(line);
      else this.lines.push(line);
    });
    this.name = path.basename(command);
  }

  /** The next line it prints. */
  next(ms = timeout(10000)) {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    const line = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    return withTimeout(line, ms, `a line from ${this.name}`);
  }

  /** Sends a command and resolves with the answer. */
  ask(command, ms) {
    this.child.stdin.write(`${command}\n`);
    return this.next(ms);
  }

  /** Ends its input (it closes and exits) and resolves with its exit. */
  finish() {
    this.child.stdin.end();
    return withTimeout(this.exited, timeout(10000), `${this.name} to exit`);
  }

  /** SIGKILL, and resolves once it is gone. */
  kill() {
    this.child.kill('SIGKILL');
    return withTimeout(this.exited, timeout(10000), `${this.name} to die`);
  }
}

/** The C peer (test/peer.c) with a value or raw segment open; resolves once it answered "ready". */
async function startPeer(kind, name, capacity) {
  const peer = new LineProcess(process.env.SHAREDMEM_NODE_PEER, [kind, name, String(capacity)]);
  const ready = await peer.next();
  assert.match(ready, /^ready [01]$/, `peer: ${ready}`);
  peer.created = ready === 'ready 1';
  return peer;
}

/** A Node child (test/child.js) running `role`; resolves once it answered "ready". */
async function startChild(role, ...args) {
  const child = new LineProcess(process.execPath, [path.join(__dirname, 'child.js'), role, ...args]);
  const ready = await child.next();
  assert.match(ready, /^ready/, `child: ${ready}`);
  child.ready = ready;
  return child;
}

/** Closes `handle` when test `t` ends (Node 20 has no `using`). */
function closeAfter(t, handle) {
  t.after(() => handle.close());
  return handle;
}

/**
 * Resolves once inspect(name) counts `holders`, or rejects after a timeout. A
 * killed process's lock goes with its open file description, which the kernel
 * may release a moment after the parent saw the exit (while another task still
 * holds the dead process's memory map, which holds the description).
 */
async function awaitHolders(name, holders) {
  const deadline = Date.now() + timeout(10000);
  for (;;) {
    const info = sharedmem.inspect(name);
    if (info !== null && info.holders === holders) return;
    if (Date.now() >= deadline)
      throw new Error(`${name}: ${info === null ? 'gone' : `${info.holders} holders`}, not ${holders}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Asserts that `call` throws a SharedmemError with this code. */
function assertSharedmemError(call, code) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof sharedmem.SharedmemError, `not a SharedmemError: ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

module.exports = {
  sharedmem,
  timeout,
  uniqueName,
  withTimeout,
  LineProcess,
  startPeer,
  startChild,
  assertSharedmemError,
  awaitHolders,
  closeAfter,
};
