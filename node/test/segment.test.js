// SPDX-License-Identifier: MIT
// Tests of value segments within one process: open modes, values and
// versions, compare-and-write, the change iterator, close and dispose,
// inspection.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { sharedmem, uniqueName, assertSharedmemError, timeout, withTimeout, closeAfter } = require('./support');

const { Segment, RawSegment, inspect, list } = sharedmem;

// Tests that a value written through one handle is read through another,
// whatever the kind of bytes given, with the version counting writes.
test('values round-trip with versions', (t) => {
  const name = uniqueName('values');
  const writer = Segment.open(name, { capacity: 64 });
  const reader = Segment.open(name, { capacity: 64 });
  try {
    assert.equal(writer.created, true);
    assert.equal(reader.created, false);
    assert.equal(writer.capacity, 64);
    assert.equal(reader.version, 0);
    assert.deepEqual(reader.read(), Buffer.alloc(0));
    writer.write('héllo');
    assert.equal(reader.read().toString(), 'héllo');
    writer.write(Buffer.from([1, 2, 3]));
    assert.deepEqual(reader.read(), Buffer.from([1, 2, 3]));
    writer.write(new Uint16Array([0x0102, 0x0304]).subarray(1));
    assert.deepEqual(reader.read(), Buffer.from(new Uint16Array([0x0304]).buffer));
    writer.write(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    assert.deepEqual(reader.read(), Buffer.from([8, 7]));
    writer.write(new Uint8Array([5, 5]).buffer);
    assert.deepEqual(reader.read(), Buffer.from([5, 5]));
    const shared = new SharedArrayBuffer(3);
    new Uint8Array(shared).set([4, 4, 4]);
    writer.write(shared);
    assert.deepEqual(reader.read(), Buffer.from([4, 4, 4]));
    writer.write('x'.repeat(64));
    assert.equal(reader.read().length, 64);
    assert.deepEqual(reader.readVersioned(), { value: Buffer.from('x'.repeat(64)), version: 7 });
    assert.equal(writer.version, 7);
    // A read is a copy: changing it changes nothing shared, and a later
    // read does not change it.
    const copy = reader.read();
    copy[0] = 0x41;
    assert.equal(reader.read()[0], 0x78);
    writer.write('later');
    assert.equal(reader.read().toString(), 'later');
    assert.equal(copy.toString(), `A${'x'.repeat(63)}`);
  } finally {
    writer.close();
    reader.close();
  }
});

// Tests that a value over the capacity is refused and the old one kept.
test('a value over the capacity is refused', (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('too-large'), { capacity: 4 }));
  segment.write('abcd');
  assertSharedmemError(() => segment.write('abcde'), 'VALUE_TOO_LARGE');
  assert.equal(segment.read().toString(), 'abcd');
  assert.equal(segment.version, 1);
});

// Tests both read paths at their boundary: through the handle's scratch
// Buffer up to 64 KiB of capacity, straight into the new Buffer above.
test('values at the scratch boundary', (t) => {
  for (const capacity of [65536, 65537]) {
    const segment = closeAfter(t, Segment.open(uniqueName(`boundary-${capacity}`), { capacity }));
    const value = Buffer.alloc(capacity, capacity & 0xff);
    segment.write(value);
    assert.ok(segment.read().equals(value));
    assert.deepEqual(segment.readVersioned(), { value, version: 1 });
  }
});

// Tests the large-segment read path (read straight into the Buffer).
test('values of large segments', (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('large'), { capacity: 1 << 20 }));
  const value = Buffer.alloc((1 << 20) - 3, 0xab);
  segment.write(value);
  assert.ok(segment.read().equals(value));
  segment.write('small');
  assert.deepEqual(segment.readVersioned(), { value: Buffer.from('small'), version: 2 });
});

// Tests compare-and-write: it writes on the expected version only, and a
// conflict tells the current version and changes nothing.
test('writeIf writes on the expected version only', (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('write-if'), { capacity: 16 }));
  assert.equal(segment.writeIf('one', 0), 1);
  assert.equal(segment.writeIf(Buffer.from('two'), 1), 2);
  assert.throws(() => segment.writeIf('stale', 1), (error) => {
    assert.equal(error.code, 'CONFLICT');
    assert.equal(error.version, 2);
    return true;
  });
  assert.deepEqual(segment.readVersioned(), { value: Buffer.from('two'), version: 2 });
});

