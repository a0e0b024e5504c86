// SPDX-License-Identifier: MIT
// Windows implementation of the platform seam: Boost.Interprocess
// windows_shared_memory and mapped_region for the object and its mapping,
// named kernel mutexes for the attach gate and the writer lock.
//
// The seed's lifetime is native here: a page-file-backed section lives while
// some process holds a handle to it or a view of it, and the kernel closes a
// process's handles however it ends (ExitProcess, TerminateProcess, a crash).
// So detaching is just unmapping and closing; nothing is ever removed by hand,
// and the creator of a section is its first user, with memory the kernel
// zero-filled. (Boost's shared_memory_object is a file emulation on Windows
// that outlives its users, which is why it is not used here.)
//
// Every object of a segment is named after it, in the session's namespace
// (Local\) or, when asked, the machine's (Global\):
//   <ns>\sharedmem.<name>         the section
//   <ns>\sharedmem.<name>#gate    mutex: held from begin_attach to end_attach
//   <ns>\sharedmem.<name>#writer  mutex: the writer lock
// '#' is outside the segment name alphabet, so no segment's section can take
// the name of another segment's mutex (all kernel object types share one
// namespace). Objects are created with a security descriptor whose owner is
// the current user and whose protected DACL admits only that user. An object
// found under one of these names that is owned by someone else or open to
// anyone else is refused (SHAREDMEM_E_NOT_OWNER); one of another type is
// refused (SHAREDMEM_E_INCOMPATIBLE); a section of ours with foreign content
// is refused by the core's header check.
//
// Attaching can run from DLL_PROCESS_ATTACH (the default segment), under the
// loader lock: everything here is kernel32/advapi32 calls that load no DLL
// and start no thread, and the only waits are on mutexes of other processes,
// with a timeout. (GetSecurityInfo is avoided for that reason: it loads
// ntmarta.dll on demand; GetKernelObjectSecurity does not.)
#include <windows.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/windows_shared_memory.hpp>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "fault_injection.hpp"
#include "platform.hpp"

namespace bip = boost::interprocess;

namespace sharedmem::platform {
namespace {

// How long attaching waits for a live peer holding the gate.
constexpr DWORD kGateTimeoutMs = 10'000;
// How many times attaching goes back to creating a section that vanished
// between "it already exists" and opening it (see begin_attach).
constexpr int kVanishedRetries = 100;
constexpr DWORD kMutexAccess = SYNCHRONIZE | MUTEX_MODIFY_STATE | READ_CONTROL;

sharedmem_error from_win32(DWORD error) {
  switch (error) {
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return SHAREDMEM_E_ACCESS_DENIED;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_DISK_FULL:
      return SHAREDMEM_E_NO_MEMORY;
    case ERROR_INVALID_HANDLE:  // the name belongs to an object of another type
      return SHAREDMEM_E_INCOMPATIBLE;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_FILENAME_EXCED_RANGE:
      return SHAREDMEM_E_INVALID_NAME;
    default:
      return SHAREDMEM_E_SYSTEM;
  }
}

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

// The current user's SID and security attributes admitting that user only.
class OwnerOnly {
 public:
  // The rights granted are each type's full access mask; false on failure.
  bool init(DWORD section_rights, DWORD mutex_rights) {
    HANDLE token = nullptr;
    if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) return false;
    DWORD length = 0;
    ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
    bool ok = length != 0;
    if (ok) {
      token_user_.resize(length);
      ok = ::GetTokenInformation(token, TokenUser, token_user_.data(), length, &length) != 0;
    }
    ::CloseHandle(token);
    return ok && section_.init(user(), section_rights) && mutex_.init(user(), mutex_rights);
  }

  PSID user() const {
    return reinterpret_cast<const TOKEN_USER*>(token_user_.data())->User.Sid;
  }
  SECURITY_ATTRIBUTES* section() { return &section_.attributes; }
  SECURITY_ATTRIBUTES* mutex() { return &mutex_.attributes; }

