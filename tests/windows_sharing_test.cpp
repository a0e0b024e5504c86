// SPDX-License-Identifier: MIT
// Windows only: read-only openers (SHAREDMEM_READ_ONLY) and shared segments
// (sharedmem_open_shared) as the kernel sees them. The DACLs the library
// gives a shared segment's section, mutexes and events are read back with
// GetSecurityInfo and compared ACE by ACE with what the access list means;
// squatters plant the shared name first (a NULL DACL, Everyone, an extra
// SID, other rights, another owner) and are refused, untouched.
//
// Wine runs every process as one user with one token: the cases that need a
// second account's logon, or integrity levels the kernel enforces, are
// conditional and reported SKIPPED there (see the conditions below).
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "support/child_io.hpp"
#include "support/conditions.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"

using namespace sharedmem_test;

namespace {

// The names the backend gives a shared segment's objects (documented in
// platform/windows/segment_windows.cpp).
std::wstring shared_object_name(const std::string& name, const wchar_t* suffix = L"") {
  return L"Local\\sharedmem#shared." + std::wstring(name.begin(), name.end()) + suffix;
}

struct Segment {
  sharedmem_segment* value = nullptr;
  ~Segment() { sharedmem_close(value); }
};

std::string me() { return current_user_sid(); }

// An access list from vectors of principals.
struct Access {
  std::vector<std::string> read_write, read_only, creators;
  std::uint32_t flags = 0;

  sharedmem_error open(const std::string& name, std::uint64_t capacity, std::uint32_t open_flags,
                       Segment& out) const {
    std::vector<const char*> rw, ro, cr;
    for (const auto& p : read_write) rw.push_back(p.c_str());
    for (const auto& p : read_only) ro.push_back(p.c_str());
    for (const auto& p : creators) cr.push_back(p.c_str());
    rw.push_back(nullptr);
    ro.push_back(nullptr);
    cr.push_back(nullptr);
    sharedmem_access access = SHAREDMEM_ACCESS_INIT;
    access.flags = flags;
    access.read_write = rw.data();
    access.read_only = ro.data();
    access.creators = cr.data();
    return sharedmem_open_shared(name.c_str(), capacity, open_flags, &access, &out.value);
  }
};

std::string read_value(const sharedmem_segment* segment) {
  char buffer[256];
  std::uint64_t size = 0;
  BOOST_TEST_REQUIRE(sharedmem_read(segment, buffer, sizeof buffer, &size) == SHAREDMEM_OK);
  return std::string(buffer, static_cast<std::size_t>(size));
}

// Checks that `name` is owned by the current user and that its protected
// DACL holds exactly `expected`, in that order.
template <typename Open>
void check_dacl(const std::wstring& name, Open open, const std::vector<KernelAce>& expected) {
  BOOST_TEST_CONTEXT(std::string(name.begin(), name.end())) {
    Handle object(open(READ_CONTROL, FALSE, name.c_str()));
    BOOST_TEST_REQUIRE(object.value != nullptr, "open error " << ::GetLastError());
    const KernelSecurity security = kernel_security(object.value);
    BOOST_TEST(security.owner == me());
    BOOST_TEST_REQUIRE(security.dacl_present, "an explicit DACL, not a NULL one");
    BOOST_TEST(security.dacl_protected, "the DACL inherits nothing");
    BOOST_TEST(security.plain_allowed_aces);
    BOOST_TEST(security.aces == expected, boost::test_tools::per_element());
  }
}

// A security descriptor owned by the current user (whose SID is in
// `token_user`, current_user()) with a NULL DACL: open to everyone.
void null_dacl_owned_by_user(SECURITY_DESCRIPTOR& descriptor, std::vector<unsigned char>& token_user) {
  BOOST_TEST_REQUIRE(::InitializeSecurityDescriptor(&descriptor, SECURITY_DESCRIPTOR_REVISION));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorOwner(&descriptor, user_sid(token_user), FALSE));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorDacl(&descriptor, TRUE, nullptr, FALSE));
}

