// SPDX-License-Identifier: MIT
// Runs the package's producer/consumer pair as a user would, in the current
// directory (where the package is installed): the consumer first, the
// producer once the consumer says it waits. Passes when the consumer saw
// "done" and both exited 0. Every wait has a timeout.
//   node run_examples.js <examples dir> <segment name>
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const [examples, name] = process.argv.slice(2);
const limit = 30000 * (Number(process.env.SHAREDMEM_TEST_TIMEOUT_MULTIPLIER || '1') || 1);
const timer = setTimeout(() => {
  console.error(`run_examples: no "done" within ${limit} ms`);
  process.exit(1);
}, limit);

// The child and its exit code, listened for from the start.
function start(script) {
  const child = spawn(process.execPath, [path.join(examples, script), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return child;
}

const consumer = start('consumer.js');
const lines = [];
let producer = null;
readline.createInterface({ input: consumer.stdout }).on('line', (line) => {
  console.log(`consumer: ${line}`);
  lines.push(line);
  if (producer === null && line.startsWith('waiting for writes')) producer = start('producer.js');
});

consumer.exited.then(async (code) => {
  const producerCode = producer === null ? 'not started' : await producer.exited;
  clearTimeout(timer);
  const done = lines.length > 0 && /: done$/.test(lines[lines.length - 1]);
  if (code !== 0 || producerCode !== 0 || !done) {
    console.error(`run_examples: consumer exited ${code}, producer ${producerCode}, last line "${lines.at(-1)}"`);
    process.exit(1);
  }
  console.log('run_examples: the consumer saw every write through "done"');
});
