// SPDX-License-Identifier: MIT
// Fork handling: a child forked without exec gets a share of every
// attachment's lifetime of its own, never the parent's.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>

#include "attachment_linux.hpp"

namespace sharedmem::platform::posix {
namespace {

// Established attachments, so that a child forked without exec becomes a
// user in its own right: before fork, each gets a new open file description
// of its object holding a shared user lock; the child swaps it in for the
// description it shares with the parent (so neither's detach can release the
// other's share), the parent closes its copy. Near the descriptor limit some
// get none before the fork; the child, which frees one descriptor per swap,
// then makes its own one at a time, and where even that fails keeps the
// shared one (Attachment::lent): never a silent loss of its share.
std::mutex g_registry_mutex;
Attachment* g_registry = nullptr;
std::once_flag g_fork_handlers_once;

// A new open file description of the object behind our descriptor `fd`,
// holding a shared user lock; -1 if none can be had, errno saying why.
// Async-signal-safe (a fork child of a threaded process may call nothing
// else).
int reopen_with_user_lock(int fd) noexcept {
  char path[32] = "/proc/self/fd/";
  char digits[16];
  int length = 0;
  for (unsigned value = static_cast<unsigned>(fd); length == 0 || value != 0; value /= 10)
    digits[length++] = static_cast<char>('0' + value % 10);
  std::size_t at = sizeof "/proc/self/fd/" - 1;
  while (length > 0) path[at++] = digits[--length];
  path[at] = '\0';
  // The same access as ours (a read-only attachment gets no write access).
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  // The /proc link names our own descriptor: following it is the point.
  const int fresh = ::open(path, (flags & O_ACCMODE) | O_CLOEXEC);
  if (fresh < 0) return -1;
  // We hold a shared lock on the user byte, so nobody holds it exclusively.
  if (const int error = ofd_lock(fresh, kUserByte, F_RDLCK); error != 0) {
    ::close(fresh);
    errno = error;
    return -1;
  }
  return fresh;
}

// In a forked child whose attachment `a` now has a description of its own
// (on a.fd()): maps the object's pages through it, at the same address. The
// mapping inherited from the parent refers to the description it was made
// from, the parent's, and keeps it open while the child lives: with it the
// parent's locks, so that a parent killed while holding the writer lock
// (its owner slot's token) or its share would not be seen dead until the
// child exits. The new mapping is made elsewhere, then moved over the old
// one. The kernel may fail that move (out of memory) after it unmapped the
// old one: then the pages are mapped at the address again, through either
// description, so that the handle's pointers never lead nowhere. False
// when the inherited mapping stays. Async-signal-safe (system calls only).
bool map_through_own_description(Attachment& a) noexcept {
  if (a.base == nullptr || a.mapped == 0) return true;
  const int protection = a.read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  void* fresh = ::mmap(nullptr, a.mapped, protection, MAP_SHARED, a.fd(), 0);
  if (fresh == MAP_FAILED) return false;
  if (::mremap(fresh, a.mapped, a.mapped, MREMAP_MAYMOVE | MREMAP_FIXED, a.base) != MAP_FAILED)
    return true;
  ::munmap(fresh, a.mapped);
  // msync fails with ENOMEM where pages are not mapped.
  if (::msync(a.base, a.mapped, MS_ASYNC) != 0 && errno == ENOMEM) {
    if (::mmap(a.base, a.mapped, protection, MAP_SHARED | MAP_FIXED, a.fd(), 0) != MAP_FAILED)
      return true;
  }
  return false;
}

// The core's registry of open handles (platform.hpp: handle_registry_mutex).
std::mutex g_handle_registry_mutex;

void fork_prepare() {
  g_handle_registry_mutex.lock();
  g_registry_mutex.lock();
  WriterLock::hold_registry_for_fork();
  for (Attachment* a = g_registry; a != nullptr; a = a->next)
    a->fork_fd = a->joined ? reopen_with_user_lock(a->fd()) : -1;
}

void fork_parent() {
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    if (a->fork_fd >= 0)
      ::close(a->fork_fd);  // the child's copy keeps its lock
    else if (a->joined)
      a->lent = true;  // the child may have only the description we share
    a->fork_fd = -1;
  }
  WriterLock::release_registry_after_fork();
  g_registry_mutex.unlock();
  g_handle_registry_mutex.unlock();
}

void fork_child() {
  // First the prepared descriptions (each swap frees a descriptor) ...
  constexpr int kSwapped = -2;
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    if (a->fork_fd < 0) continue;
    // Atomically closes the child's copy of the parent's description.
    (void)::dup3(a->fork_fd, a->fd(), O_CLOEXEC);  // dup2 would clear FD_CLOEXEC
    ::close(a->fork_fd);
    a->fork_fd = kSwapped;
    a->lent = false;
  }
  // ... then the rest, one at a time; while the shared description still
  // holds its lock, no peer can find itself the last user meanwhile.
  for (Attachment* a = g_registry; a != nullptr; a = a->next) {
    const bool swapped = a->fork_fd == kSwapped;
    a->fork_fd = -1;
    bool own_description = swapped;
    int why_shared = EBADF;  // errno of the failed reopen (none: a handle being closed)
    if (a->joined && !swapped) {
      const int fresh = reopen_with_user_lock(a->fd());
      if (fresh < 0) {
        why_shared = errno;
        a->lent = true;  // keeps the description it shares with the parent
      } else {
        (void)::dup3(fresh, a->fd(), O_CLOEXEC);
        ::close(fresh);
        a->lent = false;
        own_description = true;
      }
    }
    // Where that fails (the mapping limit), the inherited mapping keeps the
    // parent's description: the parent's death is seen once the child exits.
    if (own_description) (void)map_through_own_description(*a);
    // The forking thread's hold on the writer lock stays the parent's; an
    // attachment that still shares the parent's description may not claim an
    // owner slot, whose liveness token would be the parent's lock too.
    a->writer_owner.forget_after_fork();
    a->writer_owner.set_shares_parents_description(own_description ? 0 : why_shared);
  }
  WriterLock::release_registry_after_fork();
  g_registry_mutex.unlock();
  g_handle_registry_mutex.unlock();
}

}  // namespace

}  // namespace sharedmem::platform::posix

namespace sharedmem::platform {
std::mutex& handle_registry_mutex() noexcept { return posix::g_handle_registry_mutex; }
}  // namespace sharedmem::platform

namespace sharedmem::platform::posix {

sharedmem_error register_attachment(Attachment& attachment) noexcept {
  try {
    std::call_once(g_fork_handlers_once,
                   [] { ::pthread_atfork(fork_prepare, fork_parent, fork_child); });
    const std::lock_guard<std::mutex> lock(g_registry_mutex);
    if (attachment.registered) return SHAREDMEM_OK;
    attachment.next = g_registry;
    if (g_registry) g_registry->previous = &attachment;
    g_registry = &attachment;
    attachment.registered = true;
  } catch (...) {  // std::system_error from std::call_once or the mutex
    return SHAREDMEM_E_SYSTEM;
  }
  return SHAREDMEM_OK;
}

// Safe to call for an attachment that was never registered.
void unregister_attachment(Attachment& attachment) noexcept {
  const std::lock_guard<std::mutex> lock(g_registry_mutex);
  if (!attachment.registered) return;
  if (attachment.previous) attachment.previous->next = attachment.next;
  if (attachment.next) attachment.next->previous = attachment.previous;
  if (g_registry == &attachment) g_registry = attachment.next;
  attachment.previous = attachment.next = nullptr;
  attachment.registered = false;
}

}  // namespace sharedmem::platform::posix
