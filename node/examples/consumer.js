// SPDX-License-Identifier: MIT
// Consumer: prints each value the producer writes, until it writes "done".
// Start it first, then `node producer.js` in another terminal:
//   node consumer.js [segment-name]
'use strict';
const { Segment } = require('sharedmem');

async function main() {
  const name = process.argv[2] ?? 'greetings';
  // Opens the segment, or creates it if no process holds it yet.
  const segment = Segment.open(name, { capacity: 256 });
  console.log(`waiting for writes to ${name}`);
  // Waits off the main thread: timers and I/O keep running meanwhile.
  for await (const { value, version } of segment.changes()) {
    const text = value.toString();
    console.log(`version ${version}: ${text}`);
    if (text === 'done') break;
  }
  segment.close();
}

main().catch((error) => {
  console.error(`consumer: ${error.code ?? ''} ${error.message}`);
  process.exitCode = 1;
});
