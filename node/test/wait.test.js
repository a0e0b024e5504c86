// SPDX-License-Identifier: MIT
// Tests of wait(): it sleeps off the main thread (timers keep firing), wakes
// on another process's write, rejects at once on abort, times out, rejects
// on close, and neither keeps an aborted process alive nor lets a waiting
// one exit.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sharedmem, uniqueName, startPeer, startChild, closeAfter, timeout, withTimeout } =
  require('./support');

const { Segment } = sharedmem;

function pendingWaits() {
  // The addon's own count, to see that threads are gone.
  return require(`${process.env.SHAREDMEM_NODE_PACKAGE_DIR}/lib/${process.platform}-${process.arch}/sharedmem.node`)
    .pendingWaits();
}

// Tests that a wait woken by a C process's write lets a 10 ms setInterval
// fire throughout, with no gap over 50 ms.
test('a C write wakes the wait while the event loop keeps ticking', async (t) => {
  const name = uniqueName('ticks');
  const segment = closeAfter(t, Segment.open(name, { capacity: 64 }));
  const peer = await startPeer('value', name, 64);
  t.after(() => peer.finish());
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 10);
  t.after(() => clearInterval(timer));
  // Wait through 20 ticks first, then have C write: the wait is asleep by then.
  const waited = segment.wait(segment.version, { timeout: timeout(10000) });
  await withTimeout(new Promise((resolve) => {
    const check = setInterval(() => {
      if (ticks.length >= 20) {
        clearInterval(check);
        resolve();
      }
    }, 1);
  }), timeout(10000), '20 ticks');
  const answer = peer.ask('write woken by C');
  assert.equal(await waited, 1);
  assert.equal(await answer, 'wrote 1');
  assert.equal(segment.read().toString(), 'woken by C');
  clearInterval(timer);
  const gaps = ticks.slice(1).map((time, i) => time - ticks[i]);
  const limit = timeout(50);
  assert.ok(Math.max(...gaps) <= limit, `a gap of ${Math.max(...gaps).toFixed(1)} ms between ticks (limit ${limit})`);
});

// Tests that abort() rejects the pending wait before anything else runs,
// with the signal's reason, and that the wait's thread goes.
test('abort rejects a pending wait at once', async (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('abort'), { capacity: 8 }));
  const controller = new AbortController();
  const waited = segment.wait(0, { signal: controller.signal });
  assert.equal(pendingWaits().referenced, 1);
  const order = [];
  waited.catch((error) => order.push(error.name));
  setImmediate(() => order.push('immediate'));
  controller.abort();
  assert.equal(pendingWaits().referenced, 0, 'no longer keeps the loop alive');
  await assert.rejects(waited, { name: 'AbortError' });
  await new Promise(setImmediate);
  assert.deepEqual(order, ['AbortError', 'immediate']);
  const reason = new Error('mine');
  const other = new AbortController();
  const second = segment.wait(0, { signal: other.signal });
  other.abort(reason);
  await assert.rejects(second, (error) => error === reason);
  await assert.rejects(segment.wait(0, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  // The threads let go within one slice.
  await withTimeout((async () => {
    while (pendingWaits().threads !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
  })(), timeout(5000), 'the aborted waits\' threads to end');
});

// Tests that a process whose only pending wait was aborted exits by itself.
test('a process exits once its pending wait is aborted', async (t) => {
  const name = uniqueName('abort-exit');
  const segment = closeAfter(t, Segment.open(name, { capacity: 8 }));
  const child = await startChild('abort', name);
  assert.equal(await child.next(), 'aborted AbortError');
  const { code } = await withTimeout(child.exited, timeout(10000), 'the child to exit');
  assert.equal(code, 0);
  assert.equal(segment.version, 0);
});

// Tests that a pending wait keeps its process alive until a write wakes it.
test('a pending wait keeps the process alive until woken', async (t) => {
  const name = uniqueName('keep-alive');
  const segment = closeAfter(t, Segment.open(name, { capacity: 32 }));
  const child = await startChild('wait', name);
  assert.equal(child.ready, 'ready 0');
  // Still alive: it answers nothing until the write; then it exits.
  segment.write('wake up');
  assert.equal(await child.next(), 'woke 1 wake up');
  assert.equal((await withTimeout(child.exited, timeout(10000), 'the child to exit')).code, 0);
});

// Tests the timeout, the immediate answer when the version differs already,
// and the rejection of pending waits by close().
test('timeout, already changed, and close', async () => {
  const segment = Segment.open(uniqueName('timeout'), { capacity: 8 });
  await assert.rejects(segment.wait(0, { timeout: 20 }), (error) => {
    assert.equal(error.code, 'TIMEOUT');
    assert.equal(error.version, 0);
    return true;
  });
  await assert.rejects(segment.wait(0, { timeout: 0 }), { code: 'TIMEOUT' });
  segment.write('x');
  assert.equal(await segment.wait(0), 1);
  const pending = [segment.wait(1), segment.wait(1, { timeout: 100000 })];
  segment.close();
  for (const waited of pending) await assert.rejects(waited, { code: 'INVALID_ARGUMENT' });
  assert.deepEqual(pendingWaits(), { threads: 0, referenced: 0, handles: pendingWaits().handles });
});

// Tests changes() over a C writer, and its end by an AbortSignal.
test('changes() follows a C writer', async (t) => {
  const name = uniqueName('changes-c');
  const segment = closeAfter(t, Segment.open(name, { capacity: 64 }));
  const peer = await startPeer('value', name, 64);
  t.after(() => peer.finish());
  const controller = new AbortController();
  const values = [];
  const loop = (async () => {
    for await (const { value } of segment.changes({ signal: controller.signal })) {
      values.push(value.toString());
      if (values.length < 3) await peer.ask(`write c${values.length + 1}`);
      else controller.abort();
    }
  })();
  await peer.ask('write c1');
  await assert.rejects(withTimeout(loop, timeout(10000), 'three changes'), { name: 'AbortError' });
  assert.deepEqual(values, ['c1', 'c2', 'c3']);
});
