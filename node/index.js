// SPDX-License-Identifier: MIT
// sharedmem for Node.js: named shared memory whose lifetime is the same on
// Linux and Windows (a segment lives while a process holds it, and is gone
// once every holder has closed it or died, even by SIGKILL), over the
// library's C API through the addon in lib/<platform>-<arch>/ (index.d.ts has
// the documented types).
//
// This file validates arguments (TypeError / RangeError with Node's codes,
// before anything reaches the addon), builds the promises of wait() and the
// iterators, and turns the library's failures into SharedmemError.
'use strict';

const { markAsUntransferable } = require('node:worker_threads');
const util = require('node:util');

const ADDON_DIR = `./lib/${process.platform}-${process.arch}`;

function loadAddon(file) {
  try {
    return require(`${ADDON_DIR}/${file}`);
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(file)) {
      throw new Error(
        `sharedmem: no build for ${process.platform}-${process.arch} in this package ` +
          `(${ADDON_DIR}/${file}); it ships the platforms it was packed on`,
        { cause: error });
    }
    throw error;
  }
}

const binding = loadAddon('sharedmem.node');
let setgetBinding = null; // loaded on first use: it attaches the default segment

/** A failure reported by the library: `code` is its error name. */
class SharedmemError extends Error {
  constructor(message, code, sharedmemError, systemError) {
    super(message);
    this.name = 'SharedmemError';
    /** The library's error name: 'TIMEOUT', 'NOT_FOUND', ... */
    this.code = code;
    /** The library's numeric error code (sharedmem_error). */
    this.sharedmemError = sharedmemError;
    /** The OS error behind it (errno, GetLastError), 0 when none. */
    this.systemError = systemError;
  }
}
binding.setErrorClass(SharedmemError);

function libraryError(code, message) {
  return new SharedmemError(message, binding.errorName(code), code, 0);
}
const E_INVALID_ARGUMENT = 1;

// ---------------------------------------------------------------- validation

function typeName(value) {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor ? `an instance of ${value.constructor.name}` : 'an object';
  return `type ${typeof value} (${util.inspect(value)})`;
}

function invalidType(what, expected, value) {
  const error = new TypeError(`The "${what}" argument must be ${expected}. Received ${typeName(value)}`);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

function invalidValue(what, expected, value) {
  const error = new RangeError(`The "${what}" argument must be ${expected}. Received ${util.inspect(value)}`);
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

function checkName(name) {
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name);
}

function checkOptions(options, what) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw invalidType(what, 'an object', options);
  return options;
}

function checkInteger(value, what) {
  if (typeof value !== 'number') throw invalidType(what, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < 0) throw invalidValue(what, 'a non-negative integer', value);
  return value;
}

// Milliseconds, or undefined for no limit (also Infinity). Fractions round up.
function checkTimeout(timeout) {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== 'number') throw invalidType('options.timeout', 'of type number', timeout);
  if (Number.isNaN(timeout) || timeout < 0) throw invalidValue('options.timeout', 'a non-negative number', timeout);
  return Math.min(Math.ceil(timeout), 0xfffffffe);
}

function checkSignal(signal) {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidType('options.signal', 'an AbortSignal', signal);
  return signal;
}

function scopeFlags(scope) {
  if (scope === undefined || scope === 'local') return 0;
  if (scope === 'global') return binding.flags.SCOPE_GLOBAL;
  throw invalidValue('options.scope', "'local' or 'global'", scope);
}

// prune, inspect and list: the scope, and the shared namespace with shared: true.
function lookFlags(options) {
  return scopeFlags(options.scope) | (checkBoolean(options.shared, 'options.shared') ? binding.flags.SHARED : 0);
}

function checkBoolean(value, what) {
  if (value !== undefined && typeof value !== 'boolean') throw invalidType(what, 'of type boolean', value);
  return value === true;
}

