// SPDX-License-Identifier: MIT
// The Windows side of the writer lock (writer_lock_windows.hpp): sleeps on
// the segment's #writer event, owner slots' tokens as named events, and the
// thread-exit hook as a fiber-local-storage callback.
//
// #writer is an auto-reset event: a release that finds the waiters bit sets
// it, and it wakes exactly one sleeper, or stays set until the next one
// looks; so a release between a sleeper's look at the word and its wait is
// never lost, and a release never wakes every sleeper. A stale setting (its
// sleeper had woken by its slice's end) costs one early wake-up. Sleeps are
// sliced by the shared lock (writer_lock.cpp), so a holder killed with
// TerminateProcess, which sets nothing, is noticed within a slice.
#include "writer_lock_windows.hpp"

#include <string>

#include "os_error.hpp"

namespace sharedmem::platform {
namespace {

// Frees the locks of a thread that ends while holding them (an in-place
// write or a raw lock kept across calls): the next locker gets them as
// "owner died", as if the thread's process had died. The FLS value is the
// thread's identity, set by arm_thread_exit_hook; the system calls this with
// it when the thread ends (and, for every thread still armed, at FlsFree).
void NTAPI on_thread_exit(void* armed) {
  if (armed != nullptr) WriterLock::abandon_all(reinterpret_cast<std::uintptr_t>(armed));
}

// Allocated when the library is loaded (nothing is initialised on first use
// on the writer's path), freed when it is unloaded, so that no callback
// outlives the code.
const DWORD g_exit_hook = ::FlsAlloc(on_thread_exit);
struct ExitHookRelease {
  ~ExitHookRelease() {
    if (g_exit_hook != FLS_OUT_OF_INDEXES) ::FlsFree(g_exit_hook);
  }
} g_exit_hook_release;

// What to wait for a `timeout`: rounded up to whole milliseconds, so that a
// slice never ends before its time (a sliced locker would spin).
DWORD wait_ms(std::chrono::nanoseconds timeout) noexcept {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  return ms <= 0 ? 0 : ms >= INFINITE ? INFINITE - 1 : static_cast<DWORD>(ms);
}

}  // namespace

std::uintptr_t current_thread() noexcept { return ::GetCurrentThreadId(); }

void arm_thread_exit_hook() noexcept {
  if (g_exit_hook != FLS_OUT_OF_INDEXES)
    (void)::FlsSetValue(g_exit_hook, reinterpret_cast<void*>(current_thread()));
}

namespace windows {

void WriterLockOwner::bind(HANDLE wake, const std::wstring& object_name,
                           SECURITY_ATTRIBUTES* security) noexcept {
  try {
    slot_prefix_ = object_name + L"#slot.";
  } catch (...) {  // std::bad_alloc: unbound, locking fails
    return;
  }
  wake_ = wake;
  security_ = security;
  // The section's name identifies the object: while a handle is open, the
  // name leads to the same section (FNV-1a over its UTF-16 units, and its length).
  std::uint64_t hash = 0xcbf2'9ce4'8422'2325ull;
  for (const wchar_t unit : object_name) {
    hash ^= static_cast<std::uint16_t>(unit);
    hash *= 0x100'0000'01b3ull;
  }
  WriterLock::bind(*this, ObjectIdentity{hash, object_name.size()});
}

void WriterLockOwner::close_token() noexcept {
  if (claimed_ != nullptr) ::CloseHandle(claimed_);
  claimed_ = nullptr;
}

bool WriterLockOwner::sleep(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            std::chrono::nanoseconds timeout) noexcept {
  if (word.load(std::memory_order_relaxed) != expected) return false;
  switch (::WaitForSingleObject(wake_, wait_ms(timeout))) {
    case WAIT_OBJECT_0:
      return false;
    case WAIT_TIMEOUT:
      return true;
    default:  // the handle is unusable: the slice ends as if slept out
      ::Sleep(wait_ms(timeout));
      return true;
  }
}

void WriterLockOwner::wake_one(std::atomic<std::uint32_t>&) noexcept { ::SetEvent(wake_); }

// Creates the slot's event only if no object has its name: an existing one
// (ERROR_ALREADY_EXISTS: a live attachment's token) or one that refuses us
// (ERROR_ACCESS_DENIED: another user's; ERROR_INVALID_HANDLE: a squatter of
// another type) is a slot in use.
WriterLockOs::Token WriterLockOwner::take_token(std::uint32_t slot) noexcept {
  if (wake_ == nullptr) return Token::kError;
  HANDLE& into = claimed_ == nullptr ? claimed_ : probe_;
  if (&into == &probe_ && probe_ != nullptr) return Token::kInUse;  // never two probes
  std::wstring name;
  try {
    name = slot_prefix_ + std::to_wstring(slot);
  } catch (...) {  // std::bad_alloc
    (void)record_os_error(SHAREDMEM_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
    return Token::kError;
  }
  HANDLE token = ::CreateEventExW(security_, name.c_str(), 0, SYNCHRONIZE);
  const DWORD error = ::GetLastError();
  if (token != nullptr && error == ERROR_ALREADY_EXISTS) {
    ::CloseHandle(token);
    return Token::kInUse;
  }
  if (token == nullptr) {
    if (error == ERROR_ALREADY_EXISTS || error == ERROR_ACCESS_DENIED ||
        error == ERROR_INVALID_HANDLE)
      return Token::kInUse;
    (void)record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(error));
    return Token::kError;
  }
  into = token;
  if (&into == &probe_) probe_slot_ = slot;
  return Token::kTaken;
}

void WriterLockOwner::drop_token(std::uint32_t slot) noexcept {
  if (probe_ == nullptr || probe_slot_ != slot) return;
  ::CloseHandle(probe_);
  probe_ = nullptr;
}

void WriterLockOwner::note_no_free_slot() noexcept {
  (void)record_os_error(SHAREDMEM_E_SYSTEM, ERROR_ALREADY_EXISTS);
}

}  // namespace windows
}  // namespace sharedmem::platform