// A section planted under shared segment `name` before anyone opens it:
// 4096 bytes of 0x5a, with the security descriptor `sddl` (empty: the
// current user's, with a NULL DACL), kept until destruction.
class Squatter {
 public:
  Squatter(const std::string& name, const std::wstring& sddl) {
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    SECURITY_DESCRIPTOR null_dacl{};
    std::vector<unsigned char> user = current_user();
    if (sddl.empty()) {
      null_dacl_owned_by_user(null_dacl, user);
    } else {
      BOOST_TEST_REQUIRE(::ConvertStringSecurityDescriptorToSecurityDescriptorW(
                             sddl.c_str(), SDDL_REVISION_1, &descriptor, nullptr),
                         "SDDL " << std::string(sddl.begin(), sddl.end()));
    }
    SECURITY_ATTRIBUTES attributes{sizeof attributes, descriptor ? descriptor : &null_dacl, FALSE};
    section_ = ::CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, 0, 4096,
                                    shared_object_name(name).c_str());
    const DWORD error = ::GetLastError();
    if (descriptor) ::LocalFree(descriptor);
    BOOST_TEST_REQUIRE(section_ != nullptr, "planting failed: " << error);
    BOOST_TEST_REQUIRE(error != ERROR_ALREADY_EXISTS);
    void* view = ::MapViewOfFile(section_, FILE_MAP_WRITE, 0, 0, 4096);
    BOOST_TEST_REQUIRE(view != nullptr);
    std::memset(view, 0x5a, 4096);
    ::UnmapViewOfFile(view);
  }
  ~Squatter() { ::CloseHandle(section_); }
  Squatter(const Squatter&) = delete;
  Squatter& operator=(const Squatter&) = delete;

  bool untouched() const {
    const void* view = ::MapViewOfFile(section_, FILE_MAP_READ, 0, 0, 4096);
    if (view == nullptr) return false;
    const bool same = std::string(static_cast<const char*>(view), 4096) == std::string(4096, 'Z');
    ::UnmapViewOfFile(view);
    return same;
  }
  // The planted descriptor as it is now, in SDDL.
  std::string sddl() const {
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    if (::GetSecurityInfo(section_, SE_KERNEL_OBJECT,
                          OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, nullptr,
                          nullptr, nullptr, nullptr, &descriptor) != ERROR_SUCCESS)
      return "?";
    LPSTR text = nullptr;
    std::string out = "?";
    if (::ConvertSecurityDescriptorToStringSecurityDescriptorA(
            descriptor, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &text, nullptr)) {
      out = text;
      ::LocalFree(text);
    }
    ::LocalFree(descriptor);
    return out;
  }

 private:
  HANDLE section_ = nullptr;
};

std::wstring wide(const std::string& text) { return std::wstring(text.begin(), text.end()); }

// The rights the backend is documented to give (owner_only_windows.hpp),
// spelled here from the SDK's constants.
constexpr DWORD kSectionReadWrite = SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY | READ_CONTROL;
constexpr DWORD kSectionReadOnly = SECTION_MAP_READ | SECTION_QUERY | READ_CONTROL;
constexpr DWORD kEventReadWrite = SYNCHRONIZE | EVENT_MODIFY_STATE | READ_CONTROL;
constexpr DWORD kEventReadOnly = SYNCHRONIZE | READ_CONTROL;

// BUILTIN\Users, SYSTEM, and an account of a machine domain that need not
// exist (a SID is accepted as it is).
const std::string kUsers = "S-1-5-32-545";
const std::string kSystem = "S-1-5-18";
const std::string kLocalAccount = "S-1-5-21-1111111111-2222222222-3333333333-1001";

// An unnamed event with the security descriptor `sddl`; null if it cannot
// be made.
HANDLE event_with(const wchar_t* sddl) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &descriptor,
                                                              nullptr))
    return nullptr;
  SECURITY_ATTRIBUTES attributes{sizeof attributes, descriptor, FALSE};
  HANDLE event = ::CreateEventW(&attributes, TRUE, FALSE, nullptr);
  ::LocalFree(descriptor);
  return event;
}

// Whether this process can create an object owned by BUILTIN\Administrators
// (its token holds that group with the right to own objects: an elevated
// administrator, and Wine's user).
bool can_own_as_administrators() {
  HANDLE event = event_with(L"O:BAD:P(A;;GA;;;BA)");
  if (event == nullptr) return false;
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR got = nullptr;
  bool ok = ::GetSecurityInfo(event, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner,
                              nullptr, nullptr, nullptr, &got) == ERROR_SUCCESS;
  LPSTR text = nullptr;
  ok = ok && ::ConvertSidToStringSidA(owner, &text) && std::string(text) == "S-1-5-32-544";
  if (text) ::LocalFree(text);
  if (got) ::LocalFree(got);
  ::CloseHandle(event);
  return ok;
}
const Condition kCanOwnAsAdministrators{
    can_own_as_administrators,
    "this token may not make BUILTIN\\Administrators the owner of an object"};

// A second account to act as: SHAREDMEM_TEST_OTHER_USER="name:password"
// names one (any account not in the tests' access lists), and LogonUserW
// must give a token of another user. Wine has a single user (its LogonUserW
// logs nobody else on), so the case is skipped there.
HANDLE other_user_token() {
  const char* spec = std::getenv("SHAREDMEM_TEST_OTHER_USER");
  if (spec == nullptr) return nullptr;
  const std::string text(spec);
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return nullptr;
  HANDLE token = nullptr;
  if (!::LogonUserW(wide(text.substr(0, colon)).c_str(), L".", wide(text.substr(colon + 1)).c_str(),
                    LOGON32_LOGON_INTERACTIVE, LOGON32_PROVIDER_DEFAULT, &token))
    return nullptr;
  DWORD length = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
  std::vector<unsigned char> user(length);
  std::vector<unsigned char> mine = current_user();
  if (length == 0 || !::GetTokenInformation(token, TokenUser, user.data(), length, &length) ||
      ::EqualSid(reinterpret_cast<TOKEN_USER*>(user.data())->User.Sid, user_sid(mine))) {
    ::CloseHandle(token);
    return nullptr;
  }
  return token;
}
bool other_user_available() {
  HANDLE token = other_user_token();
  if (token) ::CloseHandle(token);
  return token != nullptr;
}
const Condition kOtherUser{other_user_available,
                           "needs a second account to log on (SHAREDMEM_TEST_OTHER_USER="
                           "name:password); Wine runs everything as one user"};

