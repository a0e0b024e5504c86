// SPDX-License-Identifier: MIT
// A Node process for the cross-process tests, driven like test/peer.c: one
// role from the command line, then one answer line per command on stdin.
//   child.js hold NAME CAPACITY [TEXT]  opens (writes TEXT); "ready <created>";
//                                       then "read" -> "value <version> <text>",
//                                       "write TEXT" -> "wrote <version>";
//                                       end of input: closes, exits 0
//   child.js wait NAME                  joins NAME; "ready <version>"; waits
//                                       for the next write with no timer
//                                       running, prints "woke <version> <text>",
//                                       closes, exits 0
//   child.js abort NAME                 joins NAME, starts a wait, aborts it;
//                                       "ready", then "aborted <error name>";
//                                       then has nothing left to do and must exit
'use strict';
const readline = require('node:readline');
const { Segment } = require('sharedmem');

const [role, name, capacityText, text] = process.argv.slice(2);

function fail(error) {
  console.log(`error ${error.code ?? ''} ${error.message}`);
  process.exitCode = 1;
}

if (role === 'hold') {
  const segment = Segment.open(name, { capacity: Number(capacityText) });
  if (text !== undefined) segment.write(text);
  console.log(`ready ${segment.created ? 1 : 0}`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      if (line === 'read') {
        const { value, version } = segment.readVersioned();
        console.log(`value ${version} ${value.toString()}`);
      } else if (line.startsWith('write ')) {
        segment.write(line.slice(6));
        console.log(`wrote ${segment.version}`);
      } else {
        console.log(`error unknown command ${line}`);
      }
    } catch (error) {
      fail(error);
    }
  });
  lines.on('close', () => segment.close());
} else if (role === 'wait') {
  const segment = Segment.open(name, { mode: 'open' });
  const seen = segment.version;
  // Nothing but the wait keeps this process alive.
  segment.wait(seen).then((version) => {
    console.log(`woke ${version} ${segment.read().toString()}`);
    segment.close();
  }, fail);
  console.log(`ready ${seen}`);
} else if (role === 'abort') {
  const segment = Segment.open(name, { mode: 'open' });
  const controller = new AbortController();
  segment.wait(segment.version, { signal: controller.signal }).then(
    () => fail(new Error('the wait resolved')),
    (error) => console.log(`aborted ${error.name}`));
  console.log('ready');
  setImmediate(() => controller.abort());
} else {
  fail(new Error(`unknown role ${role}`));
}
