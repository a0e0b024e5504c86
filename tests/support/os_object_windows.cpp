// SPDX-License-Identifier: MIT
// Windows test support for the OS object of a segment: named sections,
// OpenFileMappingW and MapViewOfFile, and the owner-only security descriptor.
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <boost/test/unit_test.hpp>
#include <cstring>

#include "os_object.hpp"
#include "support/child_io.hpp"

namespace sharedmem_test {

std::wstring os_object_wide_name(const std::string& name, const wchar_t* suffix,
                                 const wchar_t* scope) {
  return scope + std::wstring(L"sharedmem.") + widen(name) + suffix;
}

std::string os_object_name(const std::string& name) { return narrow(os_object_wide_name(name)); }

bool os_object_exists(const std::string& name) {
  HANDLE section = ::OpenFileMappingW(FILE_MAP_READ, FALSE, os_object_wide_name(name).c_str());
  if (section != nullptr) {
    ::CloseHandle(section);
    return true;
  }
  return ::GetLastError() != ERROR_FILE_NOT_FOUND;  // e.g. there but denied to us
}

OsObjectView::OsObjectView(const std::string& name) {
  handle_ = ::OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE,
                               os_object_wide_name(name).c_str());
  if (handle_ == nullptr) return;
  void* view = ::MapViewOfFile(handle_, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
  MEMORY_BASIC_INFORMATION region{};
  if (view == nullptr) return;
  if (::VirtualQuery(view, &region, sizeof region) != sizeof region) {
    ::UnmapViewOfFile(view);
    return;
  }
  base_ = static_cast<unsigned char*>(view);
  size_ = region.RegionSize;
}

OsObjectView::~OsObjectView() {
  if (base_) ::UnmapViewOfFile(base_);
  if (handle_) ::CloseHandle(handle_);
}

bool OsObjectView::has_header() const {
  return base_ != nullptr && size_ >= sharedmem::detail::kHeaderBytes &&
         header()->layout_version == sharedmem::detail::kLayoutVersion;
}

std::vector<unsigned char> current_user() {
  HANDLE token = nullptr;
  BOOST_TEST_REQUIRE(::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token));
  DWORD length = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
  std::vector<unsigned char> buffer(length);
  const BOOL got = ::GetTokenInformation(token, TokenUser, buffer.data(), length, &length);
  ::CloseHandle(token);
  BOOST_TEST_REQUIRE(got);
  return buffer;
}

void* user_sid(std::vector<unsigned char>& token_user) {
  return reinterpret_cast<TOKEN_USER*>(token_user.data())->User.Sid;
}

struct OwnerOnlySecurity::Impl {
  std::vector<unsigned char> user = current_user();
  std::vector<unsigned char> acl;
  SECURITY_DESCRIPTOR descriptor{};
  SECURITY_ATTRIBUTES attributes{};
};

OwnerOnlySecurity::OwnerOnlySecurity(unsigned long rights) : impl_(std::make_unique<Impl>()) {
  PSID sid = user_sid(impl_->user);
  impl_->acl.resize(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + ::GetLengthSid(sid));
  auto* list = reinterpret_cast<PACL>(impl_->acl.data());
  BOOST_TEST_REQUIRE(::InitializeAcl(list, static_cast<DWORD>(impl_->acl.size()), ACL_REVISION));
  BOOST_TEST_REQUIRE(::AddAccessAllowedAce(list, ACL_REVISION, rights, sid));
  SECURITY_DESCRIPTOR* descriptor = &impl_->descriptor;
  BOOST_TEST_REQUIRE(::InitializeSecurityDescriptor(descriptor, SECURITY_DESCRIPTOR_REVISION));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorOwner(descriptor, sid, FALSE));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorDacl(descriptor, TRUE, list, FALSE));
  impl_->attributes = {sizeof(SECURITY_ATTRIBUTES), descriptor, FALSE};
}

OwnerOnlySecurity::~OwnerOnlySecurity() = default;

SECURITY_ATTRIBUTES* OwnerOnlySecurity::attributes() { return &impl_->attributes; }

ForeignObject::ForeignObject(const std::string& name, std::size_t size, unsigned char fill)
    : ForeignObject(name, size, fill, OwnerOnlySecurity(SECTION_ALL_ACCESS).attributes()) {}

ForeignObject::ForeignObject(const std::string& name, std::size_t size, unsigned char fill,
                             SECURITY_ATTRIBUTES* security)
    : size_(size) {
  handle_ = ::CreateFileMappingW(INVALID_HANDLE_VALUE, security, PAGE_READWRITE, 0,
                                 static_cast<DWORD>(size), os_object_wide_name(name).c_str());
  BOOST_TEST_REQUIRE(handle_ != nullptr, "CreateFileMappingW error " << ::GetLastError());
  BOOST_TEST_REQUIRE(::GetLastError() != ERROR_ALREADY_EXISTS);
  void* view = ::MapViewOfFile(handle_, FILE_MAP_WRITE, 0, 0, size);
  BOOST_TEST_REQUIRE(view != nullptr);
  std::memset(view, fill, size);
  ::UnmapViewOfFile(view);
}

ForeignObject::~ForeignObject() {
  if (handle_) ::CloseHandle(handle_);
}

std::string ForeignObject::contents() const {
  void* view = ::MapViewOfFile(handle_, FILE_MAP_READ, 0, 0, size_);
  if (view == nullptr) return "<unmappable>";
  std::string bytes(static_cast<const char*>(view), size_);
  ::UnmapViewOfFile(view);
  return bytes;
}

Handle::~Handle() {
  if (value != nullptr) ::CloseHandle(value);
}

std::ostream& operator<<(std::ostream& out, const KernelAce& ace) {
  return out << ace.sid << "=0x" << std::hex << ace.mask << std::dec;
}

namespace {
std::string sid_string(PSID sid) {
  LPSTR text = nullptr;
  if (!::ConvertSidToStringSidA(sid, &text)) return "?";
  std::string out(text);
  ::LocalFree(text);
  return out;
}
}  // namespace

std::string current_user_sid() {
  std::vector<unsigned char> user = current_user();
  return sid_string(user_sid(user));
}

KernelSecurity kernel_security(void* object) {
  KernelSecurity out;
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  BOOST_TEST_REQUIRE(::GetSecurityInfo(object, SE_KERNEL_OBJECT,
                                       OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                       &owner, nullptr, &dacl, nullptr,
                                       &descriptor) == ERROR_SUCCESS);
  out.owner = sid_string(owner);
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision = 0;
  ::GetSecurityDescriptorControl(descriptor, &control, &revision);
  out.dacl_present = dacl != nullptr;
  out.dacl_protected = (control & SE_DACL_PROTECTED) != 0;
  for (DWORD i = 0; dacl != nullptr && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    BOOST_TEST_REQUIRE(::GetAce(dacl, i, &ace));
    const auto* header = static_cast<ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || header->AceFlags != 0) {
      out.plain_allowed_aces = false;
      continue;
    }
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    out.aces.push_back({sid_string(&allowed->SidStart), allowed->Mask});
  }
  ::LocalFree(descriptor);
  return out;
}

}  // namespace sharedmem_test