// Whether the kernel keeps a mandatory label given at creation (Wine's
// server drops it).
bool labels_kept() {
  HANDLE event = event_with(L"S:(ML;;NW;;;LW)");
  if (event == nullptr) return false;
  PACL sacl = nullptr;
  PSECURITY_DESCRIPTOR got = nullptr;
  const bool ok = ::GetSecurityInfo(event, SE_KERNEL_OBJECT, LABEL_SECURITY_INFORMATION, nullptr,
                                    nullptr, nullptr, &sacl, &got) == ERROR_SUCCESS &&
                  sacl != nullptr && sacl->AceCount == 1;
  if (got) ::LocalFree(got);
  ::CloseHandle(event);
  return ok;
}
const Condition kLabelsKept{labels_kept,
                            "the kernel does not keep mandatory integrity labels (Wine)"};

// Opens segment args[0] read-only, reports "open:<value>" (or
// "error:<name>"), and holds it until the parent says so.
SHAREDMEM_CHILD_ROLE(hold_read_only) {
  sharedmem_segment* segment = nullptr;
  const sharedmem_error e = sharedmem_open(args.at(0).c_str(), 0, SHAREDMEM_READ_ONLY, &segment);
  if (e) {
    report(std::string("error:") + sharedmem_error_name(e));
    return 1;
  }
  char buffer[64];
  std::uint64_t size = 0;
  (void)sharedmem_read(segment, buffer, sizeof buffer, &size);
  report("open:" + std::string(buffer, static_cast<std::size_t>(size)));
  await_parent();
  sharedmem_close(segment);
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(windows_sharing)

// Tests that a read-only handle reads what a read-write one wrote, sees its
// later writes through sharedmem_wait, and gets READ_ONLY for every write,
// which changes nothing.
BOOST_AUTO_TEST_CASE(read_only_handle_reads_waits_and_refuses_writes) {
  const std::string name = unique_name("ro");
  Segment writer;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, 0, &writer.value) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(writer.value, "first", 5) == SHAREDMEM_OK);
  Segment reader;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &reader.value) ==
                     SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(reader.value) == 0);
  BOOST_TEST(read_value(reader.value) == "first");
  BOOST_TEST(sharedmem_write(reader.value, "nope", 4) == SHAREDMEM_E_READ_ONLY);
  void* in_place = nullptr;
  BOOST_TEST(sharedmem_write_begin(reader.value, 4, &in_place) == SHAREDMEM_E_READ_ONLY);
  BOOST_TEST(read_value(writer.value) == "first", "the refused writes changed nothing");

  const std::uint64_t seen = sharedmem_version(reader.value);
  std::uint64_t version = 0;
  BOOST_TEST(sharedmem_wait(reader.value, seen, 0, &version) == SHAREDMEM_E_TIMEOUT);
  std::thread later([&] { (void)sharedmem_write(writer.value, "second", 6); });
  const auto wait_ms = static_cast<std::uint32_t>(scaled(std::chrono::seconds(10)).count());
  BOOST_TEST(sharedmem_wait(reader.value, seen, wait_ms, &version) == SHAREDMEM_OK);
  later.join();
  BOOST_TEST(version > seen);
  BOOST_TEST(read_value(reader.value) == "second");
}

// Tests that a read-only raw handle's mapping is read-only in the OS
// (PAGE_READONLY) and that its lock and notify are refused.
BOOST_AUTO_TEST_CASE(read_only_mapping_is_read_only_in_the_os) {
  const std::string name = unique_name("roraw");
  Segment writer;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 4096, SHAREDMEM_RAW, &writer.value) ==
                     SHAREDMEM_OK);
  Segment reader;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, SHAREDMEM_RAW | SHAREDMEM_READ_ONLY,
                                    &reader.value) == SHAREDMEM_OK);
  static_cast<char*>(sharedmem_data(writer.value))[0] = 'x';
  const char* data = static_cast<const char*>(sharedmem_data(reader.value));
  BOOST_TEST_REQUIRE(data != nullptr);
  BOOST_TEST(data[0] == 'x');
  MEMORY_BASIC_INFORMATION region{};
  BOOST_TEST_REQUIRE(::VirtualQuery(data, &region, sizeof region) != 0);
  BOOST_TEST(region.Protect == static_cast<DWORD>(PAGE_READONLY));
  BOOST_TEST(sharedmem_lock(reader.value, 0) == SHAREDMEM_E_READ_ONLY);
  std::uint64_t version = 0;
  BOOST_TEST(sharedmem_notify(reader.value, &version) == SHAREDMEM_E_READ_ONLY);
}

