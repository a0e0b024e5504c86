// SPDX-License-Identifier: MIT
// The leak check: 10,000 open/close cycles (values, raw with their buffer,
// and aborted waits) leave the handle count, the descriptors and the RSS
// flat.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');
const { sharedmem, uniqueName, timeout, withTimeout } = require('./support');

const { Segment, RawSegment } = sharedmem;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const addon = require(`${process.env.SHAREDMEM_NODE_PACKAGE_DIR}/lib/${process.platform}-${process.arch}/sharedmem.node`);

function descriptors() {
  return fs.readdirSync('/proc/self/fd').length;
}

async function settle() {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise(setImmediate);
  }
}

async function cycles(count) {
  const name = uniqueName('leak');
  const rawName = uniqueName('leak-raw');
  for (let i = 0; i < count; i += 1) {
    const segment = Segment.open(name, { capacity: 4096 });
    segment.write('some value');
    segment.read();
    segment.close();
    const raw = RawSegment.open(rawName, { capacity: 4096 });
    raw.buffer[0] = 1;
    raw.lock().unlock();
    raw.close();
    if (i % 50 === 0) {
      const waiter = Segment.open(name, { capacity: 4096 });
      const controller = new AbortController();
      const waited = waiter.wait(waiter.version, { signal: controller.signal }).catch(() => {});
      controller.abort();
      await waited;
      waiter.close();
    }
    if (i % 1000 === 0) await settle();
  }
  await withTimeout((async () => {
    while (addon.pendingWaits().threads !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
  })(), timeout(10000), 'the wait threads to end');
  await settle();
}

// Tests that 10,000 cycles leave handles, descriptors and RSS as they were.
test('10,000 open/close cycles leak nothing', { timeout: timeout(240000) }, async () => {
  if (process.platform !== 'linux') return;
  await cycles(2000); // warm-up: code, allocator pools
  const before = { handles: addon.pendingWaits().handles, fds: descriptors(), rss: process.memoryUsage().rss };
  await cycles(10000);
  const after = { handles: addon.pendingWaits().handles, fds: descriptors(), rss: process.memoryUsage().rss };
  assert.equal(after.handles, 0);
  assert.equal(before.handles, 0);
  assert.equal(after.fds, before.fds, 'descriptors');
  const growth = (after.rss - before.rss) / 1024 / 1024;
  // 10,000 leaked handles would be well over 40 MiB (a mapping and a header each).
  assert.ok(growth < 8, `RSS grew by ${growth.toFixed(1)} MiB over 10,000 cycles`);
  assert.deepEqual(sharedmem.list().filter((item) => item.name.startsWith(`node_${process.pid}_`)), []);
});
