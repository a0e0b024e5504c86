// SPDX-License-Identifier: MIT
// The Windows backend's object security: the current user's SID, the
// security attributes every object of a segment is created with, and the
// check that an existing object is one the open may trust. Shared by attach
// (segment_windows.cpp) and inspection (inspect_windows.cpp).
//
// A private segment's objects are owned by the user, with a protected DACL
// that admits the user alone. A shared segment's (sharedmem_open_shared)
// carry an explicit protected DACL built from its access list: the owner
// with full access, each read-write principal the rights to map the section
// read-write and use the mutexes and events, each read-only principal the
// rights to map it read-only and wait on the events (no right on the
// mutexes: a reader never takes the gate or the writer lock, and could only
// hold them against the writers). Every principal may read the security
// (READ_CONTROL), which each opener needs to check the object before using
// it. An existing shared object is accepted only if its owner is the current
// user or a listed creator and its DACL holds exactly those ACEs, built for
// that owner: no NULL DACL, no other SID (Everyone, say), no other rights.
#ifndef SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP
#define SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP

#include <windows.h>
#include <sddl.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "os_error.hpp"
#include "platform.hpp"

namespace sharedmem::platform::windows {

// The kinds of kernel object a segment has; each has its own rights.
enum class ObjectKind { kSection, kMutex, kEvent };

// What each kind grants the owner, a read-write and a read-only principal.
struct KindRights {
  DWORD owner;
  DWORD read_write;
  DWORD read_only;  // 0: no ACE
};
inline KindRights rights_of(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kSection:
      return {SECTION_ALL_ACCESS, SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY | READ_CONTROL,
              SECTION_MAP_READ | SECTION_QUERY | READ_CONTROL};
    case ObjectKind::kMutex:
      return {MUTEX_ALL_ACCESS, SYNCHRONIZE | MUTEX_MODIFY_STATE | READ_CONTROL, 0};
    case ObjectKind::kEvent:
      break;
  }
  return {EVENT_ALL_ACCESS, SYNCHRONIZE | EVENT_MODIFY_STATE | READ_CONTROL,
          SYNCHRONIZE | READ_CONTROL};
}

using Sid = std::vector<unsigned char>;

inline std::string sid_text(PSID sid) {
  LPSTR text = nullptr;
  if (sid == nullptr || !::ConvertSidToStringSidA(sid, &text)) return "(unreadable SID)";
  std::string out(text);
  ::LocalFree(text);
  return out;
}

// Resolves one principal of an access list to its SID: "user:NAME" and
// "group:NAME" (account names, DOMAIN\name allowed, UTF-8) with
// LookupAccountNameW, "sid:S-1-..." with ConvertStringSidToSidW (any valid
// SID: it may name an account of a domain this machine cannot ask). Anything
// else is SHAREDMEM_E_UNKNOWN_PRINCIPAL, with a detail naming it.
inline sharedmem_error resolve_principal(const std::string& principal, Sid& sid) {
  const auto unknown = [&](const char* why) {
    return record_error_detail(SHAREDMEM_E_UNKNOWN_PRINCIPAL,
                               ("\"" + principal + "\": " + why).c_str());
  };
  const std::size_t colon = principal.find(':');
  if (colon == std::string::npos)
    return unknown("not of the form user:NAME, group:NAME or sid:S-1-...");
  const std::string kind = principal.substr(0, colon);
  const std::string text = principal.substr(colon + 1);
  std::wstring wide;
  if (!text.empty()) {
    const int length = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                                             static_cast<int>(text.size()), nullptr, 0);
    if (length <= 0) return unknown("not valid UTF-8");
    wide.resize(static_cast<std::size_t>(length));
    ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(),
                          static_cast<int>(text.size()), wide.data(), length);
  }
  if (wide.empty() || wide.find(L'\0') != std::wstring::npos) return unknown("empty name");
  if (kind == "sid") {
    PSID converted = nullptr;
    if (!::ConvertStringSidToSidW(wide.c_str(), &converted))
      return unknown("not a valid SID string (S-1-...)");
    sid.assign(static_cast<unsigned char*>(converted),
               static_cast<unsigned char*>(converted) + ::GetLengthSid(converted));
    ::LocalFree(converted);
    return SHAREDMEM_OK;
  }
  if (kind != "user" && kind != "group")
    return unknown("not of the form user:NAME, group:NAME or sid:S-1-...");
  DWORD sid_size = 0;
  DWORD domain_size = 0;
  SID_NAME_USE use = SidTypeUnknown;
  ::LookupAccountNameW(nullptr, wide.c_str(), nullptr, &sid_size, nullptr, &domain_size, &use);
  if (sid_size == 0) return unknown("no account of this name is known to the system");
  sid.resize(sid_size);
  std::wstring domain(domain_size + 1, L'\0');
  domain_size = static_cast<DWORD>(domain.size());
  if (!::LookupAccountNameW(nullptr, wide.c_str(), sid.data(), &sid_size, domain.data(),
                           &domain_size, &use))
    return unknown("no account of this name is known to the system");
  const bool is_user = use == SidTypeUser;
  const bool is_group =
      use == SidTypeGroup || use == SidTypeAlias || use == SidTypeWellKnownGroup;
  if (kind == "user" && !is_user) return unknown("names an account that is not a user");
  if (kind == "group" && !is_group) return unknown("names an account that is not a group");
  return SHAREDMEM_OK;
}

