/* SPDX-License-Identifier: MIT */
/*
 * sharedmem: named shared memory with the same lifetime and consistency rules
 * on Windows and Linux.
 *
 * A segment is a named block of shared memory holding one value: a byte string
 * of 0..capacity bytes. It lives while at least one process anywhere has it
 * open; when the last one closes it (or dies, even by SIGKILL or
 * TerminateProcess) it is gone, and the next process to open the name starts
 * from an empty, zeroed segment. Writes replace the whole value atomically:
 * readers never see a mix of two writes and never wait for a writer.
 *
 * A raw segment (SHAREDMEM_RAW) is instead a plain buffer that processes
 * share in place (sharedmem_data), with one robust cross-process lock
 * (sharedmem_lock) and change notification (sharedmem_notify,
 * sharedmem_wait); its lifetime is that of a value segment.
 *
 * This header is plain C (C89 plus <stdint.h>/<stddef.h>/<wchar.h>): no Boost,
 * no <windows.h>. Every function is safe to call from any thread.
 */
#ifndef SHAREDMEM_SHAREDMEM_H
#define SHAREDMEM_SHAREDMEM_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "sharedmem/sharedmem_export.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SHAREDMEM_CALL __cdecl
#else
#define SHAREDMEM_CALL
#endif

/* The error table, written once: X(NAME, value, message) for every error
 * code. The enum below, sharedmem_error_name and sharedmem_strerror are
 * generated from it, and so are the bindings (C++ errc, Python, the command's
 * exit statuses, the README's table) or they are checked against it by a
 * test. Values are stable and never reused; new codes are appended. A message
 * is true for every call that returns its code; a binding that knows the call
 * may say more. SHAREDMEM_OK (0) is not in the table: it is no error. */
