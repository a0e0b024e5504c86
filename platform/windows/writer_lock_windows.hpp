// SPDX-License-Identifier: MIT
// The Windows writer lock (platform.hpp: lock_writer, unlock_writer): the
// shared lock of platform/writer_lock.hpp with the segment's auto-reset
// event <ns>\sharedmem.<name>#writer to sleep on, and a named event per
// attachment, <ns>\sharedmem.<name>#slot.<n>, as its owner slot's liveness
// token: the kernel destroys a named object with its last handle, and it
// closes a process's handles however the process ends, so the name is free
// again exactly when no live attachment holds the slot.
#ifndef SHAREDMEM_PLATFORM_WINDOWS_WRITER_LOCK_WINDOWS_HPP
#define SHAREDMEM_PLATFORM_WINDOWS_WRITER_LOCK_WINDOWS_HPP

#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "lock_word.hpp"
#include "platform.hpp"
#include "writer_lock.hpp"

namespace sharedmem::platform::windows {

// One attachment's side of the writer lock, process-local (WriterLock: lock,
// unlock, held, initialise). It must not move while it exists (the
// thread-exit and re-entry checks find it by address).
class WriterLockOwner final : public WriterLock, private WriterLockOs {
 public:
  // Binds to the segment's #writer event `wake` (auto-reset, which must stay
  // open while this exists) and the names of its objects, `object_name`
  // (the section's name: "#slot.<n>" is added to it), whose slot events
  // are created with `security` (owner-only: OwnerOnly::owner_slot). Before
  // this, locking fails.
  void bind(HANDLE wake, const std::wstring& object_name, SECURITY_ATTRIBUTES* security) noexcept;

  // Closes the slot's token: the slot is free for others. Only when no
  // thread of this process can use the lock any more.
  void close_token() noexcept;

 private:
  bool sleep(std::atomic<std::uint32_t>& word, std::uint32_t expected,
             std::chrono::nanoseconds timeout) noexcept override;
  void wake_one(std::atomic<std::uint32_t>& word) noexcept override;
  Token take_token(std::uint32_t slot) noexcept override;
  void drop_token(std::uint32_t slot) noexcept override;
  void note_no_free_slot() noexcept override;

  HANDLE wake_ = nullptr;
  std::wstring slot_prefix_;  // "<section name>#slot."
  SECURITY_ATTRIBUTES* security_ = nullptr;
  // The claimed slot's token, and one taken for the moment to look at a
  // holder's slot (WriterLock's [L7]).
  HANDLE claimed_ = nullptr;
  HANDLE probe_ = nullptr;
  std::uint32_t probe_slot_ = 0;
};

}  // namespace sharedmem::platform::windows

#endif  // SHAREDMEM_PLATFORM_WINDOWS_WRITER_LOCK_WINDOWS_HPP