// Tests that a read-only open never creates: an absent name is NOT_FOUND and
// stays absent; with SHAREDMEM_CREATE_ONLY it is an invalid argument.
BOOST_AUTO_TEST_CASE(read_only_open_never_creates) {
  const std::string name = unique_name("roabsent");
  Segment reader;
  BOOST_TEST(sharedmem_open(name.c_str(), 64, SHAREDMEM_READ_ONLY, &reader.value) ==
             SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(reader.value == nullptr);
  BOOST_TEST(!os_object_exists(name));
  BOOST_TEST(sharedmem_open(name.c_str(), 64, SHAREDMEM_READ_ONLY | SHAREDMEM_CREATE_ONLY,
                            &reader.value) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(!os_object_exists(name));
}

// Tests that a read-only user in another process is a user like any other:
// the segment lives on when the read-write user leaves, and goes with the
// reader; the next open creates it afresh.
BOOST_AUTO_TEST_CASE(read_only_user_keeps_the_segment_alive) {
  const std::string name = unique_name("rokeep");
  auto* writer = new Segment;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, 0, &writer->value) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(writer->value, "kept", 4) == SHAREDMEM_OK);
  ChildProcess child = start_role("hold_read_only", {name});
  BOOST_TEST_REQUIRE(expect_line(child) == "open:kept");
  delete writer;  // the read-write user leaves
  {
    Segment again;
    BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &again.value) ==
                       SHAREDMEM_OK);
    BOOST_TEST(read_value(again.value) == "kept", "the reader kept it");
  }
  child.write_line("exit");
  BOOST_TEST(expect_exit(child) == 0);
  Segment after;
  BOOST_TEST(sharedmem_open(name.c_str(), 0, SHAREDMEM_READ_ONLY, &after.value) ==
             SHAREDMEM_E_NOT_FOUND, "gone with its last user, the reader");
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 64, 0, &after.value) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_created(after.value) == 1);
  BOOST_TEST(read_value(after.value).empty());
}

// Tests the DACL of every object of a shared segment, read back from the
// kernel: the owner (the current user) full, the read-write principal
// (BUILTIN\Users) the rights to map read-write and use the mutexes and
// events, the read-only principals (SYSTEM and an account of a machine
// domain) to map read-only and wait on the events, and nothing on the
// mutexes; nobody else.
BOOST_AUTO_TEST_CASE(shared_objects_carry_exactly_the_listed_aces) {
  const std::string name = unique_name("dacl");
  const Access access{{"sid:" + kUsers}, {"sid:" + kSystem, "sid:" + kLocalAccount}, {}};
  Segment segment;
  BOOST_TEST_REQUIRE(access.open(name, 64, 0, segment) == SHAREDMEM_OK,
                     sharedmem_last_error_detail());
  BOOST_TEST(sharedmem_created(segment.value) == 1);
  const std::string owner = me();
  check_dacl(shared_object_name(name), ::OpenFileMappingW,
             {{owner, SECTION_ALL_ACCESS},
              {kUsers, kSectionReadWrite},
              {kSystem, kSectionReadOnly},
              {kLocalAccount, kSectionReadOnly}});
  for (const wchar_t* event : {L"#writer", L"#changed", L"#ready"})
    check_dacl(shared_object_name(name, event), ::OpenEventW,
               {{owner, EVENT_ALL_ACCESS},
                {kUsers, kEventReadWrite},
                {kSystem, kEventReadOnly},
                {kLocalAccount, kEventReadOnly}});
  // The gate lives only while a process attaches (it has the mutexes' DACL).
  Handle gate(::OpenMutexW(READ_CONTROL, FALSE, shared_object_name(name, L"#gate").c_str()));
  BOOST_TEST(gate.value == nullptr, "no gate outlives the attach");
}

// Tests that the same access list opens the segment again (the DACLs are
// checked and accepted), read-write and read-only, and that another list
// refuses it as not the object it describes.
BOOST_AUTO_TEST_CASE(shared_segment_opens_with_its_list_only) {
  const std::string name = unique_name("list");
  const Access access{{"sid:" + kUsers}, {"sid:" + kSystem}, {}};
  Segment first;
  BOOST_TEST_REQUIRE(access.open(name, 64, 0, first) == SHAREDMEM_OK, sharedmem_last_error_detail());
  BOOST_TEST_REQUIRE(sharedmem_write(first.value, "shared", 6) == SHAREDMEM_OK);
  Segment second;
  BOOST_TEST_REQUIRE(access.open(name, 64, 0, second) == SHAREDMEM_OK, sharedmem_last_error_detail());
  BOOST_TEST(sharedmem_created(second.value) == 0);
  BOOST_TEST(read_value(second.value) == "shared");
  Segment reader;
  BOOST_TEST_REQUIRE(access.open(name, 0, SHAREDMEM_READ_ONLY, reader) == SHAREDMEM_OK,
                     sharedmem_last_error_detail());
  BOOST_TEST(read_value(reader.value) == "shared");
  BOOST_TEST(sharedmem_write(reader.value, "x", 1) == SHAREDMEM_E_READ_ONLY);

  for (const Access& other : {Access{{"sid:" + kUsers}, {}, {}},
                              Access{{"sid:" + kUsers, "sid:" + kSystem}, {}, {}},
                              Access{{}, {"sid:" + kSystem}, {}}}) {
    Segment refused;
    BOOST_TEST(other.open(name, 64, 0, refused) == SHAREDMEM_E_NOT_OWNER);
    BOOST_TEST(std::string(sharedmem_last_error_detail()).find("DACL") != std::string::npos,
               sharedmem_last_error_detail());
  }
  BOOST_TEST(read_value(first.value) == "shared");
}

