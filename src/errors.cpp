// SPDX-License-Identifier: MIT
// Error messages and backend identification for the public C API.
#include "platform.hpp"
#include "sharedmem/sharedmem.h"

extern "C" const char* SHAREDMEM_CALL sharedmem_strerror(sharedmem_error error) {
  switch (error) {
    case SHAREDMEM_OK:
      return "success";
    case SHAREDMEM_E_INVALID_ARGUMENT:
      return "invalid argument: a required pointer is null, a flag is unknown, or the call does "
             "not apply: a value call (read, write) on a raw segment or a raw call (data, lock, "
             "notify) on a value segment, or an unlock by a thread that does not hold the lock";
    case SHAREDMEM_E_INVALID_NAME:
      return "invalid segment name: use 1 to 128 characters from A-Z a-z 0-9 . _ - "
             "not starting with '.'";
    case SHAREDMEM_E_INVALID_SIZE:
      return "invalid segment capacity: it must be at least 1 byte and small enough "
             "for this system to map twice over";
    case SHAREDMEM_E_VALUE_TOO_LARGE:
      return "value too large: it exceeds the segment's capacity; the segment is unchanged";
    case SHAREDMEM_E_SIZE_MISMATCH:
      return "size mismatch: a segment of this name is already open with a different "
             "capacity; open it with that capacity or use another name";
    case SHAREDMEM_E_INCOMPATIBLE:
      return "incompatible object: something of this name exists that is not a sharedmem "
             "segment of this layout version, or is a segment of the other kind (a value "
             "segment opened with SHAREDMEM_RAW, or a raw segment opened without it); it was "
             "left untouched";
    case SHAREDMEM_E_NOT_OWNER:
      return "not owner: an object of this name belongs to another user or is accessible "
             "to other users; it was refused and left untouched";
    case SHAREDMEM_E_ACCESS_DENIED:
      return "access denied by the operating system";
    case SHAREDMEM_E_NO_MEMORY:
      return "out of shared memory: the system cannot back a segment of this size, even after "
             "removing dead objects (on Linux, check the free space of /dev/shm and memory "
             "cgroup limits; on Windows, the commit limit)";
    case SHAREDMEM_E_TIMEOUT:
      return "timed out: another process held the segment's lock for too long, or writers "
             "never paused long enough for a consistent read";
    case SHAREDMEM_E_UNSUPPORTED:
      return "not supported on this platform";
    case SHAREDMEM_E_SYSTEM:
      return "operating system error: a system call failed (sharedmem_last_system_error gives "
             "its code; EMFILE on Linux: out of file descriptors, raise ulimit -n)";
    case SHAREDMEM_E_EXISTS:
      return "already exists: a live process holds a segment of this name, and the open asked "
             "to create it (SHAREDMEM_CREATE_ONLY); nothing was opened";
    case SHAREDMEM_E_NOT_FOUND:
      return "not found: no live process holds a segment of this name, and the open asked "
             "for an existing one (SHAREDMEM_OPEN_ONLY); nothing was created";
    case SHAREDMEM_E_CONFLICT:
      return "version conflict: another write changed the segment since the expected "
             "version; nothing was written; read it again and retry";
    case SHAREDMEM_E_OWNER_DIED:
      return "owner died: the lock is now yours, but its previous holder died (or its thread "
             "ended) while holding it; the data may be half-updated: check or rebuild it";
    case SHAREDMEM_E_WOULD_DEADLOCK:
      return "would deadlock: this thread already holds this segment's lock (an in-place "
             "write it began is still open: commit or abort it first; a raw segment's lock "
             "taken twice; or a signal handler that interrupted a write); nothing was done";
    case SHAREDMEM_E_CORRUPTED:
      return "corrupted segment: its shared state was overwritten by another process of this "
             "user; nothing was changed; close it, and it starts afresh once every user has "
             "closed it";
    case SHAREDMEM_E_NOT_HELD:
      return "no in-place write held: this thread has no sharedmem_write_begin open on this "
             "handle (never begun, already committed or aborted, or begun by another "
             "thread, which alone can end it); nothing was written";
    case SHAREDMEM_E_REMOVED:
      return "name removed: the segment's name no longer leads to this handle's object (on "
             "Linux it was deleted from /dev/shm, by systemd-logind's RemoveIPC=yes at the "
             "user's last logout or by hand); holders keep the old object, newcomers get a new "
             "one: close and reopen, and see docs/lifetime.md (RemoveIPC=no, a system user, "
             "loginctl enable-linger)";
    case SHAREDMEM_E_RESERVED_MAX:
      break;
    case SHAREDMEM_E_NOT_ATTACHED:
      return "detached: the library is being unloaded or the process is exiting (the default "
             "segment is gone, and no segment can be opened any more)";
  }
  return "unknown sharedmem error code";
}

extern "C" const char* SHAREDMEM_CALL sharedmem_backend(void) {
  return sharedmem::platform::backend_name();
}
