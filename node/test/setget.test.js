// SPDX-License-Identifier: MIT
// Tests of setSharedMem/getSharedMem over the default segment (named by
// SHAREDMEM_DEFAULT_SEGMENT in the tests), within a process and across two.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { sharedmem } = require('./support');

// Tests text round trips, characters outside the BMP and truncation.
test('set and get text', () => {
  sharedmem.setSharedMem('plain');
  assert.equal(sharedmem.getSharedMem(), 'plain');
  sharedmem.setSharedMem('ünïcödé 😀 𝄞');
  assert.equal(sharedmem.getSharedMem(), 'ünïcödé 😀 𝄞');
  // 4096 bytes of wchar_t: 1023 characters on Linux, 2047 on Windows.
  const limit = process.platform === 'win32' ? 2047 : 1023;
  sharedmem.setSharedMem('y'.repeat(5000));
  assert.equal(sharedmem.getSharedMem(), 'y'.repeat(limit));
  sharedmem.setSharedMem('');
  assert.equal(sharedmem.getSharedMem(), '');
});

// Tests that another process reads what this one set while it holds it.
test('another process reads the text', () => {
  sharedmem.setSharedMem('from the parent');
  const read = execFileSync(process.execPath, ['-e', "process.stdout.write(require('sharedmem').getSharedMem())"],
                            { encoding: 'utf8' });
  assert.equal(read, 'from the parent');
});