  // True when `object` is owned by the current user and its DACL grants
  // access to nobody else. Needs READ_CONTROL on the handle.
  bool admits_only_user(HANDLE object) const {
    DWORD length = 0;
    const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    ::GetKernelObjectSecurity(object, what, nullptr, 0, &length);
    if (length == 0) return false;
    std::vector<unsigned char> buffer(length);
    auto* descriptor = reinterpret_cast<PSECURITY_DESCRIPTOR>(buffer.data());
    if (!::GetKernelObjectSecurity(object, what, descriptor, length, &length)) return false;
    PSID owner = nullptr;
    BOOL defaulted = FALSE;
    if (!::GetSecurityDescriptorOwner(descriptor, &owner, &defaulted) || owner == nullptr ||
        !::EqualSid(owner, user()))
      return false;
    BOOL present = FALSE;
    PACL dacl = nullptr;
    if (!::GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted) || !present ||
        dacl == nullptr)  // no DACL: open to everyone
      return false;
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
      void* ace = nullptr;
      if (!::GetAce(dacl, i, &ace)) return false;
      const auto* header = static_cast<const ACE_HEADER*>(ace);
      if (header->AceType == ACCESS_DENIED_ACE_TYPE) continue;
      if (header->AceType != ACCESS_ALLOWED_ACE_TYPE) return false;
      auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
      if (!::EqualSid(&allowed->SidStart, user())) return false;
    }
    return true;
  }

 private:
  // Owner: the user; protected DACL: one ACE granting the user `rights`.
  struct Descriptor {
    std::vector<unsigned char> acl;
    SECURITY_DESCRIPTOR descriptor{};
    SECURITY_ATTRIBUTES attributes{};

    bool init(PSID user, DWORD rights) {
      acl.resize(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + ::GetLengthSid(user));
      auto* list = reinterpret_cast<PACL>(acl.data());
      if (!::InitializeAcl(list, static_cast<DWORD>(acl.size()), ACL_REVISION) ||
          !::AddAccessAllowedAce(list, ACL_REVISION, rights, user) ||
          !::InitializeSecurityDescriptor(&descriptor, SECURITY_DESCRIPTOR_REVISION) ||
          !::SetSecurityDescriptorOwner(&descriptor, user, FALSE) ||
          !::SetSecurityDescriptorDacl(&descriptor, TRUE, list, FALSE) ||
          !::SetSecurityDescriptorControl(&descriptor, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
        return false;
      attributes.nLength = sizeof attributes;
      attributes.lpSecurityDescriptor = &descriptor;
      attributes.bInheritHandle = FALSE;
      return true;
    }
  };

  std::vector<unsigned char> token_user_;
  Descriptor section_;
  Descriptor mutex_;
};

// Whether a kernel object of any type exists under `name`: tells "the
// creation was refused" (ACCESS_DENIED) from "the object there refused us"
// (NOT_OWNER) after ERROR_ACCESS_DENIED.
bool name_in_use(const std::wstring& name) {
  HANDLE probe = ::OpenMutexW(SYNCHRONIZE, FALSE, name.c_str());
  const DWORD error = probe ? ERROR_SUCCESS : ::GetLastError();
  if (probe) ::CloseHandle(probe);
  return error != ERROR_FILE_NOT_FOUND;
}

sharedmem_error refused_access(const std::wstring& name) {
  return name_in_use(name) ? SHAREDMEM_E_NOT_OWNER : SHAREDMEM_E_ACCESS_DENIED;
}

// Creates or opens the mutex `name`; refuses one that is not the user's own.
sharedmem_error open_mutex(OwnerOnly& security, const std::wstring& name, HANDLE& out) {
  out = ::CreateMutexExW(security.mutex(), name.c_str(), 0, kMutexAccess);
  if (out == nullptr) {
    const DWORD error = ::GetLastError();
    return error == ERROR_ACCESS_DENIED ? refused_access(name) : from_win32(error);
  }
  if (::GetLastError() == ERROR_ALREADY_EXISTS && !security.admits_only_user(out))
    return SHAREDMEM_E_NOT_OWNER;
  return SHAREDMEM_OK;
}

}  // namespace

struct Attachment {
  bip::windows_shared_memory object;
  bip::mapped_region region;
  HANDLE gate = nullptr;
  HANDLE writer = nullptr;
  bool gate_held = false;
  bool created = false;  // this attachment created the section: zero-filled
  bool joined = false;   // begin_attach succeeded: destruction is a detach

