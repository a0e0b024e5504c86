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
 * no <windows.h>.
 *
 * Threads. Any thread may call any function, and calls on different handles
 * never interfere. Several threads may use one handle at once (read, write,
 * wait, lock, notify...), with these exceptions:
 *   - sharedmem_close: no other thread may be using the handle, or use it
 *     afterwards (a raw lock another thread holds through it, or an
 *     in-place write another thread has open on it, counts as a use).
 *   - An in-place write (sharedmem_write_begin) and a raw segment's lock
 *     (sharedmem_lock) belong to the thread that began or took them: only it
 *     may commit, abort or unlock them (others get SHAREDMEM_E_NOT_HELD), and
 *     the pointer from sharedmem_write_begin is for that thread's use until
 *     it ends the write.
 *   - sharedmem_list's callback runs on the calling thread, inside the call;
 *     see sharedmem_list for what it may call.
 * sharedmem_last_system_error is per thread.
 *
 * Signal handlers: sharedmem_read (and setget.h's GetSharedMem) take no
 * lock and allocate nothing, and may be called from one. The writes are not
 * async-signal-safe, but a handler that writes a segment whose write it
 * interrupted gets SHAREDMEM_E_WOULD_DEADLOCK instead of hanging. Opening
 * and closing must not be done from a signal handler.
 */
#ifndef SHAREDMEM_SHAREDMEM_H
#define SHAREDMEM_SHAREDMEM_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "sharedmem/sharedmem_export.h"
#include "sharedmem/version.h"

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
#define SHAREDMEM_ERRORS(X)                                                                    \
  /* A required pointer was null, a flag is unknown, or flags that do not go together were     \
   * given (SHAREDMEM_ANY_KIND without SHAREDMEM_OPEN_ONLY, say). Nothing was done. */         \
  X(INVALID_ARGUMENT, 1,                                                                       \
    "invalid argument: a required pointer is null, a flag is unknown, or flags were given "    \
    "that do not go together; nothing was done")                                               \
  /* The name is empty, too long, or has a character outside [A-Za-z0-9._-]. */                \
  X(INVALID_NAME, 2,                                                                           \
    "invalid segment name: use 1 to 128 characters from A-Z a-z 0-9 . _ - not starting with "  \
    "'.'")                                                                                     \
  /* The capacity is zero or larger than this system can map. */                               \
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
  /* An object of this name exists but is not a sharedmem segment of this layout version       \
   * (another type, unknown bytes, a damaged header, or another release's segment). It was     \
   * left untouched. (A live segment of the other kind is SHAREDMEM_E_WRONG_KIND.) */          \
  X(INCOMPATIBLE, 6,                                                                           \
    "incompatible object: something of this name exists that is not a sharedmem segment of "   \
    "this layout version (another type, unknown bytes, or another release's segment); it "     \
    "was left untouched")                                                                      \
  /* An object of this name exists but belongs to another user or is accessible to other       \
   * users; it is refused and left untouched. */                                               \
  X(NOT_OWNER, 7,                                                                              \
    "not owner: an object of this name belongs to another user or is accessible to other "     \
    "users; it was refused and left untouched")                                                \
  /* The operating system denied access. */                                                    \
  X(ACCESS_DENIED, 8, "access denied by the operating system")                                 \
  /* The system has not enough shared memory for the segment, even after removing dead      \
   * objects (Linux: /dev/shm full, a memory cgroup's limit; Windows: the commit limit). */  \
  X(NO_MEMORY, 9,                                                                              \
    "out of shared memory: the system cannot back a segment of this size, even after "         \
    "removing dead objects (on Linux, check the free space of /dev/shm and memory cgroup "     \
    "limits; on Windows, the commit limit)")                                                   \
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
  X(SYSTEM, 12,                                                                                \
    "operating system error: a system call failed (sharedmem_last_system_error gives its "     \
    "code; EMFILE on Linux: out of file descriptors, raise ulimit -n)")                        \
  /* The default segment is detached: the library is being unloaded. Also sharedmem_open    \
   * from any thread once the process's exit (or the library's unload) has begun detaching   \
   * its segments: exit is final. */                                                         \
  X(NOT_ATTACHED, 13,                                                                          \
    "detached: the library is being unloaded or the process is exiting (the default segment "  \
    "is gone, and no segment can be opened any more)")                                         \
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
  /* **A success code, not a failure**: sharedmem_lock ACQUIRED the lock, and the caller       \
   * holds it now (and must unlock it); its previous holder died (or its thread ended)         \
   * holding it, so the data may be half-updated. The caller decides what to do with the       \
   * data. Test for it explicitly: code that treats every nonzero code as a failure leaks the  \
   * lock. */                                                                                  \
  X(OWNER_DIED, 17,                                                                            \
    "owner died (not a failure): the lock is now yours, but its previous holder died (or "     \
    "its thread ended) while holding it; the data may be half-updated: check or rebuild it, "  \
    "then unlock")                                                                             \
  /* This thread already holds the segment's lock: it began an in-place write                  \
   * (sharedmem_write_begin) that it has not committed or aborted, it called sharedmem_lock    \
   * again (a raw segment's lock is not recursive), or a signal handler interrupted a write on \
   * this thread and wrote itself. Nothing was done. */                                        \
  X(WOULD_DEADLOCK, 18,                                                                        \
    "would deadlock: this thread already holds this segment's lock (an in-place write it "     \
    "began is still open: commit or abort it first; a raw segment's lock taken twice; or a "   \
    "signal handler that interrupted a write); nothing was done")                              \
  /* The segment's shared state is damaged (another process of this user wrote over it): no    \
   * consistent value or usable lock could be had. Nothing was changed. Close it; once every   \
   * user has closed it, it starts afresh. */                                                  \
  X(CORRUPTED, 19,                                                                             \
    "corrupted segment: its shared state was overwritten by another process of this user; "    \
    "nothing was changed; close it, and it starts afresh once every user has closed it")       \
  /* The calling thread does not hold what the call releases: sharedmem_write_commit without   \
   * an in-place write of its own open on this handle (none was begun, it was committed or     \
   * aborted already, or another thread began it), or sharedmem_unlock without the raw lock    \
   * taken through this handle by this thread. Nothing was done. */                            \
  X(NOT_HELD, 20,                                                                              \
    "not held: this thread does not hold what the call releases through this handle (no "      \
    "in-place write of its own is open to commit, or it did not take the raw lock it "         \
    "unlocks); only the thread that began or locked can end it; nothing was done")             \
  /* The segment is of the other kind: opening a live value segment with SHAREDMEM_RAW or a    \
   * live raw segment without it, or calling a value call (read, write) with a raw segment's   \
   * handle or a raw call (lock, unlock, notify) with a value segment's. Nothing was opened    \
   * or changed; see SHAREDMEM_ANY_KIND and sharedmem_segment_kind. */                         \
  X(WRONG_KIND, 21,                                                                            \
    "wrong kind of segment: it is a raw segment and the call or open was for a value "         \
    "segment, or the other way round (open it with or without SHAREDMEM_RAW, or with "         \
    "SHAREDMEM_ANY_KIND); nothing was opened or changed")                                      \
  /* sharedmem_check, sharedmem_wait: the segment's name no longer leads to this handle's      \
   * object (on Linux it was removed from /dev/shm under its holders: systemd-logind's         \
   * RemoveIPC=yes at the user's last logout, or a manual rm). The handle still works, with    \
   * the holders that share it, but a newcomer opening the name gets a new, separate segment.  \
   * Close and reopen to rejoin the name; docs/lifetime.md gives the remedies. */              \
  X(REMOVED, 22,                                                                               \
    "name removed: the segment's name no longer leads to this handle's object (on Linux it "   \
    "was deleted from /dev/shm, by systemd-logind's RemoveIPC=yes at the user's last logout "  \
    "or by hand); holders keep the old object, newcomers get a new one: close and reopen, "    \
    "and see docs/lifetime.md (RemoveIPC=no, a system user, loginctl enable-linger)")         \
  /* The handle was opened with SHAREDMEM_READ_ONLY, and the call writes (sharedmem_write,     \
   * _write_if, _write_begin, sharedmem_lock, sharedmem_notify). Nothing was changed. */        \
  X(READ_ONLY, 23,                                                                             \
    "read-only handle: it was opened with SHAREDMEM_READ_ONLY and the call would write; "      \
    "nothing was changed (open it read-write, if its access list allows you)")                  \
  /* sharedmem_open_shared: a principal of the access list names no user, group or SID this   \
   * system knows, or is not of a form it accepts ("user:NAME", "group:NAME", "uid:N",         \
   * "gid:N" on Linux; "user:NAME", "group:NAME", "sid:S-1-..." on Windows).                   \
   * sharedmem_last_error_detail names it. Nothing was opened or created. */                   \
  X(UNKNOWN_PRINCIPAL, 24,                                                                     \
    "unknown principal: an entry of the access list names no user, group or SID this system "  \
    "knows, or has a form it does not accept (sharedmem_last_error_detail names it); nothing "  \
    "was opened")

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
 * without it, fails with SHAREDMEM_E_WRONG_KIND. */
#define SHAREDMEM_RAW 0x8u
/* Opens the live segment of that name whatever its kind, value or raw
 * (sharedmem_segment_kind then tells which): for tools that follow whatever
 * lives under a name. Valid only together with SHAREDMEM_OPEN_ONLY and
 * without SHAREDMEM_RAW; otherwise SHAREDMEM_E_INVALID_ARGUMENT. A nonzero
 * capacity must still be the segment's. */
#define SHAREDMEM_ANY_KIND 0x10u
/* Opens the segment read-only: the mapping is read-only in the OS (a write
 * through sharedmem_data faults), reads, versions, waits, checks and
 * inspection work, and the calls that write return SHAREDMEM_E_READ_ONLY.
 * A read-only opener never creates or resets a segment: it joins one that
 * live users hold (SHAREDMEM_OPEN_ONLY is implied: SHAREDMEM_E_NOT_FOUND
 * otherwise; capacity 0 means any), and is then a user like any other for
 * the lifetime (it keeps the segment alive, and may be the last out). Not
 * with SHAREDMEM_CREATE_ONLY. With sharedmem_open_shared, the only way a
 * principal granted read access alone can open the segment. */
#define SHAREDMEM_READ_ONLY 0x20u
/* For sharedmem_inspect, sharedmem_list and sharedmem_prune: the shared
 * namespace of sharedmem_open_shared instead of the private one. (Not a flag
 * of the opens: sharedmem_open_shared is how a shared segment is opened.) */
#define SHAREDMEM_SHARED 0x40u

typedef struct sharedmem_segment sharedmem_segment;

/* Opens the segment `name`, creating it with `capacity` bytes of value space
 * if no process has it open. On success *out receives a handle that the
 * caller must pass to sharedmem_close. On failure *out is set to null and
 * nothing is created or changed. Opening the same name twice, in one process
 * or many, gives handles to the same memory; each handle keeps it alive.
 * `flags`: SHAREDMEM_SCOPE_GLOBAL, at most one open mode
 * (SHAREDMEM_CREATE_ONLY or SHAREDMEM_OPEN_ONLY), and the kind:
 * SHAREDMEM_RAW, or SHAREDMEM_ANY_KIND with SHAREDMEM_OPEN_ONLY, or neither
 * for a value segment (see above). */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_open(const char* name, uint64_t capacity,
                                                               uint32_t flags,
                                                               sharedmem_segment** out);

/* Sharing with other users, groups and services.
 *
 * sharedmem_open opens segments private to the current user (Linux) or
 * session (Windows): nobody else can open them, and an object of their name
 * that someone else made is refused. sharedmem_open_shared opens a segment
 * in a separate, shared namespace (a private segment and a shared one never
 * meet), readable and writable by the principals its access list names and
 * by no one else. A principal is "user:NAME", "group:NAME", "uid:N" or
 * "gid:N" on Linux; "user:NAME" or "group:NAME" (account names, DOMAIN\name
 * allowed) or "sid:S-1-..." on Windows.
 *
 * Squatting stays impossible: an existing object of the name is accepted
 * only if its owner is the current user or one of `creators`, and its
 * permissions grant exactly the listed principals (read-write or read-only,
 * as listed) and nothing more: no world access, no other user or group, no
 * NULL DACL or Everyone. Anything else is refused with SHAREDMEM_E_NOT_OWNER
 * (sharedmem_last_error_detail says why) and left untouched: never opened
 * for writing, reset or removed. Every opener must pass the same lists. */
typedef struct sharedmem_access {
  uint32_t struct_size; /* sizeof(sharedmem_access), as the caller compiled it */
  uint32_t flags;       /* SHAREDMEM_ACCESS_* */
  /* NULL-terminated lists of principals (a NULL list is an empty one). The
   * current user always has read-write access and need not be listed. */
  const char* const* read_write; /* may open it read-write */
  const char* const* read_only;  /* may open it with SHAREDMEM_READ_ONLY only */
  const char* const* creators;   /* besides the current user: who may have created it */
} sharedmem_access;

/* Windows: the section and its objects also carry a low mandatory integrity
 * label, so that a sandboxed (low-integrity) process granted access may open
 * it (read-only principals: read-only). Ignored on Linux. */
#define SHAREDMEM_ACCESS_LOW_INTEGRITY 0x1u

#define SHAREDMEM_ACCESS_INIT \
  { (uint32_t)sizeof(sharedmem_access), 0, NULL, NULL, NULL }

/* Opens (or creates) the shared segment `name` with the access list
 * `access` (required; its struct_size at least that of this first version).
 * `flags` and `capacity` as for sharedmem_open, plus SHAREDMEM_READ_ONLY.
 * Returns SHAREDMEM_E_UNKNOWN_PRINCIPAL for a principal the system does not
 * know, SHAREDMEM_E_NOT_OWNER for an object of the name that is not one the
 * list describes, SHAREDMEM_E_ACCESS_DENIED when the list does not let this
 * user in (or only read-only, without SHAREDMEM_READ_ONLY), and the errors
 * of sharedmem_open. On failure *out is null. See docs/sharing.md. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_open_shared(
    const char* name, uint64_t capacity, uint32_t flags, const sharedmem_access* access,
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

/* sharedmem_info.kind, and sharedmem_segment_kind: how a segment holds its
 * data. */
typedef enum sharedmem_kind {
  SHAREDMEM_KIND_UNKNOWN = 0, /* not a segment, or not known to this library */
  SHAREDMEM_KIND_VALUE = 1,   /* a value, written and read whole (sharedmem_write) */
  SHAREDMEM_KIND_RAW = 2,     /* raw bytes changed in place (SHAREDMEM_RAW) */
  SHAREDMEM_KIND_MAX = 0x7fffffff
} sharedmem_kind;

/* The kind of the segment the handle is open on: SHAREDMEM_KIND_VALUE or
 * SHAREDMEM_KIND_RAW; SHAREDMEM_KIND_UNKNOWN for a null handle. */
SHAREDMEM_EXPORT sharedmem_kind SHAREDMEM_CALL sharedmem_segment_kind(
    const sharedmem_segment* segment);

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
 * SHAREDMEM_E_TIMEOUT it gets the unchanged version. A wait that slept
 * returns SHAREDMEM_E_REMOVED instead when, on waking or timing out, it
 * finds the segment's name removed (see sharedmem_check); *version then
 * still gets the version found. Typical use: read with
 * sharedmem_read_versioned, then wait with the version read. Waiters cost
 * writers nothing while there are none. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_wait(const sharedmem_segment* segment,
                                                               uint64_t seen_version,
                                                               uint32_t timeout_ms,
                                                               uint64_t* version);

/* Whether the segment's name still leads to this handle's object: SHAREDMEM_OK
 * while it does, SHAREDMEM_E_REMOVED once the name was removed under its
 * holders or leads to another object (Linux: /dev/shm/sharedmem.<uid>.<name>
 * unlinked or replaced). Costs two system calls (fstat and lstat), nothing
 * on the read and write paths. On Windows a section's name lives as long as
 * any handle to it, so it is always OK. SHAREDMEM_E_INVALID_ARGUMENT for
 * null. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_check(const sharedmem_segment* segment);

/* Removes, now, every dead object of the current user's segments in the
 * scope (`flags`: 0, SHAREDMEM_SCOPE_GLOBAL, and SHAREDMEM_SHARED for the
 * shared namespace, where it removes only objects the user owns): objects whose every user
 * died without closing (SIGKILL, a crash, the OOM killer), whose pages
 * would otherwise stay reserved until this user's next open that sweeps.
 * Never touches a live segment, another user's object, a file the library
 * did not make, or an object being opened or closed right now. *removed
 * (may be null) gets how many it removed. Linux: SHAREDMEM_E_UNSUPPORTED
 * with SHAREDMEM_SCOPE_GLOBAL (as for sharedmem_open). Windows: a section
 * dies with its last handle, even a killed process's, so there is never
 * anything to remove: OK, 0. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_prune(uint32_t flags, uint32_t* removed);

/* Raw segments (opened with SHAREDMEM_RAW). The value calls (sharedmem_read,
 * _read_versioned, _write, _write_if, _write_begin, _write_commit) refuse
 * them with SHAREDMEM_E_WRONG_KIND, and sharedmem_lock, _unlock and _notify
 * refuse value segments the same way (sharedmem_data gives null). sharedmem_version and sharedmem_wait work on both: a raw
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
 * SHAREDMEM_E_NOT_HELD, changing nothing, if it did not (another thread
 * took it, or another handle, or nobody). */
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

/* sharedmem_info.holders when the OS cannot tell (Windows). */
#define SHAREDMEM_HOLDERS_UNKNOWN UINT32_MAX
/* Room for the OS strings of sharedmem_info, terminator included. */
#define SHAREDMEM_INFO_TEXT 256
/* sharedmem_info.truncated: which text fields were cut to fit their array
 * (the text is the OS's, longer than SHAREDMEM_INFO_TEXT - 1 bytes; what is
 * there is its beginning, terminated). */
#define SHAREDMEM_INFO_OS_NAME_TRUNCATED 0x1u
#define SHAREDMEM_INFO_OWNER_TRUNCATED 0x2u
#define SHAREDMEM_INFO_PERMISSIONS_TRUNCATED 0x4u

/* What sharedmem_inspect and sharedmem_list report about one object. Fields
 * the object class does not give are 0 (numbers) or empty (strings).
 *
 * Extensible: struct_size comes first, and fields are only ever appended.
 * The numbers come first and the text arrays last, so that no number's
 * offset depends on a text limit; the arrays' sizes are fixed for this ABI
 * (a later version that needs more room appends wider fields instead).
 * Whoever fills a sharedmem_info fills min(its own size, struct_size)
 * bytes of it: the caller of sharedmem_inspect sets struct_size to the size
 * it was compiled with (initialise it with SHAREDMEM_INFO_INIT), and the
 * library fills no more than that, nor more than it knows, leaving the rest
 * as the caller set it. sharedmem_list's callback gets the library's own
 * struct_size: copy min(sizeof(sharedmem_info), info->struct_size) bytes,
 * never sizeof alone. */
typedef struct sharedmem_info {
  uint32_t struct_size;
  uint32_t object_class; /* sharedmem_object_class */
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
  /* SHAREDMEM_INFO_*_TRUNCATED bits: the text fields that were cut. */
  uint32_t truncated;
  /* The segment name (never cut: names are at most SHAREDMEM_MAX_NAME_LENGTH). */
  char name[SHAREDMEM_MAX_NAME_LENGTH + 1];
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

/* An initialiser for a sharedmem_info of this header's size, all else zero,
 * warning-free in C and C++:
 *   sharedmem_info info = SHAREDMEM_INFO_INIT;
 *   sharedmem_inspect("frames", 0, &info); */
#define SHAREDMEM_INFO_INIT                                                 \
  {                                                                         \
    (uint32_t)sizeof(sharedmem_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0}, {0}, \
        {0}, {0}                                                            \
  }

/* Inspects the object under segment name `name`. `flags`:
 * SHAREDMEM_SCOPE_GLOBAL or 0, and SHAREDMEM_SHARED to look in the shared
 * namespace. `info->struct_size` must be set by the caller
 * (at least the size of this first version of the struct, 1.0's). Returns
 * SHAREDMEM_OK and fills *info for anything under the name, whatever its
 * class; SHAREDMEM_E_NOT_FOUND when nothing is there (info then holds only
 * the name and the OS name); SHAREDMEM_E_INVALID_NAME, _INVALID_ARGUMENT
 * (a null pointer, an unknown flag, a struct_size too small), or an OS
 * error. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_inspect(const char* name,
                                                                  uint32_t flags,
                                                                  sharedmem_info* info);

/* sharedmem_list's callback: return 0 to go on, anything else to stop.
 * `info` is the library's (its struct_size may differ from the caller's
 * sizeof: see sharedmem_info) and valid during the call only. The callback
 * runs on the thread that called sharedmem_list, inside it; it may call any
 * function of this library except sharedmem_list, and must return normally:
 * no C++ exception, longjmp or other unwinding may cross the library (catch
 * them inside the callback, store what happened in `context`, and return
 * nonzero to stop). */
typedef int(SHAREDMEM_CALL* sharedmem_list_callback)(const sharedmem_info* info,
                                                      void* context);

/* Calls `callback` once per object of the naming scheme in scope (with
 * SHAREDMEM_SHARED, of the shared namespace; otherwise the
 * current user's on Linux; the session's, or with SHAREDMEM_SCOPE_GLOBAL the
 * machine's, on Windows), in no particular order, with what
 * sharedmem_inspect would report (objects that vanish meanwhile are
 * skipped; names outside the segment name alphabet are not listed). Returns
 * SHAREDMEM_OK (also when the callback stopped early),
 * SHAREDMEM_E_INVALID_ARGUMENT, or an OS error when the namespace cannot be
 * read. */
SHAREDMEM_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_list(uint32_t flags,
                                                               sharedmem_list_callback callback,
                                                               void* context);

/* The operating system's error code (errno on Linux, GetLastError on
 * Windows) behind the last call on this thread that failed, or 0 when that
 * failure had no OS error behind it (a bad argument, a conflict, an object
 * refused as not ours...). Calls that succeed leave it as it is. */
SHAREDMEM_EXPORT int SHAREDMEM_CALL sharedmem_last_system_error(void);

/* What the last sharedmem_open, sharedmem_open_shared or sharedmem_inspect
 * on this thread found out beyond its code, for people: the principal that
 * was unknown, why an object was refused ("owned by uid 1001, not a listed
 * creator"), or which header field makes an object SHAREDMEM_E_INCOMPATIBLE
 * (an open's code, or an inspection's SHAREDMEM_OBJECT_INCOMPATIBLE). Empty
 * ("") when there is nothing more to say. Never null; the text is the
 * thread's, valid until its next open or inspection. */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_last_error_detail(void);

/* The version of the library this process runs with, as
 * SHAREDMEM_VERSION_HEX: (major << 16) | (minor << 8) | patch. A program
 * compiled against headers of version X runs with any library of the same
 * major version and a minor version at least X's. Not to be confused with
 * sharedmem_version, a segment's count of writes. */
SHAREDMEM_EXPORT unsigned SHAREDMEM_CALL sharedmem_library_version(void);

/* The same version as a static string, "major.minor.patch" (never null). */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_library_version_string(void);

/* Names the platform backend in use: "posix" or "windows". */
SHAREDMEM_EXPORT const char* SHAREDMEM_CALL sharedmem_backend(void);

#ifdef __cplusplus
}
#endif

#endif /* SHAREDMEM_SHAREDMEM_H */