#define SHAREDMEM_ERRORS(X)                                                                      \
  /* A required pointer was null, a flag is unknown, or the call does not apply to the          \
   * segment: a value call on a raw segment or the other way round, or sharedmem_unlock by a     \
   * thread that does not hold the lock. */                                                    \
  X(INVALID_ARGUMENT, 1,                                                                       \
    "invalid argument: a required pointer is null, a flag is unknown, or the call does not "   \
    "apply: a value call (read, write) on a raw segment or a raw call (data, lock, notify) on " \
    "a value segment, or an unlock by a thread that does not hold the lock")                   \
  /* The name is empty, too long, or has a character outside [A-Za-z0-9._-]. */                \
  X(INVALID_NAME, 2,                                                                           \
    "invalid segment name: use 1 to 128 characters from A-Z a-z 0-9 . _ - not starting with "  \
    "'.'")                                                                                     \
  /* The capacity is zero or larger than this system can map. */                              \
  X(INVALID_SIZE, 3,                                                                           \
    "invalid segment capacity: it must be at least 1 byte and small enough for this system "   \
    "to map twice over")                                                                       \
  /* The value to write is larger than the segment's capacity. */                              \
  X(VALUE_TOO_LARGE, 4,                                                                        \
    "value too large: it exceeds the segment's capacity; the segment is unchanged")            \
  /* A segment of this name is open elsewhere with a different capacity. */                    \
  X(SIZE_MISMATCH, 5,                                                                          \
    "size mismatch: a segment of this name is already open with a different capacity; open "   \
    "it with that capacity or use another name")                                               \
  /* An object of this name exists but is not a sharedmem segment of this layout version      \
   * (foreign, corrupted or from an incompatible release), or is a segment of the other kind:  \
   * a value segment opened with SHAREDMEM_RAW, or a raw segment opened without it. */         \
  X(INCOMPATIBLE, 6,                                                                           \
    "incompatible object: something of this name exists that is not a sharedmem segment of "   \
    "this layout version, or is a segment of the other kind (a value segment opened with "     \
    "SHAREDMEM_RAW, or a raw segment opened without it); it was left untouched")               \
  /* An object of this name exists but belongs to another user or is accessible to other       \
   * users; it is refused and left untouched. */                                               \
  X(NOT_OWNER, 7,                                                                              \
    "not owner: an object of this name belongs to another user or is accessible to other "     \
    "users; it was refused and left untouched")                                                \
  /* The operating system denied access. */                                                    \
  X(ACCESS_DENIED, 8, "access denied by the operating system")                                 \
  /* The system has not enough shared memory for the segment. */                               \
  X(NO_MEMORY, 9,                                                                              \
    "out of shared memory: the system cannot back a segment of this size, or is out of file "  \
    "handles (on Linux, check the free space of /dev/shm and ulimit -n)")                      \
  /* What the call waited for did not happen in time: sharedmem_wait saw no write, a live      \
   * process kept the writer lock (writes, sharedmem_lock), or writers never paused long       \
   * enough for a consistent read. */                                                          \
  X(TIMEOUT, 10,                                                                               \
    "timed out: what the call waited for did not happen in time (a wait saw no new version, "  \
    "a live process kept the segment's lock, or writers never paused long enough for a "       \
    "consistent read)")                                                                        \
  /* The request is valid but not supported on this platform. */                               \
  X(UNSUPPORTED, 11, "not supported on this platform")                                         \
  /* Another operating system error (sharedmem_last_system_error tells which). */              \
  X(SYSTEM, 12, "unexpected operating system error")                                           \
  /* The default segment is detached: the library is being unloaded. */                        \
  X(NOT_ATTACHED, 13, "the default segment is detached: the library is being unloaded")        \
  /* SHAREDMEM_CREATE_ONLY: a live process already holds a segment of this name. Nothing was   \
   * opened or changed. */                                                                     \
  X(EXISTS, 14,                                                                                \
    "already exists: a live process holds a segment of this name, and the open asked to "      \
    "create it (SHAREDMEM_CREATE_ONLY); nothing was opened")                                   \
  /* SHAREDMEM_OPEN_ONLY: no live process holds a segment of this name (none exists, or its    \
   * users are all gone). Nothing was created. */                                              \
  X(NOT_FOUND, 15,                                                                             \
    "not found: no live process holds a segment of this name, and the open asked for an "      \
    "existing one (SHAREDMEM_OPEN_ONLY); nothing was created")                                 \
  /* sharedmem_write_if: the segment's version is not the expected one (another write came     \
   * first). Nothing was written. */                                                           \
  X(CONFLICT, 16,                                                                              \
    "version conflict: another write changed the segment since the expected version; nothing " \
    "was written; read it again and retry")                                                    \
  /* NOT A FAILURE. sharedmem_lock: the lock WAS acquired, but its previous holder died (or    \
   * its thread ended) holding it: the data may be half-updated. The caller now holds the     \
   * lock and decides what to do with the data. */                                             \
  X(OWNER_DIED, 17,                                                                            \
    "owner died: the lock is now yours, but its previous holder died (or its thread ended) "    \
    "while holding it; the data may be half-updated: check or rebuild it")                     \
  /* This thread already holds the segment's lock: it began an in-place write                  \
   * (sharedmem_write_begin) that it has not committed or aborted, it called sharedmem_lock    \
   * again (a raw segment's lock is not recursive), or a signal handler interrupted a write on \
   * this thread and wrote itself. Nothing was done. */                                        \
  X(WOULD_DEADLOCK, 18,                                                                        \
    "would deadlock: this thread already holds this segment's lock (an in-place write it "     \
    "began is still open: commit or abort it first; a raw segment's lock taken twice; or a "   \
    "signal handler that interrupted a write); nothing was done")                              \
  /* The segment's shared state is damaged (another process of this user wrote over it): no   \
   * consistent value or usable lock could be had. Nothing was changed. Close it; once every   \
   * user has closed it, it starts afresh. */                                                  \
  X(CORRUPTED, 19,                                                                             \
    "corrupted segment: its shared state was overwritten by another process of this user; "    \
    "nothing was changed; close it, and it starts afresh once every user has closed it")       \
  /* sharedmem_write_commit: the calling thread has no in-place write open on this handle      \
   * (none was begun, it was committed or aborted already, or another thread began it).        \
   * Nothing was written. */                                                                   \
  X(NOT_HELD, 20,                                                                              \
    "no in-place write held: this thread has no sharedmem_write_begin open on this handle "    \
    "(never begun, already committed or aborted, or begun by another thread, which alone can " \
    "end it); nothing was written")