// Tests that a private segment and a shared one of the same name, or of
// names that differ by the shared prefix, never meet.
BOOST_AUTO_TEST_CASE(private_and_shared_segments_never_meet) {
  const std::string name = unique_name("apart");
  Segment shared;
  const Access owner_only{};
  BOOST_TEST_REQUIRE(owner_only.open(name, 64, 0, shared) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(shared.value, "shared", 6) == SHAREDMEM_OK);
  for (const std::string& private_name : {name, "shared." + name}) {
    Segment other;
    BOOST_TEST_REQUIRE(sharedmem_open(private_name.c_str(), 64, 0, &other.value) == SHAREDMEM_OK);
    BOOST_TEST(sharedmem_created(other.value) == 1, private_name);
  }
  Segment absent;
  BOOST_TEST(owner_only.open("shared." + name, 0, SHAREDMEM_READ_ONLY, absent) ==
             SHAREDMEM_E_NOT_FOUND);
}

// Tests that account names resolve: the current user as "user:NAME" and as
// "user:DOMAIN\NAME" (merged into the owner's ACE), BUILTIN\Users as
// "group:Users".
BOOST_AUTO_TEST_CASE(account_names_resolve) {
  wchar_t user[256];
  DWORD user_length = 256;
  BOOST_TEST_REQUIRE(::GetUserNameW(user, &user_length));
  const std::wstring user_name(user);
  std::vector<unsigned char> sid(SECURITY_MAX_SID_SIZE);
  DWORD sid_size = static_cast<DWORD>(sid.size());
  wchar_t domain[256];
  DWORD domain_length = 256;
  SID_NAME_USE use{};
  BOOST_TEST_REQUIRE(::LookupAccountNameW(nullptr, user, sid.data(), &sid_size, domain,
                                          &domain_length, &use));
  const std::string narrow_user(user_name.begin(), user_name.end());
  const std::wstring wide_domain(domain);
  const std::string qualified = std::string(wide_domain.begin(), wide_domain.end()) + "\\" + narrow_user;
  for (const std::string& principal : {"user:" + narrow_user, "user:" + qualified}) {
    const std::string name = unique_name("names");
    Segment segment;
    const Access access{{principal}, {"group:Users"}, {}};
    BOOST_TEST(access.open(name, 64, 0, segment) == SHAREDMEM_OK,
               principal << ": " << sharedmem_last_error_detail());
    if (!segment.value) continue;
    check_dacl(shared_object_name(name), ::OpenFileMappingW,
               {{me(), SECTION_ALL_ACCESS}, {kUsers, kSectionReadOnly}});
  }
}

// Tests that a principal the system does not know, or of a form it does not
// take, is UNKNOWN_PRINCIPAL, named by the detail, and that nothing is made.
BOOST_AUTO_TEST_CASE(unknown_principal_is_named) {
  for (const std::string& principal :
       {std::string("user:sharedmem-no-such-user"), std::string("group:sharedmem-no-such-group"),
        std::string("sid:S-1-not-a-sid"), std::string("uid:1000"), std::string("nobody"),
        std::string("user:")}) {
    BOOST_TEST_CONTEXT(principal) {
      const std::string name = unique_name("unknown");
      for (const Access& access : {Access{{principal}, {}, {}}, Access{{}, {principal}, {}},
                                   Access{{}, {}, {principal}}}) {
        Segment segment;
        BOOST_TEST(access.open(name, 64, 0, segment) == SHAREDMEM_E_UNKNOWN_PRINCIPAL);
        BOOST_TEST(std::string(sharedmem_last_error_detail()).find('"' + principal + '"') !=
                       std::string::npos,
                   sharedmem_last_error_detail());
      }
      Handle section(::OpenFileMappingW(FILE_MAP_READ, FALSE, shared_object_name(name).c_str()));
      BOOST_TEST(section.value == nullptr, "nothing was created");
      Handle gate(::OpenMutexW(SYNCHRONIZE, FALSE, shared_object_name(name, L"#gate").c_str()));
      BOOST_TEST(gate.value == nullptr, "no gate was left");
    }
  }
  Segment fine;
  const Access known{{"sid:" + kUsers}, {}, {}};
  BOOST_TEST(known.open(unique_name("known"), 64, 0, fine) == SHAREDMEM_OK);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).empty());
}

