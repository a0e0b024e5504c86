// SPDX-License-Identifier: MIT
// Tests of sharing: readOnly value segments (reads work, writes throw
// SharedmemError 'READ_ONLY', never creates), shared segments (access),
// inspect/list/prune of the shared namespace, and the checks of both
// options before anything reaches the library.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sharedmem, uniqueName, assertSharedmemError, closeAfter } = require('./support');

const { Segment, RawSegment, inspect, list, prune } = sharedmem;

function assertArgError(call, type, code) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof type, `${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

// Tests that readOnly and access are checked: types, keys, and the
// combinations that cannot be (readOnly with 'create', a read-only RawSegment).
test('readOnly and access argument checks', () => {
  for (const readOnly of [1, 'yes', null]) assertArgError(() => Segment.open('x', { capacity: 8, readOnly }), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => Segment.open('x', { capacity: 8, mode: 'create', readOnly: true }), RangeError, 'ERR_OUT_OF_RANGE');
  assertArgError(() => RawSegment.open('x', { capacity: 8, readOnly: true }), RangeError, 'ERR_OUT_OF_RANGE');
  for (const access of [null, 1, 'group:video', ['group:video']])
    assertArgError(() => Segment.open('x', { capacity: 8, access }), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => Segment.open('x', { capacity: 8, access: { readwrite: [] } }), RangeError, 'ERR_OUT_OF_RANGE');
  for (const list of ['group:video', [1], [null]])
    assertArgError(() => Segment.open('x', { capacity: 8, access: { readOnly: list } }), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => Segment.open('x', { capacity: 8, access: { lowIntegrity: 1 } }), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => list({ shared: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE');
});

// Tests that a read-only handle reads what the writer wrote and sees its
// next write, that write() and writeIf() throw READ_ONLY and change nothing,
// and that a read-only open of a name nobody holds is NOT_FOUND.
test('a read-only Segment reads and refuses writes', (t) => {
  const name = uniqueName('read_only');
  assertSharedmemError(() => Segment.open(name, { readOnly: true }), 'NOT_FOUND');
  assert.equal(inspect(name), null, 'a read-only open created something');
  const writer = closeAfter(t, Segment.open(name, { capacity: 64 }));
  writer.write('hello');
  const reader = closeAfter(t, Segment.open(name, { readOnly: true }));
  assert.ok(reader.readOnly && !writer.readOnly && !reader.created);
  assert.equal(reader.read().toString(), 'hello');
  assertSharedmemError(() => reader.write('x'), 'READ_ONLY');
  assertSharedmemError(() => reader.writeIf('x', reader.version), 'READ_ONLY');
  assert.equal(writer.read().toString(), 'hello');
  writer.write('world');
  assert.equal(reader.read().toString(), 'world');
});

// Tests that a shared segment (an empty list: this user only) is apart from
// the private one of its name, and that inspect, list and prune see it with
// shared: true; a read-only handle of it refuses writes.
test('shared segments and the shared namespace', (t) => {
  const name = uniqueName('shared');
  const segment = closeAfter(t, Segment.open(name, { capacity: 64, access: {} }));
  assert.ok(segment.shared && segment.created);
  segment.write('shared');
  assertSharedmemError(() => Segment.open(name, { mode: 'open' }), 'NOT_FOUND');
  assert.equal(inspect(name), null);
  const info = inspect(name, { shared: true });
  assert.ok(info && info.objectClass === 'segment' && info.osName.includes('shared'), JSON.stringify(info));
  assert.ok(list({ shared: true }).some((entry) => entry.name === name));
  assert.ok(!list().some((entry) => entry.name === name));
  assert.equal(typeof prune({ shared: true }), 'number');
  const reader = closeAfter(t, Segment.open(name, { readOnly: true, access: { readWrite: [] } }));
  assert.equal(reader.read().toString(), 'shared');
  assertSharedmemError(() => reader.write('x'), 'READ_ONLY');
});

// Tests that an unknown principal is UNKNOWN_PRINCIPAL whose message names it.
test('an unknown principal is named', () => {
  const name = uniqueName('unknown');
  const principal = `group:sharedmem_no_such_group_${process.pid}`;
  assert.throws(() => Segment.open(name, { capacity: 8, access: { readOnly: [principal] } }), (error) => {
    assert.equal(error.code, 'UNKNOWN_PRINCIPAL');
    assert.ok(error.message.includes(principal), error.message);
    return true;
  });
  assert.equal(inspect(name, { shared: true }), null);
});