// options.access as the addon takes it, [readWrite, readOnly, creators,
// lowIntegrity], or undefined for a private segment.
const ACCESS_LISTS = ['readWrite', 'readOnly', 'creators'];
function accessList(access) {
  if (access === undefined) return undefined;
  if (access === null || typeof access !== 'object' || Array.isArray(access))
    throw invalidType('options.access', 'an object', access);
  for (const key of Object.keys(access)) {
    if (!ACCESS_LISTS.includes(key) && key !== 'lowIntegrity')
      throw invalidValue('options.access', 'an object of readWrite, readOnly, creators and lowIntegrity', access);
  }
  const lists = ACCESS_LISTS.map((key) => {
    const list = access[key];
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw invalidType(`options.access.${key}`, 'an array of strings', list);
    for (const principal of list) {
      if (typeof principal !== 'string')
        throw invalidType(`options.access.${key}`, 'an array of strings', principal);
    }
    return [...list];
  });
  return [...lists, checkBoolean(access.lowIntegrity, 'options.access.lowIntegrity')];
}

function openFlags(options, raw) {
  let flags = scopeFlags(options.scope) | (raw ? binding.flags.RAW : 0);
  if (checkBoolean(options.readOnly, 'options.readOnly')) {
    // A store into the read-only mapping would kill the process, and
    // JavaScript has no read-only ArrayBuffer to stop it.
    if (raw) throw invalidValue('options.readOnly', 'false for a RawSegment (its buffer cannot be read-only in JavaScript)', true);
    if (options.mode === 'create') throw invalidValue('options.mode', "'open' or 'either' with readOnly (it never creates)", options.mode);
    flags |= binding.flags.READ_ONLY | binding.flags.OPEN_ONLY;
  }
  switch (options.mode) {
    case undefined:
    case 'either':
      break;
    case 'create':
      flags |= binding.flags.CREATE_ONLY;
      break;
    case 'open':
      flags |= binding.flags.OPEN_ONLY;
      break;
    default:
      throw invalidValue('options.mode', "'create', 'open' or 'either'", options.mode);
  }
  return flags;
}