// Tests that a section planted under the shared name by someone else is
// refused with NOT_OWNER and a detail saying why, for a create and an open
// alike, and left as it was: a NULL DACL, Everyone, a SID besides the listed
// ones, other rights for a listed one, a listed one missing, an inherited
// ACE, a deny ACE.
BOOST_AUTO_TEST_CASE(squatted_sections_are_refused_and_untouched) {
  const std::wstring owner = wide(me());
  const std::wstring full = L"(A;;0xf001f;;;" + owner + L")";
  const std::wstring users = L"(A;;0x20007;;;" + wide(kUsers) + L")";
  const struct {
    const char* what;
    std::wstring sddl;
    const char* detail;
  } cases[] = {
      {"NULL DACL", L"", "NULL DACL"},
      {"Everyone", L"O:" + owner + L"D:P" + full + users + L"(A;;0x20007;;;WD)", "S-1-1-0"},
      {"extra SID", L"O:" + owner + L"D:P" + full + users + L"(A;;0x20005;;;" +
           wide(kLocalAccount) + L")", kLocalAccount.c_str()},
      {"other rights", L"O:" + owner + L"D:P" + full + L"(A;;0xf001f;;;" + wide(kUsers) + L")",
       "other rights"},
      {"missing ACE", L"O:" + owner + L"D:P" + full, "lacks"},
      {"deny ACE", L"O:" + owner + L"D:P(D;;0x2;;;WD)" + full + users, "type 1"},
  };
  for (const auto& squat : cases) {
    BOOST_TEST_CONTEXT(squat.what) {
      const std::string name = unique_name("squat");
      Squatter squatter(name, squat.sddl);
      const std::string before = squatter.sddl();
      for (const std::uint32_t flags : {0u, SHAREDMEM_CREATE_ONLY + 0u, SHAREDMEM_OPEN_ONLY + 0u,
                                        SHAREDMEM_READ_ONLY + 0u}) {
        Segment segment;
        const sharedmem_error e = Access{{"sid:" + kUsers}, {}, {}}.open(name, 64, flags, segment);
        if (flags == SHAREDMEM_CREATE_ONLY) {
          BOOST_TEST((e == SHAREDMEM_E_NOT_OWNER || e == SHAREDMEM_E_EXISTS),
                     sharedmem_error_name(e));
          continue;
        }
        BOOST_TEST(e == SHAREDMEM_E_NOT_OWNER, "flags " << flags << ": " << sharedmem_error_name(e));
        BOOST_TEST(std::string(sharedmem_last_error_detail()).find(squat.detail) !=
                       std::string::npos,
                   sharedmem_last_error_detail());
      }
      BOOST_TEST(squatter.untouched(), "the squatter's bytes are as it left them");
      BOOST_TEST(squatter.sddl() == before, "and so is its security");
    }
  }
}

// Tests that a squatter on one of the other objects (the gate mutex, the
// events) is refused as well, before any section is made.
BOOST_AUTO_TEST_CASE(squatted_kernel_objects_are_refused) {
  for (const wchar_t* suffix : {L"#gate", L"#writer", L"#changed"}) {
    const bool mutex = std::wstring(suffix) == L"#gate";
    BOOST_TEST_CONTEXT(std::string(suffix, suffix + std::wcslen(suffix))) {
      const std::string name = unique_name("squatobj");
      SECURITY_DESCRIPTOR null_dacl{};
      std::vector<unsigned char> user = current_user();
      null_dacl_owned_by_user(null_dacl, user);
      SECURITY_ATTRIBUTES everyone{sizeof everyone, &null_dacl, FALSE};
      Handle squatter(mutex ? ::CreateMutexW(&everyone, FALSE, shared_object_name(name, suffix).c_str())
                            : ::CreateEventW(&everyone, TRUE, FALSE,
                                             shared_object_name(name, suffix).c_str()));
      BOOST_TEST_REQUIRE(squatter.value != nullptr);
      Segment segment;
      const Access access{{"sid:" + kUsers}, {}, {}};
      BOOST_TEST(access.open(name, 64, 0, segment) == SHAREDMEM_E_NOT_OWNER);
      BOOST_TEST(std::string(sharedmem_last_error_detail()).find("NULL DACL") != std::string::npos,
                 sharedmem_last_error_detail());
      Handle section(::OpenFileMappingW(FILE_MAP_READ, FALSE, shared_object_name(name).c_str()));
      BOOST_TEST(section.value == nullptr, "no section was made");
    }
  }
}

// Tests that a kernel object of another type under a shared segment's name
// (a mutex where the section goes, an event where the #gate mutex goes) is
// refused as NOT_OWNER, like every squat in the shared namespace (in the
// private one it is the user's own mistake: INCOMPATIBLE), and that no
// section is made.
BOOST_AUTO_TEST_CASE(another_type_under_a_shared_name_is_not_owner) {
  for (const wchar_t* suffix : {L"", L"#gate"}) {
    BOOST_TEST_CONTEXT("under " << (*suffix ? "#gate" : "the section's name")) {
      const std::string name = unique_name("squattype");
      Handle squatter(*suffix ? ::CreateEventW(nullptr, TRUE, FALSE,
                                               shared_object_name(name, suffix).c_str())
                              : ::CreateMutexW(nullptr, FALSE, shared_object_name(name).c_str()));
      BOOST_TEST_REQUIRE(squatter.value != nullptr);
      Segment segment;
      const Access access{{"sid:" + kUsers}, {}, {}};
      BOOST_TEST(access.open(name, 64, 0, segment) == SHAREDMEM_E_NOT_OWNER);
      Handle section(::OpenFileMappingW(FILE_MAP_READ, FALSE, shared_object_name(name).c_str()));
      BOOST_TEST(section.value == nullptr, "no section was made");
    }
  }
}

