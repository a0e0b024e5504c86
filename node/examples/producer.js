// SPDX-License-Identifier: MIT
// Producer: writes five greetings, 100 ms apart, then "done".
//   node producer.js [segment-name]
'use strict';
const { Segment } = require('sharedmem');

const name = process.argv[2] ?? 'greetings';
// Joins the consumer's segment; creates it if the consumer is not there yet.
const segment = Segment.open(name, { capacity: 256 });
let count = 0;
const timer = setInterval(() => {
  count += 1;
  if (count <= 5) {
    segment.write(`hello #${count} from process ${process.pid}`);
    return;
  }
  segment.write('done');
  clearInterval(timer);
  // The segment lives on while the consumer holds it.
  segment.close();
}, 100);
