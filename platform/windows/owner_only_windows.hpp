// SPDX-License-Identifier: MIT
// The Windows backend's owner-only security: the current user's SID,
// security attributes that admit that user alone (what every object of a
// segment is created with), and the check that an existing object is the
// user's own. Shared by attach (segment_windows.cpp) and inspection
// (inspect_windows.cpp).
#ifndef SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP
#define SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP

#include <windows.h>

#include <vector>

namespace sharedmem::platform::windows {

// The current user's SID and security attributes admitting that user only.
class OwnerOnly {
 public:
  // The rights granted are each type's full access mask; false on failure.
  bool init(DWORD section_rights, DWORD mutex_rights, DWORD event_rights) {
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
    return ok && section_.init(user(), section_rights) && mutex_.init(user(), mutex_rights) &&
           event_.init(user(), event_rights);
  }

  PSID user() const {
    return reinterpret_cast<const TOKEN_USER*>(token_user_.data())->User.Sid;
  }
  SECURITY_ATTRIBUTES* section() { return &section_.attributes; }
  SECURITY_ATTRIBUTES* mutex() { return &mutex_.attributes; }
  SECURITY_ATTRIBUTES* event() { return &event_.attributes; }

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
  Descriptor event_;
};

}  // namespace sharedmem::platform::windows

#endif  // SHAREDMEM_PLATFORM_WINDOWS_OWNER_ONLY_WINDOWS_HPP
