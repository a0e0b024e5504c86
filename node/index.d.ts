// SPDX-License-Identifier: MIT
// Types of the sharedmem package (index.js).

/// <reference types="node" />

/** The library's error names (sharedmem_error_name). */
export type SharedmemErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_NAME'
  | 'INVALID_SIZE'
  | 'VALUE_TOO_LARGE'
  | 'SIZE_MISMATCH'
  | 'INCOMPATIBLE'
  | 'NOT_OWNER'
  | 'ACCESS_DENIED'
  | 'NO_MEMORY'
  | 'TIMEOUT'
  | 'UNSUPPORTED'
  | 'SYSTEM'
  | 'NOT_ATTACHED'
  | 'EXISTS'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'OWNER_DIED'
  | 'WOULD_DEADLOCK'
  | 'CORRUPTED'
  | 'NOT_HELD'
  | 'WRONG_KIND'
  | 'REMOVED'
  | 'READ_ONLY'
  | 'UNKNOWN_PRINCIPAL'
  | (string & {});

/** A failure the library reported, with its error name and message. */
export class SharedmemError extends Error {
  readonly name: 'SharedmemError';
  /** The library's error name: 'TIMEOUT', 'NOT_FOUND', ... */
  readonly code: SharedmemErrorCode;
  /** The library's numeric error code. */
  readonly sharedmemError: number;
  /** The operating system's error behind it (errno, GetLastError), 0 when none. */
  readonly systemError: number;
  /** writeIf's CONFLICT and wait's TIMEOUT: the segment's version then. */
  readonly version?: number;
}

export type OpenMode = 'create' | 'open' | 'either';
/** Windows: the session's (Local\) or the machine's (Global\) namespace. */
export type Scope = 'local' | 'global';

/** Who may open a shared segment (docs/sharing.md). Principals: 'user:NAME', 'group:NAME',
 * 'uid:N', 'gid:N' (Linux); 'user:NAME', 'group:NAME', 'sid:S-1-...' (Windows). */
export interface Access {
  /** May open it read-write. */
  readWrite?: string[];
  /** May open it only with readOnly. */
  readOnly?: string[];
  /** The users who, besides the current one, may have created it. */
  creators?: string[];
  /** Windows: a low-integrity (sandboxed) process granted access may open it. */
  lowIntegrity?: boolean;
}

export interface OpenOptions {
  /** Bytes of value (or raw buffer). Required unless mode is 'open' (then: whatever it has). */
  capacity?: number;
  /** 'either' (default): join a live segment or create it; 'create': fail with EXISTS if
   * one is live; 'open': fail with NOT_FOUND if none is. */
  mode?: OpenMode;
  scope?: Scope;
  /** A shared segment with this access list (every opener gives the same). */
  access?: Access;
  /** Segment only: open a live segment without write access (never creates); write() and
   * writeIf() throw SharedmemError 'READ_ONLY'. */
  readOnly?: boolean;
}

/** prune(), inspect() and list(): the scope, and the shared namespace. */
export interface LookOptions {
  scope?: Scope;
  /** The shared segments (opened with access) instead of the private ones. */
  shared?: boolean;
}

export interface WaitOptions {
  /** Milliseconds; rejects with SharedmemError 'TIMEOUT' then. Default: no limit. */
  timeout?: number;
  /** Aborting it rejects the wait at once with the signal's reason. */
  signal?: AbortSignal;
}

export interface Versioned {
  value: Buffer;
  version: number;
}

declare class SegmentHandle implements Disposable {
  /** The segment's name. */
  readonly name: string;
  /** True if opened with readOnly. */
  readonly readOnly: boolean;
  /** True for a shared segment (opened with access). */
  readonly shared: boolean;
  /** True once close() was called. */
  readonly closed: boolean;
  /** True if this open created the segment (no live process held it). */
  readonly created: boolean;
  /** The capacity in bytes. */
  readonly capacity: number;
  /** Completed writes (value) or notify() calls (raw) since the segment was created. */
  readonly version: number;
  /** Resolves with the new version once it differs from seenVersion, without
   * blocking the event loop. */
  wait(seenVersion: number, options?: WaitOptions): Promise<number>;
  /** Closes the handle; the last close anywhere frees the segment. */
  close(): void;
  [Symbol.dispose](): void;
}

/** A value segment: writes replace the whole value atomically. */
export class Segment extends SegmentHandle {
  private constructor();
  static open(name: string, options?: OpenOptions): Segment;
  /** Replaces the value (strings as UTF-8). */
  write(data: string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer): void;
  /** Writes only if the version is still expectedVersion; returns the new version.
   * Throws SharedmemError 'CONFLICT' otherwise. */
  writeIf(data: string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer, expectedVersion: number): number;
  /** A copy of the current value. */
  read(): Buffer;
  /** A copy of the current value and its version. */
  readVersioned(): Versioned;
  /** Each new value after the call (quick successive writes may be seen as one);
   * ends when the segment is closed. */
  changes(options?: { signal?: AbortSignal }): AsyncGenerator<Versioned, void, undefined>;
}

/** The raw segment's lock, held until unlock() (or `using`). */
export class RawLock implements Disposable {
  private constructor();
  /** The previous holder died holding the lock: the data may be half-updated. */
  readonly ownerDied: boolean;
  readonly held: boolean;
  unlock(): void;
  [Symbol.dispose](): void;
}

/** A raw segment: a buffer shared in place, with a robust lock and notification. */
export class RawSegment extends SegmentHandle {
  private constructor();
  static open(name: string, options?: OpenOptions): RawSegment;
  /** The shared memory itself (zero copy). Detached (length 0) by close(). */
  readonly buffer: Buffer;
  /** Takes the cross-process lock, blocking this thread up to timeout ms
   * (default: no limit; SharedmemError 'TIMEOUT' then). */
  lock(options?: { timeout?: number }): RawLock;
  /** Advances the version and wakes every wait(); returns the new version. */
  notify(): number;
}

export type ObjectClass = 'segment' | 'unfinished' | 'dead' | 'foreign' | 'incompatible' | 'not-owner' | 'unknown';

/** What inspect() and list() report about an object under a segment name. */
export interface SegmentInfo {
  name: string;
  objectClass: ObjectClass;
  kind: 'value' | 'raw' | 'unknown';
  layoutVersion: number;
  capacity: number;
  valueSize: number;
  version: number;
  objectSize: number;
  /** Open handles on it, or null where the OS cannot tell (Windows). */
  holders: number | null;
  mode: number;
  osName: string;
  owner: string;
  permissions: string;
}

/** The classic SetSharedMem: stores text in the default segment. */
export function setSharedMem(text: string): void;
/** The classic GetSharedMem: the default segment's text. */
export function getSharedMem(): string;
/** Removes what killed users left behind; returns how many objects. */
export function prune(options?: LookOptions): number;
/** What stands under the name, or null when nothing does. Never joins the segment. */
export function inspect(name: string, options?: LookOptions): SegmentInfo | null;
/** Every object of the naming scheme in scope. */
export function list(options?: LookOptions): SegmentInfo[];
/** The platform backend: 'posix' or 'windows'. */
export const backend: 'posix' | 'windows';
/** The longest segment name. */
export const MAX_NAME_LENGTH: number;
