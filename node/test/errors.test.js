// SPDX-License-Identifier: MIT
// Tests of bad input: every argument of the wrong type or out of range is a
// TypeError or RangeError before anything reaches the library; calls on
// closed handles are SharedmemError INVALID_ARGUMENT; errors carry the
// library's name, number and message.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sharedmem, uniqueName, assertSharedmemError, closeAfter } = require('./support');

const { Segment, RawSegment, SharedmemError } = sharedmem;

function assertArgError(call, type, code) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof type, `${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

async function assertRejectsArg(promise, type, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof type, `${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

const wrongTypes = [undefined, null, 1, 1n, true, {}, [], () => {}, Symbol('s')];

// Tests that open() refuses every wrong name, option and option value.
test('open() argument types and values', (t) => {
  for (const open of [Segment.open, RawSegment.open]) {
    for (const name of wrongTypes) assertArgError(() => open(name, { capacity: 8 }), TypeError, 'ERR_INVALID_ARG_TYPE');
    for (const options of [null, 1, 'x', true])
      assertArgError(() => open('x', options), TypeError, 'ERR_INVALID_ARG_TYPE');
    for (const capacity of ['8', 8n, null, {}, true])
      assertArgError(() => open('x', { capacity }), TypeError, 'ERR_INVALID_ARG_TYPE');
    for (const capacity of [-1, 1.5, NaN, Infinity, 2 ** 53])
      assertArgError(() => open('x', { capacity }), RangeError, 'ERR_OUT_OF_RANGE');
    assertArgError(() => open('x', {}), TypeError, 'ERR_INVALID_ARG_TYPE');
    for (const mode of ['Create', 'bogus', 1, null])
      assertArgError(() => open('x', { capacity: 8, mode }), RangeError, 'ERR_OUT_OF_RANGE');
    for (const scope of ['user', 1, null])
      assertArgError(() => open('x', { capacity: 8, scope }), RangeError, 'ERR_OUT_OF_RANGE');
  }
  assert.throws(() => new Segment('x', { capacity: 8 }), TypeError);
  assert.throws(() => new RawSegment('x', { capacity: 8 }), TypeError);
});

// Tests that the value calls refuse wrong data, versions and options.
test('value call argument types and values', async (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('args'), { capacity: 8 }));
  for (const data of [undefined, null, 1, 1n, true, {}, [1, 2], Symbol('s')]) {
    assertArgError(() => segment.write(data), TypeError, 'ERR_INVALID_ARG_TYPE');
    assertArgError(() => segment.writeIf(data, 0), TypeError, 'ERR_INVALID_ARG_TYPE');
  }
  for (const version of [undefined, null, '0', 0n, {}])
    assertArgError(() => segment.writeIf('x', version), TypeError, 'ERR_INVALID_ARG_TYPE');
  for (const version of [-1, 0.5, NaN])
    assertArgError(() => segment.writeIf('x', version), RangeError, 'ERR_OUT_OF_RANGE');
  for (const version of [undefined, '0', 0n])
    await assertRejectsArg(segment.wait(version), TypeError, 'ERR_INVALID_ARG_TYPE');
  await assertRejectsArg(segment.wait(-1), RangeError, 'ERR_OUT_OF_RANGE');
  await assertRejectsArg(segment.wait(0, 5), TypeError, 'ERR_INVALID_ARG_TYPE');
  await assertRejectsArg(segment.wait(0, { timeout: '5' }), TypeError, 'ERR_INVALID_ARG_TYPE');
  await assertRejectsArg(segment.wait(0, { timeout: -5 }), RangeError, 'ERR_OUT_OF_RANGE');
  await assertRejectsArg(segment.wait(0, { timeout: NaN }), RangeError, 'ERR_OUT_OF_RANGE');
  await assertRejectsArg(segment.wait(0, { signal: {} }), TypeError, 'ERR_INVALID_ARG_TYPE');
  await assert.rejects(segment.changes({ signal: 'x' }).next(), TypeError);
  assert.equal(segment.version, 0, 'nothing was written');
});

