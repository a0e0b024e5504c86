// SPDX-License-Identifier: MIT
// Type-checked, never run: index.d.ts accepts what the README shows and
// refuses misuse (each @ts-expect-error line must be an error). ctest
// node.types runs tsc --strict on it.
import { Segment, RawSegment, SharedmemError, inspect, list, prune, setSharedMem, getSharedMem } from 'sharedmem';
import type { SegmentInfo, Versioned, SharedmemErrorCode } from 'sharedmem';

async function sample(): Promise<void> {
  const segment: Segment = Segment.open('typed', { capacity: 64, mode: 'either', scope: 'local' });
  segment.write('text');
  segment.write(Buffer.from('bytes'));
  segment.write(new Uint8Array(4));
  segment.write(new SharedArrayBuffer(4));
  const next: number = segment.writeIf('x', segment.version);
  const value: Buffer = segment.read();
  const versioned: Versioned = segment.readVersioned();
  const woken: number = await segment.wait(versioned.version, { timeout: 10, signal: AbortSignal.timeout(5) });
  for await (const { value: changed, version } of segment.changes({ signal: new AbortController().signal })) {
    console.log(changed.length, version);
  }
  const created: boolean = segment.created;
  const capacity: number = segment.capacity;
  segment[Symbol.dispose]();
  segment.close();

  const raw = RawSegment.open('typed-raw', { capacity: 4096 });
  const bytes: Buffer = raw.buffer;
  const lock = raw.lock({ timeout: 100 });
  const died: boolean = lock.ownerDied;
  lock.unlock();
  const notified: number = raw.notify();
  raw.close();

  try {
    Segment.open('absent', { mode: 'open' });
  } catch (error) {
    if (error instanceof SharedmemError) {
      const code: SharedmemErrorCode = error.code;
      const numbers: number = error.sharedmemError + error.systemError;
      console.log(code, numbers, error.message);
    }
  }
  const info: SegmentInfo | null = inspect('typed', { scope: 'global' });
  const all: SegmentInfo[] = list();
  const removed: number = prune();
  setSharedMem('text');
  const text: string = getSharedMem();
  console.log(next, value, woken, created, capacity, bytes, died, notified, info?.holders, all, removed, text);

  const shared = Segment.open('typed-shared', {
    capacity: 64,
    access: { readWrite: ['group:video'], readOnly: ['user:guest'], creators: ['user:camera'], lowIntegrity: false },
  });
  const reader = Segment.open('typed-shared', { readOnly: true, access: { readWrite: ['group:video'] } });
  const flags: boolean = shared.shared && reader.readOnly;
  const sharedInfo: SegmentInfo | null = inspect('typed-shared', { shared: true });
  const sharedRemoved: number = prune({ shared: true }) + list({ shared: true, scope: 'local' }).length;
  console.log(flags, sharedInfo, sharedRemoved);
  // @ts-expect-error: a list of principals, not one
  Segment.open('x', { capacity: 8, access: { readWrite: 'group:video' } });

  // @ts-expect-error: the name is a string
  Segment.open(1, { capacity: 8 });
  // @ts-expect-error: no such mode
  Segment.open('x', { capacity: 8, mode: 'truncate' });
  // @ts-expect-error: a number is not data
  segment.write(5);
  // @ts-expect-error: the constructor is private
  new Segment();
  // @ts-expect-error: value segments have no buffer
  segment.buffer;
  // @ts-expect-error: read-only
  segment.version = 3;
}

void sample;