/* Error codes: SHAREDMEM_OK and SHAREDMEM_E_<NAME> for each row of the table. */
#define SHAREDMEM_ERROR_ENUMERATOR_(name, value, message) SHAREDMEM_E_##name = value,
typedef enum sharedmem_error {
  SHAREDMEM_OK = 0,
  SHAREDMEM_ERRORS(SHAREDMEM_ERROR_ENUMERATOR_)
  /* Not an error: keeps the enum 32 bits wide, so that C++ callers may hold
   * any code a newer library returns (and sharedmem_strerror names it). */
  SHAREDMEM_E_RESERVED_MAX = 0x7fffffff
} sharedmem_error;
#undef SHAREDMEM_ERROR_ENUMERATOR_

/* Returns a static, human-readable message for `error` (never null). */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_strerror(sharedmem_error error);

/* Returns the code's name without its prefix, as a static string: "OK" for
 * SHAREDMEM_OK, "TIMEOUT" for SHAREDMEM_E_TIMEOUT, ...; "UNKNOWN" for a value
 * that is not a code of this library. Bindings use it to name codes without
 * re-typing the table. */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_error_name(sharedmem_error error);

/* Names: 1..SHAREDMEM_MAX_NAME_LENGTH characters from [A-Za-z0-9._-], not
 * starting with '.'. The name is scoped to the current user on Linux and to
 * the session (Local\) on Windows unless SHAREDMEM_SCOPE_GLOBAL is given. */
#define SHAREDMEM_MAX_NAME_LENGTH 128

/* Flags for sharedmem_open. */
#define SHAREDMEM_SCOPE_GLOBAL 0x1u /* Windows: Global\ namespace. */
/* Open modes (at most one; both at once is SHAREDMEM_E_INVALID_ARGUMENT).
 * A segment whose users are all gone, even killed, counts as absent. */
/* Create the segment; fail with SHAREDMEM_E_EXISTS if a live process holds it. */
#define SHAREDMEM_CREATE_ONLY 0x2u
/* Open the segment a live process holds; fail with SHAREDMEM_E_NOT_FOUND if
 * none does, creating nothing. With this flag, capacity 0 means "whatever
 * capacity the segment has" (sharedmem_capacity then tells it). */
#define SHAREDMEM_OPEN_ONLY 0x4u
/* A raw segment: a zero-filled buffer of exactly `capacity` bytes shared in
 * place (see sharedmem_data), instead of a value. Same names, scope, open
 * modes and lifetime as value segments, but a name lives as one kind at a
 * time: opening a live value segment with this flag, or a live raw segment
 * without it, fails with SHAREDMEM_E_INCOMPATIBLE. */
#define SHAREDMEM_RAW 0x8u

typedef struct sharedmem_segment sharedmem_segment;

/* Opens the segment `name`, creating it with `capacity` bytes of value space
 * if no process has it open. On success *out receives a handle that the
 * caller must pass to sharedmem_close. On failure *out is set to null and
 * nothing is created or changed. Opening the same name twice, in one process
 * or many, gives handles to the same memory; each handle keeps it alive.
 * `flags`: SHAREDMEM_SCOPE_GLOBAL and at most one open mode,
 * SHAREDMEM_CREATE_ONLY or SHAREDMEM_OPEN_ONLY (see above). */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_open(const char* name, uint64_t capacity,
                                                               uint32_t flags,
                                                               sharedmem_segment** out);

