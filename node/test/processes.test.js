// SPDX-License-Identifier: MIT
// Tests across processes: values between Node and C and between two Node
// processes, and the lifetime rule: a segment lives while any process holds
// it, even after its creator was SIGKILLed, and is gone after the last.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sharedmem, uniqueName, startPeer, startChild, closeAfter, awaitHolders } = require('./support');

const { Segment, inspect } = sharedmem;

// Tests values written by C and read by Node, and the other way round.
test('Node and C exchange values', async (t) => {
  const name = uniqueName('c-values');
  const segment = closeAfter(t, Segment.open(name, { capacity: 256 }));
  const peer = await startPeer('value', name, 256);
  t.after(() => peer.finish());
  assert.equal(peer.created, false);
  assert.equal(await peer.ask('write from C: ü'), 'wrote 1');
  assert.deepEqual(segment.readVersioned(), { value: Buffer.from('from C: ü'), version: 1 });
  segment.write('from Node: ß');
  assert.equal(await peer.ask('read'), 'value 2 from Node: ß');
  assert.equal(segment.writeIf('if 2', 2), 3);
  assert.equal(await peer.ask('read'), 'value 3 if 2');
});

// Tests values between two Node processes.
test('Node and Node exchange values', async (t) => {
  const name = uniqueName('node-values');
  const child = await startChild('hold', name, '64', 'from the child');
  t.after(() => child.finish());
  assert.equal(child.ready, 'ready 1');
  const segment = closeAfter(t, Segment.open(name, { mode: 'open' }));
  assert.equal(segment.read().toString(), 'from the child');
  segment.write('from the parent');
  assert.equal(await child.ask('read'), 'value 2 from the parent');
});

// Tests that the segment outlives its creator's SIGKILL while Node holds it,
// and is gone once Node, the last holder, closes it.
test('a C creator killed: the segment lives on, then goes with the last holder', async () => {
  const name = uniqueName('c-killed');
  const peer = await startPeer('value', name, 64);
  assert.equal(peer.created, true);
  assert.equal(await peer.ask('write left by C'), 'wrote 1');
  const segment = Segment.open(name, { mode: 'open' });
  assert.equal((await peer.kill()).signal, 'SIGKILL');
  assert.equal(segment.read().toString(), 'left by C');
  await awaitHolders(name, 1);
  segment.write('still here');
  assert.equal(segment.read().toString(), 'still here');
  segment.close();
  assert.equal(inspect(name), null);
  assert.throws(() => Segment.open(name, { mode: 'open' }), (error) => error.code === 'NOT_FOUND');
});

// Tests the same with a Node creator killed while a C process holds it.
test('a Node creator killed: the segment lives on in C, then goes with it', async () => {
  const name = uniqueName('node-killed');
  const child = await startChild('hold', name, '64', 'left by Node');
  assert.equal(child.ready, 'ready 1');
  const peer = await startPeer('value', name, 64);
  assert.equal(peer.created, false);
  await child.kill();
  assert.equal(await peer.ask('read'), 'value 1 left by Node');
  assert.equal((await peer.finish()).code, 0);
  assert.equal(inspect(name), null, 'gone after the last holder');
  const fresh = Segment.open(name, { capacity: 64 });
  assert.equal(fresh.created, true);
  assert.equal(fresh.read().length, 0);
  fresh.close();
});

// Tests that killing every holder leaves nothing that a later open sees.
test('every holder killed: the next open starts afresh', async () => {
  const name = uniqueName('all-killed');
  const child = await startChild('hold', name, '64', 'old');
  const peer = await startPeer('value', name, 64);
  await child.kill();
  await peer.kill();
  const segment = Segment.open(name, { capacity: 64 });
  assert.equal(segment.created, true);
  assert.equal(segment.version, 0);
  assert.equal(segment.read().length, 0);
  segment.close();
});