// The current user's SID and the security of a segment's objects: private
// (init) or shared with an access list (init_shared).
class OwnerOnly {
 public:
  // Private: the rights granted are each type's full access mask; false on
  // failure (GetLastError tells).
  bool init(DWORD section_rights, DWORD mutex_rights, DWORD event_rights) {
    return init_user() && section_.init(user(), {{copy(user()), section_rights}}, false) &&
           mutex_.init(user(), {{copy(user()), mutex_rights}}, false) &&
           event_.init(user(), {{copy(user()), event_rights}}, false) &&
           owner_slot_.init(user(), {{copy(user()), EVENT_ALL_ACCESS}}, false);
  }

  // Shared: resolves the list's principals (SHAREDMEM_E_UNKNOWN_PRINCIPAL
  // with a detail naming one that does not resolve) and builds the objects'
  // descriptors, owned by the current user.
  sharedmem_error init_shared(const AccessList& list) {
    if (!init_user()) return record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
    shared_ = true;
    low_integrity_ = list.low_integrity;
    const auto resolve_all = [](const std::vector<std::string>& from, std::vector<Sid>& to) {
      for (const std::string& principal : from) {
        Sid sid;
        if (sharedmem_error e = resolve_principal(principal, sid)) return e;
        to.push_back(std::move(sid));
      }
      return SHAREDMEM_OK;
    };
    if (sharedmem_error e = resolve_all(list.read_write, read_write_)) return e;
    if (sharedmem_error e = resolve_all(list.read_only, read_only_)) return e;
    if (sharedmem_error e = resolve_all(list.creators, creators_)) return e;
    if (!section_.init(user(), expected(user(), ObjectKind::kSection), low_integrity_) ||
        !mutex_.init(user(), expected(user(), ObjectKind::kMutex), low_integrity_) ||
        !event_.init(user(), expected(user(), ObjectKind::kEvent), low_integrity_) ||
        !owner_slot_.init(user(), {{copy(user()), EVENT_ALL_ACCESS}}, low_integrity_))
      return record_os_error(SHAREDMEM_E_SYSTEM, static_cast<int>(::GetLastError()));
    return SHAREDMEM_OK;
  }

  bool shared() const { return shared_; }
  PSID user() const {
    return reinterpret_cast<const TOKEN_USER*>(token_user_.data())->User.Sid;
  }
  SECURITY_ATTRIBUTES* section() { return &section_.attributes; }
  SECURITY_ATTRIBUTES* mutex() { return &mutex_.attributes; }
  SECURITY_ATTRIBUTES* event() { return &event_.attributes; }
  // The writer lock's owner-slot events: the current user alone, whatever
  // the list (another principal that could open one could keep a dead
  // holder's slot alive, and the lock held).
  SECURITY_ATTRIBUTES* owner_slot() { return &owner_slot_.attributes; }