  ~Attachment() {
    if (joined) fault_point("detach_before_unlink");
    // Views and handles go first, so that a first user that fails to
    // initialise destroys its section before the gate lets anyone see it.
    region = bip::mapped_region();
    bip::windows_shared_memory().swap(object);
    if (joined) fault_point("detach_after_unlink");
    if (writer) ::CloseHandle(writer);
    release_gate();
  }

  void release_gate() noexcept {
    if (gate_held) ::ReleaseMutex(gate);
    gate_held = false;
    if (gate) ::CloseHandle(gate);
    gate = nullptr;
  }
};

void AttachmentDeleter::operator()(Attachment* attachment) const noexcept { delete attachment; }

OpenResult begin_attach(const std::string& name, std::size_t size, std::uint32_t flags) {
  OpenResult result;
  try {
    const std::string os_name =
        std::string((flags & SHAREDMEM_SCOPE_GLOBAL) ? "Global\\" : "Local\\") + "sharedmem." +
        name;
    const std::wstring wide_name = widen(os_name);
    OwnerOnly security;
    if (!security.init(SECTION_ALL_ACCESS, MUTEX_ALL_ACCESS)) {
      result.error = SHAREDMEM_E_SYSTEM;
      return result;
    }
    auto attachment = AttachmentPtr(new Attachment);

    result.error = open_mutex(security, wide_name + L"#gate", attachment->gate);
    if (result.error) return result;
    switch (::WaitForSingleObject(attachment->gate, kGateTimeoutMs)) {
      case WAIT_OBJECT_0:
      // Its holder died mid-attach. The kernel abandons a dead thread's
      // mutexes before it closes the process's handles, so the holder's
      // half-initialised section may outlive it briefly (see reset_object).
      case WAIT_ABANDONED:
        attachment->gate_held = true;
        break;
      case WAIT_TIMEOUT:
        result.error = SHAREDMEM_E_TIMEOUT;
        return result;
      default:
        result.error = SHAREDMEM_E_SYSTEM;
        return result;
    }
    fault_point("attach_gate_held");

    result.error = open_mutex(security, wide_name + L"#writer", attachment->writer);
    if (result.error) return result;

    // Under the gate nobody else attaches: the section exists, with live
    // users (or a foreign owner), or we create it. But users detach without
    // the gate (closing a handle cannot wait for one), so the section we find
    // can vanish before we open it; then it is gone for good and we go back
    // to creating it. Each retry means another user left meanwhile, so a
    // bounded number of them only fails if something else is wrong.
    // Windows commits a section's pages when it creates it; refuse what the
    // commit limit cannot hold here rather than rely on every implementation
    // (Wine) to.
    MEMORYSTATUSEX memory{};
    memory.dwLength = sizeof memory;
    const bool too_large = ::GlobalMemoryStatusEx(&memory) && size > memory.ullAvailPageFile;
    for (int attempt = 0;; ++attempt) {
      if (attempt == kVanishedRetries) {
        result.error = SHAREDMEM_E_SYSTEM;
        return result;
      }
      if (too_large && !name_in_use(wide_name)) {
        result.error = SHAREDMEM_E_NO_MEMORY;
        return result;
      }
      if (!too_large) {
        try {
          bip::permissions owner_only(security.section());
          bip::windows_shared_memory created(bip::create_only, os_name.c_str(), bip::read_write,
                                             size, owner_only);
          attachment->object.swap(created);
          attachment->created = true;
          break;
        } catch (const bip::interprocess_exception& e) {
          const DWORD error = static_cast<DWORD>(e.get_native_error());
          if (error == ERROR_ACCESS_DENIED) {
            result.error = refused_access(wide_name);
            return result;
          }
          if (error != ERROR_ALREADY_EXISTS) {
            result.error = from_win32(error);
            return result;
          }
        }
      }
      try {
        bip::windows_shared_memory existing(bip::open_only, os_name.c_str(), bip::read_write);
        attachment->object.swap(existing);
        break;
      } catch (const bip::interprocess_exception& e) {
        const DWORD error = static_cast<DWORD>(e.get_native_error());
        if (error == ERROR_FILE_NOT_FOUND) continue;  // its last user just left
        result.error = error == ERROR_ACCESS_DENIED ? SHAREDMEM_E_NOT_OWNER : from_win32(error);
        return result;
      }
    }

    if (!attachment->created) {
      // Check whose the section is before looking inside. This handle is for
      // the security check only (Boost's handle has no READ_CONTROL); while we
      // hold one, the name keeps naming the same section.
      HANDLE control = ::OpenFileMappingW(READ_CONTROL, FALSE, wide_name.c_str());
      const bool ours = control != nullptr && security.admits_only_user(control);
      if (control) ::CloseHandle(control);
      if (!ours) {
        result.error = SHAREDMEM_E_NOT_OWNER;
        return result;
      }
    }

    // Map the whole section, at its own (page-rounded) size; the core checks
    // an existing one's header before trusting its size.
    bip::mapped_region mapped(attachment->object, bip::read_write);
    attachment->region.swap(mapped);
    result.first = attachment->created;
    attachment->joined = true;
    result.attachment = std::move(attachment);
    return result;
  } catch (const bip::interprocess_exception& e) {
    result.error = from_win32(static_cast<DWORD>(e.get_native_error()));
  } catch (const std::bad_alloc&) {
    result.error = SHAREDMEM_E_NO_MEMORY;
  } catch (...) {
    result.error = SHAREDMEM_E_SYSTEM;
  }
  result.attachment.reset();
  return result;
}