// Tests that the raw calls refuse wrong options, and the functions theirs.
test('raw call and function argument types', (t) => {
  const raw = closeAfter(t, RawSegment.open(uniqueName('raw-args'), { capacity: 4096 }));
  assertArgError(() => raw.lock(5), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => raw.lock({ timeout: 'x' }), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => raw.lock({ timeout: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
  for (const text of [undefined, null, 1, {}]) assertArgError(() => sharedmem.setSharedMem(text), TypeError, 'ERR_INVALID_ARG_TYPE');
  for (const name of [undefined, 1, {}]) assertArgError(() => sharedmem.inspect(name), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertArgError(() => sharedmem.list({ scope: 'x' }), RangeError, 'ERR_OUT_OF_RANGE');
  assertArgError(() => sharedmem.prune(1), TypeError, 'ERR_INVALID_ARG_TYPE');
  assertSharedmemError(() => sharedmem.inspect('bad/name'), 'INVALID_NAME');
});

// Tests that every call on a closed handle is refused with INVALID_ARGUMENT,
// never reaching a freed handle.
test('closed handles refuse every call', async (t) => {
  const segment = Segment.open(uniqueName('closed'), { capacity: 8 });
  segment.close();
  for (const call of [() => segment.read(), () => segment.readVersioned(), () => segment.write('x'),
    () => segment.writeIf('x', 0), () => segment.version, () => segment.capacity, () => segment.created])
    assertSharedmemError(call, 'INVALID_ARGUMENT');
  await assert.rejects(segment.wait(0), (error) => error.code === 'INVALID_ARGUMENT');
  const raw = RawSegment.open(uniqueName('closed-raw'), { capacity: 4096 });
  raw.close();
  for (const call of [() => raw.buffer, () => raw.lock(), () => raw.notify(), () => raw.version])
    assertSharedmemError(call, 'INVALID_ARGUMENT');
});

// Tests that methods called on the wrong object fail cleanly: a handle can
// only be used through its own object.
test('methods on foreign objects', (t) => {
  const segment = closeAfter(t, Segment.open(uniqueName('foreign'), { capacity: 8 }));
  const raw = closeAfter(t, RawSegment.open(uniqueName('foreign-raw'), { capacity: 4096 }));
  assert.throws(() => Segment.prototype.read.call({}), TypeError);
  // The library refuses value calls on raw segments and the other way round.
  assertSharedmemError(() => Segment.prototype.write.call(raw, 'x'), 'WRONG_KIND');
  assertSharedmemError(() => RawSegment.prototype.notify.call(segment), 'WRONG_KIND');
  assert.throws(() => Object.getOwnPropertyDescriptor(RawSegment.prototype, 'buffer').get.call(segment), TypeError);
});

// Tests the error object: class, name, code, number, message.
test('SharedmemError carries the library error', (t) => {
  let caught;
  try {
    Segment.open(uniqueName('absent'), { mode: 'open' });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SharedmemError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, 'SharedmemError');
  assert.equal(caught.code, 'NOT_FOUND');
  assert.equal(caught.sharedmemError, 15);
  assert.equal(caught.systemError, 0);
  assert.match(caught.message, /^open 'node_\d+_absent_\d+': .+/);
});

// Tests prune(): a count where the library has it, UNSUPPORTED where it does not.
test('prune', (t) => {
  try {
    assert.equal(typeof sharedmem.prune(), 'number');
  } catch (error) {
    assert.equal(error.code, 'UNSUPPORTED', error.message);
  }
});

// Tests that index.d.ts's SharedmemErrorCode lists exactly the library's
// error names (the library's table is the one source).
test('the typed error names are the library table', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const addon = require(path.join(process.env.SHAREDMEM_NODE_PACKAGE_DIR, 'lib',
                                   `${process.platform}-${process.arch}`, 'sharedmem.node'));
  const names = [];
  for (let code = 1; addon.errorName(code) !== 'UNKNOWN'; code += 1) names.push(addon.errorName(code));
  assert.ok(names.includes('NOT_FOUND') && names.includes('TIMEOUT'));
  const types = fs.readFileSync(path.join(process.env.SHAREDMEM_NODE_PACKAGE_DIR, 'index.d.ts'), 'utf8');
  const union = types.match(/export type SharedmemErrorCode =([^;]*);/)[1];
  const typed = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
  assert.deepEqual(typed, names);
});