function checkData(data) {
  if (typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data;
  if (data instanceof SharedArrayBuffer) return new Uint8Array(data);
  throw invalidType('data', 'a string, Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer', data);
}

// ---------------------------------------------------------------- segments

const kOpen = Symbol('sharedmem.open');

function closedError(what) {
  return libraryError(E_INVALID_ARGUMENT, `${what}: the segment is closed`);
}

// What Segment and RawSegment share: the handle, its pending waits, close.
class Handle {
  #native;
  #name;
  #readOnly = false;
  #shared = false;
  #pending = new Map(); // wait id -> reject, for close()

  constructor(token, name, options, raw) {
    if (token !== kOpen) throw new TypeError(`use ${raw ? 'RawSegment' : 'Segment'}.open()`);
    checkName(name);
    options = checkOptions(options, 'options');
    const flags = openFlags(options, raw);
    const access = accessList(options.access);
    let capacity = options.capacity;
    if (capacity === undefined) {
      if (!(flags & binding.flags.OPEN_ONLY))
        throw invalidType('options.capacity', "of type number (it may be left out only with mode 'open')", capacity);
      capacity = 0;
    }
    checkInteger(capacity, 'options.capacity');
    this.#native = new binding.NativeSegment(name, capacity, flags, access);
    this.#readOnly = (flags & binding.flags.READ_ONLY) !== 0;
    this.#shared = access !== undefined;
    this.#name = name;
  }

  /** The segment's name. */
  get name() {
    return this.#name;
  }

  /** True if opened with readOnly: write() and writeIf() throw SharedmemError 'READ_ONLY'. */
  get readOnly() {
    return this.#readOnly;
  }

  /** True for a shared segment (opened with options.access). */
  get shared() {
    return this.#shared;
  }

  /** True once close() was called. */
  get closed() {
    return this.#native === null;
  }

  /** True if this open created the segment (no live process held it). */
  get created() {
    return this._native('created').created();
  }

  /** The capacity in bytes. */
  get capacity() {
    return this._native('capacity').capacity();
  }

  /** The current version: the number of completed writes (value) or notify() calls (raw). */
  get version() {
    return this._native('version').version();
  }

  _native(what) {
    if (this.#native === null) throw closedError(what);
    return this.#native;
  }

  /**
   * Resolves with the version once it differs from `seenVersion` (at once if
   * it does already). Waits on a thread of its own: the event loop runs on.
   * Rejects with SharedmemError 'TIMEOUT' after `timeout` ms, with the
   * signal's reason when `signal` aborts, and when the segment is closed.
   */
  wait(seenVersion, options) {
    try {
      checkInteger(seenVersion, 'seenVersion');
      options = checkOptions(options, 'options');
      const timeout = checkTimeout(options.timeout);
      const signal = checkSignal(options.signal);
      if (signal && signal.aborted) return Promise.reject(signal.reason);
      const native = this._native('wait');
      const now = native.version();
      if (now !== seenVersion) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        let onAbort = null;
        const settle = () => {
          this.#pending.delete(id);
          if (onAbort) signal.removeEventListener('abort', onAbort);
        };
        const id = native.wait(seenVersion, timeout, (error, version) => {
          settle();
          if (error) reject(error);
          else resolve(version);
        });
        this.#pending.set(id, (reason) => {
          settle();
          reject(reason);
        });
        if (signal) {
          onAbort = () => {
            settle();
            native.cancelWait(id);
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Closes the handle (the last close anywhere frees the segment). Pending
   * waits reject with SharedmemError 'INVALID_ARGUMENT'; a raw segment's
   * buffer is detached (its views have length 0) and its lock released.
   * Closing twice does nothing.
   */
  close() {
    const native = this.#native;
    if (native === null) return;
    this.#native = null;
    native.close();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const reject of pending) reject(closedError('wait'));
  }

  [Symbol.dispose]() {
    this.close();
  }

  [util.inspect.custom](depth, options, inspect) {
    const state = this.closed ? 'closed' : `capacity ${this.capacity}, version ${this.version}`;
    return `${this.constructor.name} ${inspect(this.#name, options)} (${state})`;
  }
}

/**
 * A value segment: a byte string of 0..capacity bytes that writes replace
 * atomically; readers never see a mix of two writes and never wait.
 */
// Values up to this capacity are read through a scratch Buffer of the handle
// (see read()); larger ones straight into a new Buffer by the addon.
const SCRATCH_LIMIT = 65536;

class Segment extends Handle {
  #scratch = null;

  /** Opens (mode 'either', the default), creates ('create') or joins ('open') the segment `name`. */
  static open(name, options) {
    return new Segment(kOpen, name, options, false);
  }

  /** Replaces the value (a string is written as UTF-8). */
  write(data) {
    data = checkData(data);
    const native = this._native('write');
    if (typeof data === 'string') native.writeString(data);
    else native.write(data);
  }

  /**
   * Writes only if the version is still `expectedVersion`; returns the new
   * version. Otherwise throws SharedmemError 'CONFLICT' (its `version` is the
   * current one) and writes nothing.
   */
  writeIf(data, expectedVersion) {
    data = checkData(data);
    checkInteger(expectedVersion, 'expectedVersion');
    return this._native('writeIf').writeIf(data, expectedVersion);
  }

  // The addon copies the snapshot into #scratch (the version in its first 8
  // bytes), and the copy out goes into a Buffer from Node's pool: cheaper for
  // small values than a Buffer made by the addon.
  #readSmall(native) {
    if (this.#scratch === null) {
      const capacity = native.capacity();
      if (capacity > SCRATCH_LIMIT) return null;
      this.#scratch = Buffer.allocUnsafeSlow(8 + capacity);
      native.setScratch(this.#scratch);
    }
    const size = native.readInto();
    const value = Buffer.allocUnsafe(size);
    this.#scratch.copy(value, 0, 8, 8 + size);
    return value;
  }

  /** A copy of the current value. */
  read() {
    const native = this._native('read');
    return this.#readSmall(native) ?? native.read();
  }

  /** A copy of the current value and the version of that very value. */
  readVersioned() {
    const native = this._native('readVersioned');
    const value = this.#readSmall(native);
    if (value === null) return native.readVersioned();
    return { value, version: this.#scratch.readDoubleLE(0) };
  }

  /**
   * Yields { value, version } after each change, starting from the version
   * at the call (writes in quick succession may be seen as one). Ends when
   * the segment is closed; throws the signal's reason when `signal` aborts.
   */
  async *changes(options) {
    options = checkOptions(options, 'options');
    const signal = checkSignal(options.signal);
    let seen = this.version;
    for (;;) {
      try {
        await this.wait(seen, { signal });
      } catch (error) {
        if (this.closed) return;
        throw error;
      }
      if (this.closed) return;
      const snapshot = this.readVersioned();
      seen = snapshot.version;
      yield snapshot;
    }
  }
}

/** The raw segment's lock, held by the thread that took it until unlock(). */
class RawLock {
  #segment;
  #held = true;

  constructor(token, segment, ownerDied) {
    if (token !== kOpen) throw new TypeError('use RawSegment.lock()');
    this.#segment = segment;
    /** True if the previous holder died holding the lock: the data may be half-updated. */
    this.ownerDied = ownerDied;
  }

  /** True until unlock(). */
  get held() {
    return this.#held;
  }

  /** Releases the lock. Throws if it was released already. */
  unlock() {
    if (!this.#held) throw libraryError(E_INVALID_ARGUMENT, 'unlock: the lock was released already');
    this.#held = false;
    if (!this.#segment.closed) this.#segment._native('unlock').unlock();
  }

  [Symbol.dispose]() {
    if (this.#held) this.unlock();
  }
}

/**
 * A raw segment: `buffer` is the shared memory itself (zero copy), with one
 * robust cross-process lock and change notification.
 */
class RawSegment extends Handle {
  #buffer = null;

  /** Opens, creates or joins the raw segment `name`, as Segment.open. */
  static open(name, options) {
    return new RawSegment(kOpen, name, options, true);
  }

  /**
   * A Buffer over the shared memory, valid until close(): then it is
   * detached (length 0), so that no access reaches unmapped memory.
   */
  get buffer() {
    const native = this._native('buffer');
    if (this.#buffer === null) {
      const arrayBuffer = native.buffer();
      // Transferred to a worker, it would outlive close()'s detach.
      markAsUntransferable(arrayBuffer);
      this.#buffer = Buffer.from(arrayBuffer);
    }
    return this.#buffer;
  }

  /**
   * Takes the cross-process lock, waiting at most `timeout` ms (default: no
   * limit; SharedmemError 'TIMEOUT' then). It blocks this thread meanwhile.
   * The returned lock's `ownerDied` tells that its previous holder died
   * holding it.
   */
  lock(options) {
    options = checkOptions(options, 'options');
    const timeout = checkTimeout(options.timeout);
    const ownerDied = this._native('lock').lock(timeout);
    return new RawLock(kOpen, this, ownerDied);
  }

  /** Advances the version and wakes every wait() on the segment; returns the new version. */
  notify() {
    return this._native('notify').notify();
  }
}

// ---------------------------------------------------------------- the rest

function setget() {
  if (setgetBinding === null) setgetBinding = loadAddon('sharedmem_setget.node');
  return setgetBinding;
}

/** The classic SetSharedMem: stores `text` in the default segment (truncated to its capacity). */
function setSharedMem(text) {
  if (typeof text !== 'string') throw invalidType('text', 'of type string', text);
  setget().setSharedMem(text);
}

/** The classic GetSharedMem: the default segment's text. */
function getSharedMem() {
  return setget().getSharedMem();
}

/** Removes what killed users left (Linux); returns how many objects it removed. */
function prune(options) {
  options = checkOptions(options, 'options');
  return binding.prune(lookFlags(options));
}

/** What stands under `name`, seen from outside, or null when nothing does. */
function inspect(name, options) {
  checkName(name);
  options = checkOptions(options, 'options');
  return binding.inspect(name, lookFlags(options));
}

/** Every object of the naming scheme in scope. */
function list(options) {
  options = checkOptions(options, 'options');
  return binding.list(lookFlags(options));
}

module.exports = {
  Segment,
  RawSegment,
  RawLock,
  SharedmemError,
  setSharedMem,
  getSharedMem,
  prune,
  inspect,
  list,
  /** The platform backend in use: 'posix' or 'windows'. */
  backend: binding.backend,
  /** The longest segment name. */
  MAX_NAME_LENGTH: binding.flags.MAX_NAME_LENGTH,
};
