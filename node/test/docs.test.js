// SPDX-License-Identifier: MIT
// Tests that the programs node/README.md shows are the examples that
// node.pack runs (test/run_examples.js), word for word; other code blocks
// must be marked as fragments (<!-- fragment --> before the fence).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.join(__dirname, '..');

// Tests each ```js block of the README against the example files.
test('README programs are the examples, word for word', () => {
  const readme = fs.readFileSync(path.join(packageDir, 'README.md'), 'utf8');
  const examples = fs.readdirSync(path.join(packageDir, 'examples'))
    .map((file) => fs.readFileSync(path.join(packageDir, 'examples', file), 'utf8'));
  // The project's convention (docs/building.md): <!-- fragment --> on the
  // line before the fence marks a block that is not a whole program.
  const blocks = [...readme.matchAll(/^(<!--[^\n]*-->\n)?```(js|javascript)\n([\s\S]*?)^```$/gm)];
  const programs = blocks.filter((block) => !/\bfragment\b/.test(block[1] ?? ''));
  assert.equal(programs.length, examples.length, 'one README block per example');
  for (const block of programs) assert.ok(examples.includes(block[3]), `not an example file:\n${block[3]}`);
});