// Tests the open modes, the capacity rules and the kind rule.
test('open modes, sizes and kinds', (t) => {
  const name = uniqueName('modes');
  assertSharedmemError(() => Segment.open(name, { mode: 'open' }), 'NOT_FOUND');
  assert.equal(inspect(name), null, "a failed 'open' creates nothing");
  const first = closeAfter(t, Segment.open(name, { capacity: 32, mode: 'create' }));
  assert.equal(first.created, true);
  assertSharedmemError(() => Segment.open(name, { capacity: 32, mode: 'create' }), 'EXISTS');
  assertSharedmemError(() => Segment.open(name, { capacity: 64 }), 'SIZE_MISMATCH');
  assertSharedmemError(() => RawSegment.open(name, { capacity: 32 }), 'WRONG_KIND');
  const joined = closeAfter(t, Segment.open(name, { mode: 'open' }));
  assert.equal(joined.capacity, 32);
  assert.equal(joined.created, false);
  const either = closeAfter(t, Segment.open(name, { capacity: 32, mode: 'either' }));
  assert.equal(either.created, false);
  assertSharedmemError(() => Segment.open('bad/name', { capacity: 8 }), 'INVALID_NAME');
  assertSharedmemError(() => Segment.open('', { capacity: 8 }), 'INVALID_NAME');
  assertSharedmemError(() => Segment.open('a'.repeat(sharedmem.MAX_NAME_LENGTH + 1), { capacity: 8 }),
                       'INVALID_NAME');
  assertSharedmemError(() => Segment.open('nul\0name', { capacity: 8 }), 'INVALID_NAME');
  assertSharedmemError(() => Segment.open(uniqueName('zero'), { capacity: 0 }), 'INVALID_SIZE');
});

// Tests that the last close frees the segment, that close is idempotent, and
// that Symbol.dispose closes.
test('close, dispose and the lifetime within one process', (t) => {
  const name = uniqueName('close');
  const first = Segment.open(name, { capacity: 8 });
  const second = Segment.open(name, { capacity: 8 });
  first.write('kept');
  first.close();
  first.close();
  assert.equal(first.closed, true);
  assert.equal(second.read().toString(), 'kept', 'alive while one handle is open');
  assert.equal(inspect(name).holders, 1);
  second[Symbol.dispose]();
  assert.equal(second.closed, true);
  assert.equal(inspect(name), null, 'gone after the last close');
  const fresh = closeAfter(t, Segment.open(name, { capacity: 8 }));
  assert.equal(fresh.created, true);
  assert.equal(fresh.version, 0);
  assert.equal(fresh.read().length, 0);
});

// Tests inspect() and list(): they report the segment without joining it.
test('inspect and list', (t) => {
  const name = uniqueName('inspect');
  const segment = closeAfter(t, Segment.open(name, { capacity: 128 }));
  segment.write('abc');
  const info = inspect(name);
  assert.equal(info.name, name);
  assert.equal(info.objectClass, 'segment');
  assert.equal(info.kind, 'value');
  assert.equal(info.capacity, 128);
  assert.equal(info.valueSize, 3);
  assert.equal(info.version, 1);
  assert.equal(info.holders, 1, 'inspecting does not join');
  assert.ok(list().some((item) => item.name === name && item.objectClass === 'segment'));
  const raw = closeAfter(t, RawSegment.open(uniqueName('inspect-raw'), { capacity: 4096 }));
  assert.equal(inspect(raw.name).kind, 'raw');
  assert.equal(sharedmem.backend, 'posix');
});

// Tests changes(): each write is seen, in order, and closing ends the loop.
test('changes() yields new values and ends on close', async (t) => {
  const name = uniqueName('changes');
  const segment = Segment.open(name, { capacity: 16 });
  const writer = Segment.open(name, { capacity: 16 });
  segment.write('before');
  const seen = [];
  const consumer = (async () => {
    for await (const { value, version } of segment.changes()) {
      seen.push([value.toString(), version]);
      if (seen.length === 1) writer.write('second');
      if (seen.length === 2) setImmediate(() => segment.close());
    }
  })();
  writer.write('first');
  await withTimeout(consumer, timeout(10000), 'the change loop to end');
  assert.deepEqual(seen, [['first', 2], ['second', 3]]);
  writer.close();
});

// Tests that a segment shows its name and state in console.log.
test('util.inspect shows name and state', (t) => {
  const segment = Segment.open(uniqueName('shown'), { capacity: 8 });
  assert.match(util.inspect(segment), /^Segment 'node_\d+_shown_\d+' \(capacity 8, version 0\)$/);
  segment.close();
  assert.match(util.inspect(segment), /\(closed\)$/);
});
