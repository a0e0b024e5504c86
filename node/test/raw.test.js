// SPDX-License-Identifier: MIT
// Tests of raw segments: the buffer is the shared memory itself (seen by a
// C process and by other handles), the robust lock, notification, and the
// buffer's detach on close.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sharedmem, uniqueName, startPeer, assertSharedmemError, closeAfter, timeout, withTimeout } =
  require('./support');

const { RawSegment } = sharedmem;

// Tests that two handles in one process share the bytes, zero copy.
test('the buffer is shared in place', (t) => {
  const name = uniqueName('in-place');
  const first = closeAfter(t, RawSegment.open(name, { capacity: 4096 }));
  const second = closeAfter(t, RawSegment.open(name, { capacity: 4096 }));
  assert.equal(first.buffer.length, 4096);
  assert.ok(first.buffer.every((byte) => byte === 0), 'zero-filled when created');
  assert.equal(first.buffer, first.buffer, 'one Buffer per handle');
  first.buffer.write('in place', 100);
  assert.equal(second.buffer.toString('utf8', 100, 108), 'in place');
  new Float64Array(second.buffer.buffer, 8, 1)[0] = 2.5;
  assert.equal(first.buffer.readDoubleLE(8), 2.5);
});

// Tests a C writer and a Node reader (and back) on one raw buffer, with the
// lock and notify as the protocol.
test('raw buffer shared with a C process', async (t) => {
  const name = uniqueName('c-raw');
  const segment = closeAfter(t, RawSegment.open(name, { capacity: 65536 }));
  const peer = await startPeer('raw', name, 65536);
  t.after(() => peer.finish());
  assert.equal(peer.created, false);
  const seen = segment.version;
  const woken = segment.wait(seen, { timeout: timeout(10000) });
  assert.match(await peer.ask('fill 171'), /^filled \d+$/);
  assert.equal(await woken, seen + 1);
  assert.ok(segment.buffer.every((byte) => byte === 171), 'every byte the C process wrote');
  {
    const lock = segment.lock({ timeout: timeout(10000) });
    assert.equal(lock.ownerDied, false);
    segment.buffer.fill(7);
    lock.unlock();
  }
  segment.notify();
  assert.equal(await peer.ask('check 7'), 'same');
  // The lock excludes the peer: it times out while Node holds it.
  const held = segment.lock();
  assert.match(await peer.ask('fill 1 100'), /^error 10 /);
  held[Symbol.dispose]();
  assert.equal(held.held, false);
  held[Symbol.dispose]();
  assert.match(await peer.ask('fill 2'), /^filled/);
});

// Tests the robust lock: the holder's SIGKILL hands it over with ownerDied.
test('a lock whose holder died reports ownerDied', async (t) => {
  const name = uniqueName('owner-died');
  const segment = closeAfter(t, RawSegment.open(name, { capacity: 4096 }));
  const peer = await startPeer('raw', name, 4096);
  assert.equal(await peer.ask('lock'), 'locked');
  assertSharedmemError(() => segment.lock({ timeout: 0 }), 'TIMEOUT');
  await peer.kill();
  const lock = segment.lock({ timeout: timeout(10000) });
  assert.equal(lock.ownerDied, true);
  assertSharedmemError(() => segment.lock({ timeout: 0 }), 'WOULD_DEADLOCK');
  lock.unlock();
  assertSharedmemError(() => lock.unlock(), 'INVALID_ARGUMENT');
  assert.equal(segment.lock().ownerDied, false, 'handed over once');
});

// Tests that close() detaches the buffer: views become empty, access
// through them reaches nothing, and the lock is released.
test('close detaches the buffer and releases the lock', async (t) => {
  const name = uniqueName('detach');
  const segment = RawSegment.open(name, { capacity: 4096 });
  const other = closeAfter(t, RawSegment.open(name, { capacity: 4096 }));
  const buffer = segment.buffer;
  const view = new Uint32Array(buffer.buffer);
  buffer[0] = 42;
  segment.lock();
  segment.close();
  assert.equal(buffer.length, 0);
  assert.equal(buffer.buffer.byteLength, 0);
  assert.equal(view.length, 0);
  assert.equal(buffer[0], undefined);
  buffer[1] = 9; // ignored, not a crash
  view[0] = 9;
  assert.equal(other.buffer[0], 42);
  assert.equal(other.buffer[1], 0);
  assertSharedmemError(() => segment.buffer, 'INVALID_ARGUMENT');
  other.lock({ timeout: timeout(10000) }).unlock(); // released by close()
});

// Tests that a buffer outliving its collected segment object keeps the
// mapping (the segment stays alive until the buffer goes too).
test('a buffer keeps its mapping after its segment object is collected', async () => {
  const { setFlagsFromString } = require('node:v8');
  const { runInNewContext } = require('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const name = uniqueName('orphan');
  let buffer = (() => RawSegment.open(name, { capacity: 4096 }).buffer)();
  for (let i = 0; i < 5; i += 1) {
    gc();
    await new Promise(setImmediate);
  }
  buffer.fill(3);
  assert.equal(sharedmem.inspect(name).holders, 1);
  buffer = null;
  for (let i = 0; i < 20 && sharedmem.inspect(name) !== null; i += 1) {
    gc();
    await new Promise(setImmediate);
  }
  assert.equal(sharedmem.inspect(name), null, 'closed once the buffer was collected');
});

// Tests notify() against a C waiter.
test('notify wakes a C waiter', async (t) => {
  const name = uniqueName('notify');
  const segment = closeAfter(t, RawSegment.open(name, { capacity: 4096 }));
  const peer = await startPeer('raw', name, 4096);
  t.after(() => peer.finish());
  const answer = peer.ask(`wait ${segment.version} ${timeout(10000)}`);
  const version = segment.notify();
  assert.equal(await withTimeout(answer, timeout(15000), 'the C waiter'), `waited ${version}`);
});