/* Returns 1 if the sharedmem_open that gave this handle created the segment
 * (its users were all gone, or there were none: it started from an empty
 * value at version 0), 0 if it joined live users, and 0 for a null handle. Of
 * processes racing to open one name, exactly one gets 1. */
SHAREDMEM_EXPORT int SHAREDMEM_CALL sharedmem_created(const sharedmem_segment* segment);

/* Closes the handle. The last close anywhere frees the segment. Null is a no-op.
 * The handle must not be in use by another thread (a raw segment's lock that
 * another thread took through it counts as a use). A raw segment's lock that
 * the calling thread took through it is released. */
SHAREDMEM_EXPORT void SHAREDMEM_CALL sharedmem_close(sharedmem_segment* segment);

/* Returns the segment's capacity in bytes, or 0 for a null handle. */
SHAREDMEM_EXPORT uint64_t SHAREDMEM_CALL sharedmem_capacity(const sharedmem_segment* segment);

/* Replaces the segment's value with the `size` bytes at `data` (which may be
 * null when size is 0). Atomic for readers: they see the old or the new
 * value, never a mix. Fails with SHAREDMEM_E_VALUE_TOO_LARGE, leaving the
 * value unchanged, when size exceeds the capacity. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_write(sharedmem_segment* segment,
                                                                const void* data, uint64_t size);

/* Copies the first min(value size, buffer_size) bytes of a consistent snapshot
 * of the value to `buffer` (which may be null when buffer_size is 0) and
 * stores the value's full size in *value_size (which may be null). Never
 * waits for writers. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_read(const sharedmem_segment* segment,
                                                               void* buffer, uint64_t buffer_size,
                                                               uint64_t* value_size);

/* Versions. Every segment has a version: 0 when it is created, one more for
 * each completed write (sharedmem_write, a successful sharedmem_write_if or
 * sharedmem_write_commit). A
 * write whose process dies before it completes does not count, and neither
 * do reads. A version is a count of this segment's life: once every user has
 * gone, the next segment of that name starts again from 0. */

/* Returns the segment's current version, or 0 for a null handle. */
SHAREDMEM_EXPORT uint64_t SHAREDMEM_CALL sharedmem_version(const sharedmem_segment* segment);

