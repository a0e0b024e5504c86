// SPDX-License-Identifier: MIT
// Tests in worker_threads: a worker opens its own handles (the addon is
// loaded once per thread), a handle posted to a worker arrives as no handle,
// a raw buffer is never moved to a worker, and a worker ended with a pending
// wait ends cleanly.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { once } = require('node:events');
const { sharedmem, uniqueName, closeAfter, timeout, withTimeout } = require('./support');

const { Segment, RawSegment } = sharedmem;

function startWorker(source, workerData) {
  return new Worker(source, { eval: true, workerData });
}

// Tests that a worker opens the segment and its write wakes the main thread's wait.
test('a worker writes, the main thread waits', async (t) => {
  const name = uniqueName('worker');
  const segment = closeAfter(t, Segment.open(name, { capacity: 64 }));
  const waited = segment.wait(0, { timeout: timeout(10000) });
  const worker = startWorker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Segment } = require('sharedmem');
    const segment = Segment.open(workerData, { mode: 'open' });
    segment.write('from a worker');
    parentPort.postMessage(segment.created);
    segment.close();
  `, name);
  const [created] = await once(worker, 'message');
  assert.equal(created, false);
  assert.equal(await waited, 1);
  assert.equal(segment.read().toString(), 'from a worker');
  assert.equal((await once(worker, 'exit'))[0], 0);
});

// Tests that posting a segment gives the worker no handle, and that posting
// a raw buffer with a transfer list is refused or copied, never moved.
test('handles and raw buffers do not cross threads by accident', async (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('posted'), { capacity: 8 }));
  const raw = closeAfter(t, RawSegment.open(uniqueName('posted-raw'), { capacity: 4096 }));
  raw.buffer[0] = 5;
  const worker = startWorker(`
    const { parentPort } = require('node:worker_threads');
    const { Segment } = require('sharedmem');
    parentPort.on('message', (message) => {
      if (message.segment !== undefined) {
        parentPort.postMessage({ isSegment: message.segment instanceof Segment,
                                 hasRead: typeof message.segment.read });
      } else {
        parentPort.postMessage({ byte: new Uint8Array(message.buffer)[0], length: message.buffer.byteLength });
      }
    });
  `);
  t.after(() => worker.terminate());
  worker.postMessage({ segment });
  assert.deepEqual((await once(worker, 'message'))[0], { isSegment: false, hasRead: 'undefined' });
  let transferred = true;
  try {
    worker.postMessage({ buffer: raw.buffer.buffer }, [raw.buffer.buffer]);
  } catch (error) {
    transferred = false;
    assert.equal(error.name, 'DataCloneError');
  }
  if (transferred) {
    // Copied: the worker got the bytes, this thread keeps the mapping.
    assert.deepEqual((await once(worker, 'message'))[0], { byte: 5, length: 4096 });
  }
  assert.equal(raw.buffer.length, 4096, 'still attached here');
  assert.equal(raw.buffer[0], 5);
  segment.write('mine');
  assert.equal(segment.read().toString(), 'mine');
});

// Tests that a worker terminated while waiting (no abort, no close) ends
// cleanly and lets the segment go.
test('a worker terminated with a pending wait', async (t) => {
  const name = uniqueName('terminated');
  const segment = closeAfter(t, Segment.open(name, { capacity: 8 }));
  const worker = startWorker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Segment } = require('sharedmem');
    const segment = Segment.open(workerData, { mode: 'open' });
    segment.wait(segment.version);
    parentPort.postMessage('waiting');
  `, name);
  assert.equal((await once(worker, 'message'))[0], 'waiting');
  assert.equal(sharedmem.inspect(name).holders, 2);
  await withTimeout(worker.terminate(), timeout(10000), 'the worker to end');
  assert.equal(sharedmem.inspect(name).holders, 1, "the worker's handle was closed");
  segment.write('after');
  assert.equal(segment.read().toString(), 'after');
});