// Tests that a section of the exact listed DACL but owned by another
// principal (BUILTIN\Administrators) is refused unless that principal is a
// listed creator; listed, the owner check passes and the section is judged
// by its content (the planted bytes are no segment: INCOMPATIBLE).
BOOST_AUTO_TEST_CASE(owner_must_be_the_user_or_a_listed_creator,
                     only_if(kCanOwnAsAdministrators)) {
  const std::string name = unique_name("owner");
  const std::wstring administrators = L"S-1-5-32-544";
  Squatter squatter(name, L"O:BAD:P(A;;0xf001f;;;" + administrators + L")(A;;0x20007;;;" +
                              wide(me()) + L")");
  Segment segment;
  const Access unlisted{{"sid:" + me()}, {}, {}};
  BOOST_TEST(unlisted.open(name, 64, 0, segment) == SHAREDMEM_E_NOT_OWNER);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).find("S-1-5-32-544") != std::string::npos,
             sharedmem_last_error_detail());
  const sharedmem_error listed =
      Access({{"sid:" + me()}, {}, {"sid:S-1-5-32-544"}}).open(name, 64, SHAREDMEM_OPEN_ONLY, segment);
  BOOST_TEST(listed == SHAREDMEM_E_INCOMPATIBLE, sharedmem_last_error_detail());
  BOOST_TEST_MESSAGE("with the creator listed: " << sharedmem_error_name(listed));
  BOOST_TEST(squatter.untouched());
}

// Tests inspection and listing of the shared namespace: the object is found
// there (not in the private one) with its DACL in SDDL, and a prune of the
// shared namespace has nothing to remove.
BOOST_AUTO_TEST_CASE(shared_segments_are_inspected_listed_and_never_pruned) {
  const std::string name = unique_name("inspect");
  Segment segment;
  const Access access{{"sid:" + kUsers}, {}, {}};
  BOOST_TEST_REQUIRE(access.open(name, 64, 0, segment) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(segment.value, "seen", 4) == SHAREDMEM_OK);
  sharedmem_info info = SHAREDMEM_INFO_INIT;
  BOOST_TEST_REQUIRE(sharedmem_inspect(name.c_str(), SHAREDMEM_SHARED, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.object_class == static_cast<std::uint32_t>(SHAREDMEM_OBJECT_SEGMENT));
  BOOST_TEST(std::string(info.os_name) == "Local\\sharedmem#shared." + name);
  BOOST_TEST(std::string(info.owner) == me());
  const std::string permissions = info.permissions;
  BOOST_TEST(permissions.find("D:P") != std::string::npos, permissions);
  BOOST_TEST(permissions.find("BU") != std::string::npos, permissions);
  sharedmem_info private_info = SHAREDMEM_INFO_INIT;
  BOOST_TEST(sharedmem_inspect(name.c_str(), 0, &private_info) == SHAREDMEM_E_NOT_FOUND);

  struct Found {
    std::string name;
    bool seen = false;
  } found{name};
  const auto visit = [](const sharedmem_info* listed, void* context) -> int {
    auto* f = static_cast<Found*>(context);
    if (f->name == listed->name) f->seen = true;
    return 0;
  };
  BOOST_TEST(sharedmem_list(SHAREDMEM_SHARED, visit, &found) == SHAREDMEM_OK);
  BOOST_TEST(found.seen, "listed in the shared namespace");
  found.seen = false;
  BOOST_TEST(sharedmem_list(0, visit, &found) == SHAREDMEM_OK);
  BOOST_TEST(!found.seen, "not in the private one");
  std::uint32_t removed = 99;
  BOOST_TEST(sharedmem_prune(SHAREDMEM_SHARED, &removed) == SHAREDMEM_OK);
  BOOST_TEST(removed == 0u);
}

// Tests that SHAREDMEM_ACCESS_LOW_INTEGRITY gives each object a low
// mandatory label that forbids writing up, and that openers check it. (Wine
// keeps labels but does not enforce integrity levels: no low-integrity
// process is tried.)
BOOST_AUTO_TEST_CASE(low_integrity_label_is_set, only_if(kLabelsKept)) {
  const std::string name = unique_name("low");
  Access access{{"sid:" + kUsers}, {}, {}};
  access.flags = SHAREDMEM_ACCESS_LOW_INTEGRITY;
  Segment segment;
  BOOST_TEST_REQUIRE(access.open(name, 64, 0, segment) == SHAREDMEM_OK, sharedmem_last_error_detail());
  for (const std::wstring& object : {shared_object_name(name), shared_object_name(name, L"#changed")}) {
    Handle handle(object == shared_object_name(name)
                      ? ::OpenFileMappingW(READ_CONTROL, FALSE, object.c_str())
                      : ::OpenEventW(READ_CONTROL, FALSE, object.c_str()));
    BOOST_TEST_REQUIRE(handle.value != nullptr);
    PACL sacl = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    BOOST_TEST_REQUIRE(::GetSecurityInfo(handle.value, SE_KERNEL_OBJECT, LABEL_SECURITY_INFORMATION,
                                         nullptr, nullptr, nullptr, &sacl, &descriptor) ==
                       ERROR_SUCCESS);
    BOOST_TEST_REQUIRE(sacl != nullptr);
    BOOST_TEST_REQUIRE(sacl->AceCount == 1u);
    void* ace = nullptr;
    BOOST_TEST_REQUIRE(::GetAce(sacl, 0, &ace));
    BOOST_TEST(static_cast<ACE_HEADER*>(ace)->AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE);
    auto* label = static_cast<SYSTEM_MANDATORY_LABEL_ACE*>(ace);
    BOOST_TEST(label->Mask == static_cast<DWORD>(SYSTEM_MANDATORY_LABEL_NO_WRITE_UP));
    LPSTR sid = nullptr;
    BOOST_TEST_REQUIRE(::ConvertSidToStringSidA(&label->SidStart, &sid));
    BOOST_TEST(std::string(sid) == "S-1-16-4096");
    ::LocalFree(sid);
    ::LocalFree(descriptor);
  }
  // The label is part of what an opener checks: a list without the flag
  // refuses the labelled segment, and one with it an unlabelled segment.
  Access unlabelled = access;
  unlabelled.flags = 0;
  Segment refused;
  BOOST_TEST(unlabelled.open(name, 64, 0, refused) == SHAREDMEM_E_NOT_OWNER);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).find("integrity label") != std::string::npos,
             sharedmem_last_error_detail());
  const std::string plain = unique_name("plain");
  Segment plain_segment;
  BOOST_TEST_REQUIRE(unlabelled.open(plain, 64, 0, plain_segment) == SHAREDMEM_OK);
  BOOST_TEST(access.open(plain, 64, 0, refused) == SHAREDMEM_E_NOT_OWNER);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).find("integrity label") != std::string::npos,
             sharedmem_last_error_detail());
  Segment same;
  BOOST_TEST(access.open(name, 0, SHAREDMEM_READ_ONLY, same) == SHAREDMEM_OK,
             sharedmem_last_error_detail());
}