  // True when `object` is owned by the current user and its DACL grants
  // access to nobody else. Needs READ_CONTROL on the handle.
  bool admits_only_user(HANDLE object) const {
    std::vector<unsigned char> buffer;
    PSID owner = nullptr;
    PACL dacl = nullptr;
    if (!read_security(object, buffer, owner, dacl) || !::EqualSid(owner, user()) ||
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

  // The check an open makes of an existing object of kind `kind` (handle
  // with READ_CONTROL): private, admits_only_user; shared, the owner is the
  // current user or a listed creator and the DACL holds exactly the ACEs
  // built for that owner. On refusal, `why` says what is wrong.
  bool accepts(HANDLE object, ObjectKind kind, std::string& why) const {
    if (!shared_) {
      if (admits_only_user(object)) return true;
      why = "not owned by the current user, or open to others";
      return false;
    }
    std::vector<unsigned char> buffer;
    PSID owner = nullptr;
    PACL dacl = nullptr;
    if (!read_security(object, buffer, owner, dacl)) {
      why = "its owner and DACL cannot be read";
      return false;
    }
    bool owner_listed = ::EqualSid(owner, user()) != 0;
    for (const Sid& creator : creators_)
      owner_listed = owner_listed || ::EqualSid(owner, const_cast<unsigned char*>(creator.data()));
    if (!owner_listed) {
      why = "owned by " + sid_text(owner) + ", neither the current user nor a listed creator";
      return false;
    }
    if (dacl == nullptr) {
      why = "it has a NULL DACL (open to everyone)";
      return false;
    }
    std::vector<std::pair<Sid, DWORD>> wanted = expected(owner, kind);
    std::vector<bool> seen(wanted.size(), false);
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
      void* ace = nullptr;
      if (!::GetAce(dacl, i, &ace)) {
        why = "its DACL cannot be read";
        return false;
      }
      const auto* header = static_cast<const ACE_HEADER*>(ace);
      if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || header->AceFlags != 0) {
        why = "its DACL holds an ACE of type " + std::to_string(header->AceType) + " flags " +
              std::to_string(header->AceFlags) + ", not a plain access-allowed one";
        return false;
      }
      auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
      PSID sid = &allowed->SidStart;
      std::size_t j = 0;
      while (j < wanted.size() && !::EqualSid(sid, wanted[j].first.data())) ++j;
      if (j == wanted.size()) {
        why = "its DACL grants " + sid_text(sid) + ", who is not in the access list";
        return false;
      }
      if (seen[j] || allowed->Mask != wanted[j].second) {
        why = "its DACL grants " + sid_text(sid) + " other rights than the access list";
        return false;
      }
      seen[j] = true;
    }
    for (std::size_t j = 0; j < wanted.size(); ++j)
      if (!seen[j]) {
        why = "its DACL lacks the ACE of " + sid_text(wanted[j].first.data());
        return false;
      }
    return label_as_listed(object, why);
  }

 private:
  static Sid copy(PSID sid) {
    const auto* bytes = static_cast<const unsigned char*>(sid);
    return Sid(bytes, bytes + ::GetLengthSid(sid));
  }