/* sharedmem_read that also stores in *version (which may be null) the
 * version of the very snapshot copied: the value is exactly the one that
 * write number *version left. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_read_versioned(
    const sharedmem_segment* segment, void* buffer, uint64_t buffer_size, uint64_t* value_size,
    uint64_t* version);

/* Compare-and-write: replaces the value as sharedmem_write does, but only if
 * the segment's version is still `expected_version` when the write takes the
 * writer lock; otherwise fails with SHAREDMEM_E_CONFLICT and changes nothing.
 * *new_version (which may be null) receives the version after the call,
 * whether it wrote or not (expected_version + 1 on success). Read with
 * sharedmem_read_versioned, compute, write_if, and retry on a conflict, for
 * read-modify-write updates that no concurrent writer can lose. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_write_if(sharedmem_segment* segment,
                                                                   const void* data,
                                                                   uint64_t size,
                                                                   uint64_t expected_version,
                                                                   uint64_t* new_version);

/* In-place writes: fill the next value where readers will find it, instead
 * of copying it in from a buffer of your own.
 *
 * sharedmem_write_begin takes the segment's writer lock (waiting for another
 * writer as sharedmem_write does, SHAREDMEM_E_TIMEOUT if a live one keeps it)
 * and stores in *data the address of `size` bytes (size <= capacity, else
 * SHAREDMEM_E_VALUE_TOO_LARGE) in the slot readers do not look at. Their
 * content is unspecified (an older value's bytes): write all `size` of them.
 * Readers keep seeing the current value, unchanged, until the commit.
 * On failure *data is set to null (when `data` is not null).
 *
 * sharedmem_write_commit publishes those bytes as the new value, atomically
 * for readers exactly as sharedmem_write does: the version becomes one more
 * (stored in *new_version, which may be null; on failure it gets the
 * unchanged version) and sharedmem_wait callers wake up.
 * sharedmem_write_abort gives the write up: the value and version stay as
 * they were. Either ends the write and releases the lock; the pointer from
 * begin must not be used afterwards.
 *
 * The write belongs to the thread that began it and to that handle: only
 * that thread can commit or abort it (any other gets SHAREDMEM_E_NOT_HELD;
 * abort ignores it), and while it is open, that thread's sharedmem_write,
 * sharedmem_write_if and sharedmem_write_begin on the segment (through any
 * handle) fail with SHAREDMEM_E_WOULD_DEADLOCK; other writers wait for it, as
 * they wait for a sharedmem_write, for up to 10 seconds. Closing the handle
 * on that thread (or the process exiting) aborts it; a process or thread that
 * dies with it open publishes nothing and blocks nobody: the next writer
 * takes over the lock. Closing the handle from another thread meanwhile is a
 * misuse (the handle is in use): nothing is published, and the lock is freed
 * when the writing thread ends. A child forked while a write is open must not
 * commit or abort it. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_write_begin(sharedmem_segment* segment,
                                                                      uint64_t size, void** data);
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_write_commit(sharedmem_segment* segment,
                                                                       uint64_t* new_version);
/* Null, or no write open by the calling thread on this handle: does nothing. */
SHAREDMEM_EXPORT void SHAREDMEM_CALL sharedmem_write_abort(sharedmem_segment* segment);

/* sharedmem_wait's timeout that never expires. */
#define SHAREDMEM_WAIT_FOREVER UINT32_MAX

/* Waits until the segment's version differs from `seen_version` (a write
 * completed, in any process) or `timeout_ms` milliseconds pass
 * (SHAREDMEM_WAIT_FOREVER: no limit). Returns at once if it differs already.
 * On SHAREDMEM_OK, *version (which may be null) gets the version found; on
 * SHAREDMEM_E_TIMEOUT it gets the unchanged version. Typical use: read with
 * sharedmem_read_versioned, then wait with the version read. Waiters cost
 * writers nothing while there are none. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_wait(const sharedmem_segment* segment,
                                                               uint64_t seen_version,
                                                               uint32_t timeout_ms,
                                                               uint64_t* version);

/* Raw segments (opened with SHAREDMEM_RAW). The value calls (sharedmem_read,
 * _read_versioned, _write, _write_if) refuse them with
 * SHAREDMEM_E_INVALID_ARGUMENT, and these calls refuse value segments the
 * same way. sharedmem_version and sharedmem_wait work on both: a raw
 * segment's version counts its sharedmem_notify calls. */

/* The raw segment's buffer in this process: `sharedmem_capacity` bytes,
 * page-aligned, zero-filled when the segment was created, valid until the
 * handle is closed. Null for a value segment or a null handle. Every process
 * sees the same bytes; the library never reads or writes them, and a write
 * to them is not atomic for other processes: use sharedmem_lock. */
SHAREDMEM_EXPORT void* SHAREDMEM_CALL sharedmem_data(sharedmem_segment* segment);

/* Takes the raw segment's cross-process lock, waiting at most `timeout_ms`
 * milliseconds (SHAREDMEM_WAIT_FOREVER: no limit) for a live holder:
 * SHAREDMEM_E_TIMEOUT then, without the lock. The lock belongs to the
 * calling thread until it calls sharedmem_unlock (through this handle) or
 * closes the handle. It is robust: if its holder dies (even by SIGKILL or
 * TerminateProcess) or its thread ends holding it, the next sharedmem_lock
 * gets it and returns SHAREDMEM_E_OWNER_DIED: the lock is held, and the data
 * may be half-updated. The same thread locking again, through any handle,
 * gets SHAREDMEM_E_WOULD_DEADLOCK. A process forked while holding it does
 * not hold it in the child. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_lock(sharedmem_segment* segment,
                                                               uint32_t timeout_ms);

/* Releases the lock that the calling thread took through this handle.
 * SHAREDMEM_E_INVALID_ARGUMENT, changing nothing, if it did not. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_unlock(sharedmem_segment* segment);

/* Advances the raw segment's version by one and wakes every sharedmem_wait
 * on it, in every process: a producer that changed the data in place tells
 * the consumers. The data written before the call is visible to whoever sees
 * the new version. Needs no lock. *new_version (which may be null) receives
 * the version after the call. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_notify(sharedmem_segment* segment,
                                                                 uint64_t* new_version);

/* Inspection: what stands under a segment's name, seen from outside.
 *
 * sharedmem_inspect and sharedmem_list look at the OS objects of the naming
 * scheme (a segment's object, and anything else that took such a name)
 * without becoming a user: they never join a segment's lifetime (a segment
 * whose users all leave is freed as usual, even while it is inspected),
 * never create, reset, lock for writing or write anything of it, and read
 * nothing of an object that is not the current user's own. Hostile objects
 * (of another type, truncated, scribbled on) are classified, never trusted.
 * What they report is a snapshot: it may be stale as soon as it returns. */

/* sharedmem_info.object_class: what an object under the name is. */
typedef enum sharedmem_object_class {
  /* A segment of this layout version that a live process holds. */
  SHAREDMEM_OBJECT_SEGMENT = 1,
  /* A segment whose header is not finished yet: its creator is initialising
   * it, or died doing so while others wait to attach. */
  SHAREDMEM_OBJECT_UNFINISHED = 2,
  /* Linux: what users that were all killed left; no live process holds it,
   * and the next open of the name resets it. (On Windows a section goes with
   * its last handle, so none is dead.) */
  SHAREDMEM_OBJECT_DEAD = 3,
  /* The current user's object, but no sharedmem segment: another type (a
   * directory, a FIFO, a mutex...) or unknown bytes. Opens refuse it with
   * SHAREDMEM_E_INCOMPATIBLE. */
  SHAREDMEM_OBJECT_FOREIGN = 4,
  /* A sharedmem segment of another layout version (another release). */
  SHAREDMEM_OBJECT_INCOMPATIBLE = 5,
  /* An object that another user owns, or that other users may open: opens
   * refuse it with SHAREDMEM_E_NOT_OWNER; its content is not read. */
  SHAREDMEM_OBJECT_NOT_OWNER = 6,
  SHAREDMEM_OBJECT_CLASS_MAX = 0x7fffffff
} sharedmem_object_class;

/* sharedmem_info.kind: how a segment holds its data. */
typedef enum sharedmem_kind {
  SHAREDMEM_KIND_UNKNOWN = 0, /* not a segment, or not known to this library */
  SHAREDMEM_KIND_VALUE = 1,   /* a value, written and read whole (sharedmem_write) */
  SHAREDMEM_KIND_RAW = 2,     /* raw bytes changed in place (SHAREDMEM_RAW) */
  SHAREDMEM_KIND_MAX = 0x7fffffff
} sharedmem_kind;

/* sharedmem_info.holders when the OS cannot tell (Windows). */
#define SHAREDMEM_HOLDERS_UNKNOWN UINT32_MAX
/* Room for the OS strings of sharedmem_info, terminator included. */
#define SHAREDMEM_INFO_TEXT 256

/* What sharedmem_inspect and sharedmem_list report about one object. Fields
 * the object class does not give are 0 (numbers) or empty (strings).
 * Extensible: fields are only ever appended. The caller of
 * sharedmem_inspect sets struct_size to sizeof(sharedmem_info) as it was
 * compiled; the library fills what fits in that size. sharedmem_list's
 * callback gets the library's own struct_size. */
typedef struct sharedmem_info {
  uint32_t struct_size;
  uint32_t object_class; /* sharedmem_object_class */
  char name[SHAREDMEM_MAX_NAME_LENGTH + 1]; /* the segment name */
  uint32_t kind;           /* sharedmem_kind, for SEGMENT, DEAD and UNFINISHED */
  uint32_t layout_version; /* the header's layout version; 0 if none was read */
  uint64_t capacity;       /* value capacity in bytes (SEGMENT, DEAD) */
  uint64_t value_size;     /* the current value's size (SEGMENT, DEAD) */
  uint64_t version;        /* sharedmem_version of that value (SEGMENT, DEAD) */
  uint64_t object_size;    /* the OS object's size in bytes (Windows: whole pages) */
  /* How many attachments hold the segment (one per open handle, so one
   * process may count several), or SHAREDMEM_HOLDERS_UNKNOWN. */
  uint32_t holders;
  /* POSIX permission bits of the object (0600 for a segment); 0 on Windows. */
  uint32_t mode;
  /* The OS object's name: "/dev/shm/sharedmem.<uid>.<name>" on Linux,
   * "Local\sharedmem.<name>" on Windows. */
  char os_name[SHAREDMEM_INFO_TEXT];
  /* The owner: "uid 1000" on Linux, a SID ("S-1-5-21-...") on Windows;
   * empty if it could not be read. */
  char owner[SHAREDMEM_INFO_TEXT];
  /* The permissions, readable: "rw------- (0600)" on Linux, the DACL in SDDL
   * ("D:P(A;;...;;;S-1-5-21-...)") on Windows; empty if it could not be read. */
  char permissions[SHAREDMEM_INFO_TEXT];
} sharedmem_info;

/* Inspects the object under segment name `name`. `flags`:
 * SHAREDMEM_SCOPE_GLOBAL or 0. `info->struct_size` must be set by the caller
 * (at least the size of this first version of the struct). Returns
 * SHAREDMEM_OK and fills *info for anything under the name, whatever its
 * class; SHAREDMEM_E_NOT_FOUND when nothing is there (info then holds only
 * the name and the OS name); SHAREDMEM_E_INVALID_NAME, _INVALID_ARGUMENT
 * (a null pointer, an unknown flag, a struct_size too small), or an OS
 * error. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_inspect(const char* name,
                                                                  uint32_t flags,
                                                                  sharedmem_info* info);

/* sharedmem_list's callback: return 0 to go on, anything else to stop. */
typedef int(SHAREDMEM_CALL* sharedmem_list_callback)(const sharedmem_info* info,
                                                      void* context);

/* Calls `callback` once per object of the naming scheme in scope (the
 * current user's on Linux; the session's, or with SHAREDMEM_SCOPE_GLOBAL the
 * machine's, on Windows), in no particular order, with what
 * sharedmem_inspect would report (objects that vanish meanwhile are
 * skipped; names outside the segment name alphabet are not listed). The
 * info is valid during the call only. Returns SHAREDMEM_OK (also when the
 * callback stopped early), SHAREDMEM_E_INVALID_ARGUMENT, or an OS error
 * when the namespace cannot be read. The callback must not call
 * sharedmem_list. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_list(uint32_t flags,
                                                               sharedmem_list_callback callback,
                                                               void* context);

/* The operating system's error code (errno on Linux, GetLastError on
 * Windows) behind the last call on this thread that failed, or 0 when that
 * failure had no OS error behind it (a bad argument, a conflict, an object
 * refused as not ours...). Calls that succeed leave it as it is. */
SHAREDMEM_EXPORT int SHAREDMEM_CALL sharedmem_last_system_error(void);

/* Names the platform backend in use: "posix" or "windows". */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_backend(void);

#ifdef __cplusplus
}
#endif

#endif /* SHAREDMEM_SHAREDMEM_H */