// Tests, as a second account, that the OS keeps out whom the list does not
// let in: not listed, ACCESS_DENIED; listed read-only, ACCESS_DENIED without
// SHAREDMEM_READ_ONLY and a working read-only open with it.
BOOST_AUTO_TEST_CASE(unlisted_user_is_denied_by_the_os, only_if(kOtherUser)) {
  const std::string name = unique_name("denied");
  HANDLE token = other_user_token();
  BOOST_TEST_REQUIRE(token != nullptr);
  DWORD length = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
  std::vector<unsigned char> user(length);
  BOOST_TEST_REQUIRE(::GetTokenInformation(token, TokenUser, user.data(), length, &length));
  LPSTR text = nullptr;
  BOOST_TEST_REQUIRE(::ConvertSidToStringSidA(reinterpret_cast<TOKEN_USER*>(user.data())->User.Sid,
                                              &text));
  const std::string other = text;
  ::LocalFree(text);

  Segment owner_handle;
  const Access closed{{"sid:" + kSystem}, {}, {}};
  BOOST_TEST_REQUIRE(closed.open(name, 64, 0, owner_handle) == SHAREDMEM_OK);
  const std::string reader_name = unique_name("denied-ro");
  const Access reading{{}, {"sid:" + other}, {"sid:" + me()}};
  Segment reader_owner;
  const Access reading_owner{{}, {"sid:" + other}, {}};
  BOOST_TEST_REQUIRE(reading_owner.open(reader_name, 64, 0, reader_owner) == SHAREDMEM_OK);
  BOOST_TEST_REQUIRE(sharedmem_write(reader_owner.value, "readable", 8) == SHAREDMEM_OK);

  sharedmem_error not_listed = SHAREDMEM_OK, read_write = SHAREDMEM_OK, read_only = SHAREDMEM_OK;
  std::string value;
  std::thread as_other([&] {
    if (!::ImpersonateLoggedOnUser(token)) return;
    Segment a, b, c;
    not_listed = closed.open(name, 64, 0, a);
    read_write = reading.open(reader_name, 64, 0, b);
    read_only = reading.open(reader_name, 0, SHAREDMEM_READ_ONLY, c);
    if (c.value) value = read_value(c.value);
    ::RevertToSelf();
  });
  as_other.join();
  ::CloseHandle(token);
  BOOST_TEST(not_listed == SHAREDMEM_E_ACCESS_DENIED, sharedmem_error_name(not_listed));
  BOOST_TEST(read_write == SHAREDMEM_E_ACCESS_DENIED, sharedmem_error_name(read_write));
  BOOST_TEST(read_only == SHAREDMEM_OK, sharedmem_error_name(read_only));
  BOOST_TEST(value == "readable");
}

BOOST_AUTO_TEST_SUITE_END()