  // The user the thread acts as: its impersonation token's, else the
  // process's (the kernel checks access against the same token).
  bool init_user() {
    HANDLE token = nullptr;
    if (!::OpenThreadToken(::GetCurrentThread(), TOKEN_QUERY, TRUE, &token) &&
        !::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token))
      return false;
    DWORD length = 0;
    ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
    bool ok = length != 0;
    if (ok) {
      token_user_.resize(length);
      ok = ::GetTokenInformation(token, TokenUser, token_user_.data(), length, &length) != 0;
    }
    ::CloseHandle(token);
    return ok;
  }

  static bool read_security(HANDLE object, std::vector<unsigned char>& buffer, PSID& owner,
                            PACL& dacl) {
    DWORD length = 0;
    const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    ::GetKernelObjectSecurity(object, what, nullptr, 0, &length);
    if (length == 0) return false;
    buffer.resize(length);
    auto* descriptor = reinterpret_cast<PSECURITY_DESCRIPTOR>(buffer.data());
    if (!::GetKernelObjectSecurity(object, what, descriptor, length, &length)) return false;
    BOOL defaulted = FALSE;
    BOOL present = FALSE;
    if (!::GetSecurityDescriptorOwner(descriptor, &owner, &defaulted) || owner == nullptr ||
        !::GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted))
      return false;
    if (!present) dacl = nullptr;
    return true;
  }

  // The mandatory label: with SHAREDMEM_ACCESS_LOW_INTEGRITY exactly the
  // low, no-write-up one this backend gives; without it none below medium
  // (an object without a label is medium), so that no low-integrity process
  // gets in where the list did not ask for it.
  bool label_as_listed(HANDLE object, std::string& why) const {
    DWORD length = 0;
    ::GetKernelObjectSecurity(object, LABEL_SECURITY_INFORMATION, nullptr, 0, &length);
    std::vector<unsigned char> buffer(length);
    auto* descriptor = reinterpret_cast<PSECURITY_DESCRIPTOR>(buffer.data());
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    PACL sacl = nullptr;
    if (length == 0 ||
        !::GetKernelObjectSecurity(object, LABEL_SECURITY_INFORMATION, descriptor, length,
                                   &length) ||
        !::GetSecurityDescriptorSacl(descriptor, &present, &sacl, &defaulted)) {
      why = "its integrity label cannot be read";
      return false;
    }
    DWORD level = SECURITY_MANDATORY_MEDIUM_RID;
    DWORD policy = 0;
    int labels = 0;
    for (DWORD i = 0; present && sacl != nullptr && i < sacl->AceCount; ++i) {
      void* ace = nullptr;
      if (!::GetAce(sacl, i, &ace)) continue;
      if (static_cast<const ACE_HEADER*>(ace)->AceType != SYSTEM_MANDATORY_LABEL_ACE_TYPE) continue;
      auto* label = static_cast<SYSTEM_MANDATORY_LABEL_ACE*>(ace);
      PSID sid = &label->SidStart;
      level = *::GetSidSubAuthority(sid, *::GetSidSubAuthorityCount(sid) - 1);
      policy = label->Mask;
      ++labels;
    }
    const bool fits = low_integrity_ ? labels == 1 && level == SECURITY_MANDATORY_LOW_RID &&
                                           policy == SYSTEM_MANDATORY_LABEL_NO_WRITE_UP
                                     : level >= SECURITY_MANDATORY_MEDIUM_RID;
    if (!fits)
      why = "its integrity label (level 0x" + hex(level) + ", policy 0x" + hex(policy) +
            ") is not the one the access list asks for";
    return fits;
  }

  static std::string hex(DWORD value) {
    char text[16];
    std::snprintf(text, sizeof text, "%lx", static_cast<unsigned long>(value));
    return text;
  }

  // The ACEs a shared object of `kind` owned by `owner` carries: one per
  // SID, its rights the union of what the list gives it (the owner: full).
  std::vector<std::pair<Sid, DWORD>> expected(PSID owner, ObjectKind kind) const {
    const KindRights rights = rights_of(kind);
    std::vector<std::pair<Sid, DWORD>> aces;
    const auto grant = [&aces](const Sid& sid, DWORD mask) {
      if (mask == 0) return;
      for (auto& ace : aces)
        if (::EqualSid(const_cast<unsigned char*>(ace.first.data()),
                       const_cast<unsigned char*>(sid.data()))) {
          ace.second |= mask;
          return;
        }
      aces.emplace_back(sid, mask);
    };
    grant(copy(owner), rights.owner);
    for (const Sid& sid : read_write_) grant(sid, rights.read_write);
    for (const Sid& sid : read_only_) grant(sid, rights.read_only);
    return aces;
  }

  // Owner: the user; a protected DACL of `aces`; with `low_integrity`, a low
  // mandatory label (no write up: a low-integrity process gets no more than
  // the DACL gives it, and a process below low nothing to write).
  struct Descriptor {
    std::vector<unsigned char> acl;
    std::vector<unsigned char> sacl;
    SECURITY_DESCRIPTOR descriptor{};
    SECURITY_ATTRIBUTES attributes{};

    bool init(PSID user, const std::vector<std::pair<Sid, DWORD>>& aces, bool low_integrity) {
      std::size_t size = sizeof(ACL);
      for (const auto& ace : aces) size += sizeof(ACCESS_ALLOWED_ACE) + ace.first.size();
      acl.assign(size, 0);
      auto* list = reinterpret_cast<PACL>(acl.data());
      if (!::InitializeAcl(list, static_cast<DWORD>(acl.size()), ACL_REVISION)) return false;
      for (const auto& ace : aces)
        if (!::AddAccessAllowedAce(list, ACL_REVISION, ace.second,
                                   const_cast<unsigned char*>(ace.first.data())))
          return false;
      if (!::InitializeSecurityDescriptor(&descriptor, SECURITY_DESCRIPTOR_REVISION) ||
          !::SetSecurityDescriptorOwner(&descriptor, user, FALSE) ||
          !::SetSecurityDescriptorDacl(&descriptor, TRUE, list, FALSE) ||
          !::SetSecurityDescriptorControl(&descriptor, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
        return false;
      if (low_integrity) {
        SID_IDENTIFIER_AUTHORITY label_authority = SECURITY_MANDATORY_LABEL_AUTHORITY;
        unsigned char low[SECURITY_MAX_SID_SIZE] = {};
        if (!::InitializeSid(low, &label_authority, 1)) return false;
        *::GetSidSubAuthority(low, 0) = SECURITY_MANDATORY_LOW_RID;
        sacl.assign(sizeof(ACL) + sizeof(SYSTEM_MANDATORY_LABEL_ACE) + ::GetLengthSid(low), 0);
        auto* label = reinterpret_cast<PACL>(sacl.data());
        if (!::InitializeAcl(label, static_cast<DWORD>(sacl.size()), ACL_REVISION) ||
            !::AddMandatoryAce(label, ACL_REVISION, 0, SYSTEM_MANDATORY_LABEL_NO_WRITE_UP, low) ||
            !::SetSecurityDescriptorSacl(&descriptor, TRUE, label, FALSE))
          return false;
      }
      attributes.nLength = sizeof attributes;
      attributes.lpSecurityDescriptor = &descriptor;
      attributes.bInheritHandle = FALSE;
      return true;
    }
  };

  std::vector<unsigned char> token_user_;
  bool shared_ = false;
  bool low_integrity_ = false;
  std::vector<Sid> read_write_;
  std::vector<Sid> read_only_;
  std::vector<Sid> creators_;
  Descriptor section_;
  Descriptor mutex_;
  Descriptor event_;
  Descriptor owner_slot_;
};

}  // namespace sharedmem::platform::windows

#endif  // SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP
