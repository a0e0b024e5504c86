// SPDX-License-Identifier: MIT
// Windows inspection: facts about the kernel objects named
// <ns>\sharedmem.<name>, from outside their users.
//
// A section lives while some handle holds it, so an inspector's handle does
// keep a section alive for the length of the call. To keep that from
// mattering, inspection holds the segment's attach gate (#gate) while it has
// the section open, as every attacher does before it opens the section: a
// process that opens the name meanwhile waits, and then finds the section
// gone if its last user left during the inspection, as it would have without
// it. (A gate found abandoned, a creator that died mid-attach, is taken as
// such and released normally: the next attacher finds no live user behind
// it either way, since inspection closes the section before the gate.)
// The section is mapped read-only; a section never shrinks, so reading its
// view cannot fault. That a user lives is the #ready event's existence
// (every user that completed its attach holds it); how many there are, the
// OS does not tell: holders are unknown. Windows leaves no dead segments
// behind (a section goes with its last handle), so none is reported dead.
//
// Listing reads the session's object directory (\Sessions\<id>\BaseNamedObjects,
// or \BaseNamedObjects for Global\ and session 0) with NtOpenDirectoryObject
// and NtQueryDirectoryObject, documented in the WDK and exported by ntdll
// but not by any import library of the SDK: they are looked up in ntdll at
// run time (ntdll is always loaded, so this loads nothing).
#include <windows.h>
#include <sddl.h>
#include <winternl.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "os_error.hpp"
#include "owner_only_windows.hpp"
#include "platform.hpp"

namespace sharedmem::platform {

struct Inspection {
  HANDLE section = nullptr;
  const unsigned char* view = nullptr;
  std::size_t view_size = 0;
  ~Inspection() {
    if (view != nullptr) ::UnmapViewOfFile(view);
    if (section != nullptr) ::CloseHandle(section);
  }
};

void InspectionDeleter::operator()(Inspection* inspection) const noexcept { delete inspection; }

namespace {

// How long inspection waits for a process that is attaching (holds #gate).
constexpr DWORD kGateWaitMs = 1'000;
constexpr DWORD kMutexAccess = SYNCHRONIZE | MUTEX_MODIFY_STATE | READ_CONTROL;

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

// Names in the object namespace are UTF-16; segment names are ASCII. A
// character outside ASCII becomes '?', which no segment name has.
std::string narrow(const wchar_t* text, std::size_t length) {
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i)
    out.push_back(text[i] > 0 && text[i] < 128 ? static_cast<char>(text[i]) : '?');
  return out;
}
std::string narrow(const wchar_t* text) { return narrow(text, ::wcslen(text)); }

// The owner (a SID string) and the DACL (SDDL) of `object`, which needs
// READ_CONTROL; owned_by_user from the owner SID.
void describe_security(HANDLE object, const windows::OwnerOnly& security, ObjectFacts& facts) {
  DWORD length = 0;
  const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  ::GetKernelObjectSecurity(object, what, nullptr, 0, &length);
  if (length == 0) return;
  std::vector<unsigned char> buffer(length);
  auto* descriptor = reinterpret_cast<PSECURITY_DESCRIPTOR>(buffer.data());
  if (!::GetKernelObjectSecurity(object, what, descriptor, length, &length)) return;
  PSID owner = nullptr;
  BOOL defaulted = FALSE;
  if (::GetSecurityDescriptorOwner(descriptor, &owner, &defaulted) && owner != nullptr) {
    facts.owned_by_user = ::EqualSid(owner, security.user()) != 0;
    LPWSTR text = nullptr;
    if (::ConvertSidToStringSidW(owner, &text)) {
      facts.owner = narrow(text);
      ::LocalFree(text);
    }
  }
  LPWSTR sddl = nullptr;
  if (::ConvertSecurityDescriptorToStringSecurityDescriptorW(
          descriptor, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &sddl, nullptr)) {
    facts.permissions = narrow(sddl);
    ::LocalFree(sddl);
  }
}

// For a name that holds an object of another type: its owner, where it can
// be opened to ask (a mutex, an event or a semaphore); otherwise the owner
// stays unknown and the object counts as the user's, so that it is called
// foreign, as an open calls it (SHAREDMEM_E_INCOMPATIBLE).
void describe_other_type(const std::wstring& name, const windows::OwnerOnly& security,
                         ObjectFacts& facts) {
  facts.owned_by_user = true;
  HANDLE object = ::OpenMutexW(READ_CONTROL, FALSE, name.c_str());
  if (object == nullptr) object = ::OpenEventW(READ_CONTROL, FALSE, name.c_str());
  if (object == nullptr) object = ::OpenSemaphoreW(READ_CONTROL, FALSE, name.c_str());
  if (object == nullptr) return;
  describe_security(object, security, facts);
  ::CloseHandle(object);
}

// Whether `object`'s DACL is present and grants nothing to Everyone: what
// inspection asks of a shared object before it trusts it as "not open to
// anyone" (it has no access list to check it against exactly).
bool explicit_dacl(HANDLE object) {
  DWORD length = 0;
  ::GetKernelObjectSecurity(object, DACL_SECURITY_INFORMATION, nullptr, 0, &length);
  if (length == 0) return false;
  std::vector<unsigned char> buffer(length);
  auto* descriptor = reinterpret_cast<PSECURITY_DESCRIPTOR>(buffer.data());
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  if (!::GetKernelObjectSecurity(object, DACL_SECURITY_INFORMATION, descriptor, length, &length) ||
      !::GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted) || !present ||
      dacl == nullptr)
    return false;
  SID_IDENTIFIER_AUTHORITY world_authority = SECURITY_WORLD_SID_AUTHORITY;
  unsigned char world[SECURITY_MAX_SID_SIZE] = {};
  if (!::InitializeSid(world, &world_authority, 1)) return false;
  *::GetSidSubAuthority(world, 0) = SECURITY_WORLD_RID;
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!::GetAce(dacl, i, &ace)) return false;
    const auto* header = static_cast<const ACE_HEADER*>(ace);
    if (header->AceType == ACCESS_DENIED_ACE_TYPE) continue;
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE ||
        ::EqualSid(&static_cast<ACCESS_ALLOWED_ACE*>(ace)->SidStart, world))
      return false;
  }
  return true;
}

// The attach gate, taken for the inspection when it can be (see above).
class GateHold {
 public:
  // A shared segment's gate is only opened, never created: inspection has
  // no access list to give a new one, and takes no gate it cannot trust
  // (one it may not use, a reader's, is left alone).
  GateHold(windows::OwnerOnly& security, const std::wstring& name, bool shared) {
    if (shared) {
      gate_ = ::OpenMutexW(SYNCHRONIZE | READ_CONTROL, FALSE, name.c_str());
      if (gate_ == nullptr) return;
      if (!explicit_dacl(gate_)) return;
    } else {
      gate_ = ::CreateMutexExW(security.mutex(), name.c_str(), 0, kMutexAccess);
      if (gate_ == nullptr) return;
      if (::GetLastError() == ERROR_ALREADY_EXISTS && !security.admits_only_user(gate_)) return;
    }
    const DWORD waited = ::WaitForSingleObject(gate_, kGateWaitMs);
    held_ = waited == WAIT_OBJECT_0 || waited == WAIT_ABANDONED;
  }
  ~GateHold() {
    if (held_) ::ReleaseMutex(gate_);
    if (gate_ != nullptr) ::CloseHandle(gate_);
  }
  GateHold(const GateHold&) = delete;
  GateHold& operator=(const GateHold&) = delete;

 private:
  HANDLE gate_ = nullptr;
  bool held_ = false;
};

// The Native API calls listing needs, from ntdll.
using NtOpenDirectoryObjectFn = LONG(NTAPI*)(HANDLE*, ACCESS_MASK, OBJECT_ATTRIBUTES*);
using NtQueryDirectoryObjectFn = LONG(NTAPI*)(HANDLE, void*, ULONG, BOOLEAN, BOOLEAN, ULONG*,
                                              ULONG*);
constexpr ACCESS_MASK kDirectoryQuery = 0x0001;
constexpr LONG kStatusMoreEntries = 0x00000105;
constexpr LONG kStatusNoMoreEntries = static_cast<LONG>(0x8000001A);
constexpr LONG kStatusBufferTooSmall = static_cast<LONG>(0xC0000023);

struct DirectoryEntry {  // OBJECT_DIRECTORY_INFORMATION
  UNICODE_STRING name;
  UNICODE_STRING type_name;
};

// The object directory of the session (or the global one).
std::wstring directory_of(bool global_scope) {
  DWORD session = 0;
  if (global_scope || !::ProcessIdToSessionId(::GetCurrentProcessId(), &session) || session == 0)
    return L"\\BaseNamedObjects";
  return L"\\Sessions\\" + std::to_wstring(session) + L"\\BaseNamedObjects";
}

}  // namespace

InspectResult inspect_object(const std::string& name, Namespace space) {
  const bool global_scope = is_global(space);
  const bool shared = is_shared(space);
  InspectResult result;
  try {
    result.facts.os_name = std::string(global_scope ? "Global\\" : "Local\\") +
                           (shared ? "sharedmem#shared." : "sharedmem.") + name;
    const std::wstring wide_name = widen(result.facts.os_name);
    windows::OwnerOnly security;
    if (!security.init(SECTION_ALL_ACCESS, MUTEX_ALL_ACCESS, EVENT_ALL_ACCESS)) {
      result.error = record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
      return result;
    }
    const GateHold gate(security, wide_name + L"#gate", shared);
    auto inspection = InspectionPtr(new Inspection);
    inspection->section = ::OpenFileMappingW(FILE_MAP_READ | READ_CONTROL, FALSE, wide_name.c_str());
    if (inspection->section == nullptr) {
      const DWORD error = ::GetLastError();
      if (error == ERROR_FILE_NOT_FOUND) {
        result.status = InspectStatus::kAbsent;
      } else if (error == ERROR_INVALID_HANDLE) {  // another type of object has the name
        result.status = InspectStatus::kFound;
        describe_other_type(wide_name, security, result.facts);
      } else if (error == ERROR_ACCESS_DENIED) {  // a section that is not ours to read
        result.status = InspectStatus::kFound;
        result.facts.shared_memory = true;
      } else {
        result.error = record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(error));
      }
      return result;
    }
    result.status = InspectStatus::kFound;
    ObjectFacts& facts = result.facts;
    facts.shared_memory = true;
    describe_security(inspection->section, security, facts);
    if (shared) {
      // Without the access list, a shared object is taken as the user's to
      // read when the user owns it or its DACL let the user open it for
      // reading (as here), and as closed to others when its DACL is explicit
      // and grants nothing to Everyone (the rest is the open's to check).
      facts.owned_by_user = true;
      facts.private_to_user = explicit_dacl(inspection->section);
    } else {
      facts.private_to_user = security.admits_only_user(inspection->section);
    }
    if (!facts.owned_by_user || !facts.private_to_user) return result;

    // A section without #ready has no live completed user, but it is no
    // leftover that the next open would reset either (only a creator that
    // died holding the gate leaves one of those, and its section goes with
    // its handles): it is being closed, or kept by handles that are no
    // users. Its liveness is left unknown rather than called dead.
    HANDLE ready = ::OpenEventW(SYNCHRONIZE, FALSE, (wide_name + L"#ready").c_str());
    if (ready != nullptr) {
      ::CloseHandle(ready);
      facts.liveness = Liveness::kLive;
    }

    // The whole section, read-only; its view's size is the section's, in pages.
    const void* view = ::MapViewOfFile(inspection->section, FILE_MAP_READ, 0, 0, 0);
    if (view == nullptr) return result;  // unreadable: no inspection
    inspection->view = static_cast<const unsigned char*>(view);
    MEMORY_BASIC_INFORMATION region{};
    if (::VirtualQuery(view, &region, sizeof region) == 0) return result;
    inspection->view_size = region.RegionSize;
    facts.size = region.RegionSize;
    result.inspection = std::move(inspection);
  } catch (const std::bad_alloc&) {
    result = InspectResult{};
    result.error = SHAREDMEM_E_NO_MEMORY;
  }
  return result;
}

std::size_t read_object(Inspection& inspection, std::uint64_t offset, void* buffer,
                        std::size_t size) noexcept {
  if (offset >= inspection.view_size) return 0;
  const std::size_t available = inspection.view_size - static_cast<std::size_t>(offset);
  const std::size_t count = size < available ? size : available;
  std::memcpy(buffer, inspection.view + offset, count);
  return count;
}

sharedmem_error list_objects(Namespace space,
                             const std::function<bool(const std::string& name)>& visit) {
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  const auto open_directory = reinterpret_cast<NtOpenDirectoryObjectFn>(
      reinterpret_cast<void*>(ntdll ? ::GetProcAddress(ntdll, "NtOpenDirectoryObject") : nullptr));
  const auto query_directory = reinterpret_cast<NtQueryDirectoryObjectFn>(reinterpret_cast<void*>(
      ntdll ? ::GetProcAddress(ntdll, "NtQueryDirectoryObject") : nullptr));
  if (open_directory == nullptr || query_directory == nullptr) return SHAREDMEM_E_UNSUPPORTED;

  std::wstring path = directory_of(is_global(space));
  UNICODE_STRING path_string{};
  path_string.Buffer = path.data();
  path_string.Length = static_cast<USHORT>(path.size() * sizeof(wchar_t));
  path_string.MaximumLength = path_string.Length;
  OBJECT_ATTRIBUTES attributes{};
  attributes.Length = sizeof attributes;
  attributes.ObjectName = &path_string;
  attributes.Attributes = 0x40;  // OBJ_CASE_INSENSITIVE
  HANDLE directory = nullptr;
  const LONG opened = open_directory(&directory, kDirectoryQuery, &attributes);
  if (opened < 0) return record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(opened));

  // One entry per call (ReturnSingleEntry), which every version of Windows
  // and Wine supports; the buffer holds the entry and its strings. The
  // cursor is an index: an object removed or added meanwhile can shift the
  // entries under it, so that a pass skips one that stood there all along.
  // Passes are repeated (at most kListPasses) until one finds no name the
  // earlier ones missed, and the names are visited once the passes end.
  constexpr int kListPasses = 4;
  // Shared segments' names begin "sharedmem#", which no private one does.
  const std::wstring prefix = is_shared(space) ? L"sharedmem#shared." : L"sharedmem.";
  std::vector<unsigned char> buffer(4096);
  std::set<std::string> names;
  sharedmem_error result = SHAREDMEM_OK;
  try {
    for (int pass = 0; pass < kListPasses && result == SHAREDMEM_OK; ++pass) {
      bool found_new = false;
      ULONG context = 0;
      BOOLEAN restart = TRUE;
      for (;;) {
        ULONG returned = 0;
        const LONG status = query_directory(directory, buffer.data(),
                                            static_cast<ULONG>(buffer.size()), TRUE, restart,
                                            &context, &returned);
        if (status == kStatusNoMoreEntries) break;
        if (status == kStatusBufferTooSmall && returned > buffer.size() &&
            buffer.size() < 65536) {
          buffer.resize(returned);  // a long name: the same entry again, with room
          continue;
        }
        if (status < 0 || (status != 0 && status != kStatusMoreEntries)) {
          result = record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(status));
          break;
        }
        restart = FALSE;
        const auto* entry = reinterpret_cast<const DirectoryEntry*>(buffer.data());
        const std::size_t length = entry->name.Length / sizeof(wchar_t);
        const std::wstring entry_name(entry->name.Buffer, length);
        // A segment's section and its companions (#gate, #ready...) share
        // the prefix; '#' is outside the segment name alphabet.
        if (entry_name.compare(0, prefix.size(), prefix) != 0 ||
            entry_name.find(L'#', prefix.size()) != std::wstring::npos)
          continue;
        found_new =
            names.insert(narrow(entry_name.c_str() + prefix.size(), length - prefix.size()))
                .second ||
            found_new;
      }
      if (!found_new && pass > 0) break;
    }
    if (result == SHAREDMEM_OK)
      for (const std::string& name : names)
        if (!visit(name)) break;
  } catch (...) {
    ::CloseHandle(directory);
    throw;
  }
  ::CloseHandle(directory);
  return result;
}

}  // namespace sharedmem::platform
