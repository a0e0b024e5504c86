// SPDX-License-Identifier: MIT
// The seam's writer-lock functions: the library's own lock
// (writer_lock_linux.hpp) on the words at the end of the object. Each is one
// function down to the words when the lock is uncontended (writer_lock.hpp).
#include "attachment_linux.hpp"

namespace sharedmem::platform {

using posix::kLockBytes;

LockResult lock_writer(Attachment& attachment, Deadline deadline, LockHold hold) noexcept {
  if (attachment.mapped < kLockBytes) return LockResult::kCorrupted;
  return attachment.writer_owner.lock(attachment.writer(), deadline, hold, posix::this_thread());
}

bool unlock_writer(Attachment& attachment) noexcept {
  return attachment.mapped >= kLockBytes &&
         attachment.writer_owner.unlock(attachment.writer(), posix::this_thread());
}

}  // namespace sharedmem::platform