void end_attach(Attachment& attachment) noexcept { attachment.release_gate(); }

// Windows sections are never left behind by dead users, so a first user's
// section is the one it just created, zero-filled by the kernel. But the
// kernel marks a dead thread's mutexes abandoned before it closes the dying
// process's handles, so an attacher that gets the gate as abandoned can find
// the half-initialised section of a creator that died under the gate; the
// core then resets that one (not being first, it did not create it). Either
// way the first `size` bytes end up zero: the kernel's, or zero-filled here.
// A section cannot grow, so a smaller one is refused as not ours to reuse.
sharedmem_error reset_object(Attachment& attachment, std::size_t size) {
  if (attachment.region.get_size() < size) return SHAREDMEM_E_INCOMPATIBLE;
  if (!attachment.created) std::memset(attachment.region.get_address(), 0, size);
  return SHAREDMEM_OK;
}

// The kernel removes a section with its last handle; there is nothing to keep.
void keep_object_on_detach(Attachment&) noexcept {}

void* mapped_base(const Attachment& attachment) noexcept {
  return attachment.region.get_size() ? attachment.region.get_address() : nullptr;
}

std::size_t mapped_size(const Attachment& attachment) noexcept {
  return attachment.region.get_size();
}

// The writer lock is the named mutex opened by begin_attach: kernel mutexes
// are robust by nature (a dead owner's mutex is "abandoned" and the next
// waiter gets it with WAIT_ABANDONED), so the header's lock storage is unused.
sharedmem_error init_writer_lock(Attachment&, void*) noexcept { return SHAREDMEM_OK; }

LockResult lock_writer(Attachment& attachment, void*, std::chrono::milliseconds timeout) noexcept {
  const auto ms = timeout.count();
  const DWORD wait = ms <= 0 ? 0 : ms >= INFINITE ? INFINITE - 1 : static_cast<DWORD>(ms);
  switch (::WaitForSingleObject(attachment.writer, wait)) {
    case WAIT_OBJECT_0:
      return LockResult::kAcquired;
    case WAIT_ABANDONED:
      return LockResult::kOwnerDied;
    case WAIT_TIMEOUT:
      return LockResult::kTimeout;
    default:
      return LockResult::kError;
  }
}

// Mutexes belong to the thread that took them: the core unlocks on the
// locking thread, in the same call.
void unlock_writer(Attachment& attachment, void*) noexcept { ::ReleaseMutex(attachment.writer); }

std::uint64_t max_object_size() noexcept {
  // A view needs contiguous address space: 1 TiB on 64-bit, as on POSIX;
  // 1 GiB of a 32-bit process's 2 GiB.
  return sizeof(void*) >= 8 ? std::uint64_t{1} << 40 : std::uint64_t{1} << 30;
}

const char* backend_name() noexcept { return "windows"; }

}  // namespace sharedmem::platform
