// SPDX-License-Identifier: MIT
// Tests that only make sense on Windows: LoadLibrary/FreeLibrary, the
// security descriptor of the kernel objects, names taken by foreign objects
// or objects of another type, the abandoned writer mutex, the Global\ scope.
#include <windows.h>

#include <aclapi.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

std::wstring os_name(const std::string& name, const wchar_t* suffix = L"",
                     const wchar_t* scope = L"Local\\") {
  return scope + std::wstring(L"sharedmem.") + widen(name) + suffix;
}

sharedmem_error try_open(const std::string& name, std::uint64_t capacity,
                         sharedmem::scope where = sharedmem::scope::local) {
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(name, capacity, ec, where);
  return static_cast<sharedmem_error>(ec.value());
}

// Closes a handle at scope exit.
struct Handle {
  HANDLE value = nullptr;
  explicit Handle(HANDLE h) : value(h) {}
  ~Handle() {
    if (value) ::CloseHandle(value);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// The current user's SID, owned by the returned buffer.
std::vector<unsigned char> current_user() {
  HANDLE token = nullptr;
  BOOST_TEST_REQUIRE(::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token));
  DWORD length = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &length);
  std::vector<unsigned char> buffer(length);
  BOOST_TEST_REQUIRE(::GetTokenInformation(token, TokenUser, buffer.data(), length, &length));
  ::CloseHandle(token);
  return buffer;
}

PSID sid_of(std::vector<unsigned char>& token_user) {
  return reinterpret_cast<TOKEN_USER*>(token_user.data())->User.Sid;
}

// Security attributes with a DACL granting `rights` to the current user only,
// owned by the user: what sharedmem itself uses.
struct OwnerOnlyAttributes {
  std::vector<unsigned char> user = current_user();
  std::vector<unsigned char> acl;
  SECURITY_DESCRIPTOR descriptor{};
  SECURITY_ATTRIBUTES attributes{};

  explicit OwnerOnlyAttributes(DWORD rights) {
    PSID sid = sid_of(user);
    acl.resize(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + ::GetLengthSid(sid));
    auto* list = reinterpret_cast<PACL>(acl.data());
    BOOST_TEST_REQUIRE(::InitializeAcl(list, static_cast<DWORD>(acl.size()), ACL_REVISION));
    BOOST_TEST_REQUIRE(::AddAccessAllowedAce(list, ACL_REVISION, rights, sid));
    BOOST_TEST_REQUIRE(::InitializeSecurityDescriptor(&descriptor, SECURITY_DESCRIPTOR_REVISION));
    BOOST_TEST_REQUIRE(::SetSecurityDescriptorOwner(&descriptor, sid, FALSE));
    BOOST_TEST_REQUIRE(::SetSecurityDescriptorDacl(&descriptor, TRUE, list, FALSE));
    attributes = {sizeof attributes, &descriptor, FALSE};
  }
};

// Plants a section of `size` bytes filled with `fill` under `name`; returns
// its handle, which keeps it alive.
HANDLE plant_section(const std::wstring& name, std::size_t size, unsigned char fill,
                     SECURITY_ATTRIBUTES* attributes) {
  HANDLE section = ::CreateFileMappingW(INVALID_HANDLE_VALUE, attributes, PAGE_READWRITE, 0,
                                        static_cast<DWORD>(size), name.c_str());
  BOOST_TEST_REQUIRE(section != nullptr, "CreateFileMappingW error " << ::GetLastError());
  BOOST_TEST_REQUIRE(::GetLastError() != ERROR_ALREADY_EXISTS);
  void* view = ::MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, size);
  BOOST_TEST_REQUIRE(view != nullptr);
  std::memset(view, fill, size);
  ::UnmapViewOfFile(view);
  return section;
}

// The first `size` bytes of the section behind `section`.
std::string section_bytes(HANDLE section, std::size_t size) {
  void* view = ::MapViewOfFile(section, FILE_MAP_READ, 0, 0, size);
  if (view == nullptr) return "<unmappable>";
  std::string bytes(static_cast<const char*>(view), size);
  ::UnmapViewOfFile(view);
  return bytes;
}

// Checks that the object `name` (opened with `open`) is owned by the current
// user and that its DACL is protected and admits the current user only.
template <typename Open>
void check_owner_only(const std::wstring& name, Open open) {
  BOOST_TEST_CONTEXT(std::string(name.begin(), name.end())) {
    Handle object(open(READ_CONTROL, FALSE, name.c_str()));
    BOOST_TEST_REQUIRE(object.value != nullptr, "open error " << ::GetLastError());
    PSID owner = nullptr;
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    BOOST_TEST_REQUIRE(::GetSecurityInfo(object.value, SE_KERNEL_OBJECT,
                                         OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                         &owner, nullptr, &dacl, nullptr,
                                         &descriptor) == ERROR_SUCCESS);
    std::vector<unsigned char> user = current_user();
    BOOST_TEST(::EqualSid(owner, sid_of(user)), "owned by the current user");
    BOOST_TEST_REQUIRE(dacl != nullptr, "a DACL is present (none would admit everyone)");
    BOOST_TEST(dacl->AceCount == 1u);
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
      void* ace = nullptr;
      BOOST_TEST_REQUIRE(::GetAce(dacl, i, &ace));
      BOOST_TEST(static_cast<ACE_HEADER*>(ace)->AceType == ACCESS_ALLOWED_ACE_TYPE);
      BOOST_TEST(::EqualSid(&static_cast<ACCESS_ALLOWED_ACE*>(ace)->SidStart, sid_of(user)),
                 "ACE " << i << " admits the current user only");
    }
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    BOOST_TEST_REQUIRE(::GetSecurityDescriptorControl(descriptor, &control, &revision));
    BOOST_TEST((control & SE_DACL_PROTECTED) != 0, "the DACL inherits nothing");
    ::LocalFree(descriptor);
  }
}

std::string directory_of_self() {
  const std::string self = self_path();
  return self.substr(0, self.find_last_of("\\/") + 1);
}

// Runs the dl probe (support/dl_probe_windows.cpp) with the DLLs this
// executable links, found next to it, and returns its `count` lines.
std::vector<std::string> dl_probe_lines(const std::string& mode, const std::string& second,
                                        const std::string& text, const Environment& env,
                                        int count) {
  const std::string directory = directory_of_self();
  const std::string first =
      directory + (mode == "core" ? SHAREDMEM_CORE_LIBRARY_NAME : SHAREDMEM_SETGET_LIBRARY_NAME);
  ChildProcess probe(directory + SHAREDMEM_DL_PROBE_NAME, {mode, first, second, text}, env);
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) lines.push_back(expect_line(probe));
  BOOST_TEST(expect_exit(probe) == 0);
  return lines;
}

// The seed API's probe: Set, FreeLibrary, reload, Get.
std::vector<std::string> dl_probe_lines(const Environment& env, const std::string& text) {
  return dl_probe_lines("setget", directory_of_self() + SHAREDMEM_CORE_LIBRARY_NAME, text, env, 3);
}

// Takes segment args[0]'s writer mutex directly (as a writer inside
// sharedmem_write would hold it), reports "locked", and holds it until the
// parent says so or kills it.
SHAREDMEM_CHILD_ROLE(hold_writer_mutex) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), 64);
  HANDLE mutex = ::OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE,
                              os_name(args.at(0), L"#writer").c_str());
  const auto wait = static_cast<DWORD>(scaled(std::chrono::seconds(10)).count());
  if (mutex == nullptr || ::WaitForSingleObject(mutex, wait) != WAIT_OBJECT_0) {
    report("error:cannot take the writer mutex");
    return 1;
  }
  report("locked");
  await_parent();
  ::ReleaseMutex(mutex);
  return 0;
}

// Reports "attaching", opens segment args[0], reports "open" (or
// "error:<message>") and holds it until the parent says so.
SHAREDMEM_CHILD_ROLE(attach_and_hold) {
  report("attaching");
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), 64, ec);
  report(ec ? "error:" + ec.message() : "open");
  await_parent();
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(windows)

// Tests that the seed's capacity is 2047 UTF-16 units plus a terminator.
BOOST_AUTO_TEST_CASE(windows_default_capacity_is_2047_utf16_units) {
  BOOST_TEST(sizeof(wchar_t) == 2u);
  BOOST_TEST(SHAREDMEM_DEFAULT_CAPACITY_CHARS == 2047u);
  BOOST_TEST(std::string(sharedmem_backend()) == "windows");
}

// Tests that FreeLibrary really unloads the core DLL after a named segment
// was used through it.
BOOST_AUTO_TEST_CASE(windows_freelibrary_unloads_the_core_library) {
  const std::vector<std::string> lines =
      dl_probe_lines("core", unique_name("dlcore"), "core-text", {}, 2);
  BOOST_TEST(lines[0] == "wrote:core-text");
  BOOST_TEST(lines[1] == "unloaded");
}

// Tests that FreeLibrary really unloads the seed API's DLL and the core DLL
// it loaded, and that unloading it detaches: the next LoadLibrary starts
// from zero.
BOOST_AUTO_TEST_CASE(windows_freelibrary_unloads_and_frees_default_segment) {
  const std::string name = unique_name("dl");
  const std::vector<std::string> lines =
      dl_probe_lines({{"SHAREDMEM_DEFAULT_SEGMENT", name}}, "probe-text");
  BOOST_TEST(lines[0] == "initial:");
  BOOST_TEST(lines[1] == "unloaded");
  BOOST_TEST(lines[2] == "reloaded:", "FreeLibrary in the only user freed the segment");
  BOOST_TEST(!os_object_exists(name));
}

// Tests that after FreeLibrary the value survives while another process has
// the DLL loaded.
BOOST_AUTO_TEST_CASE(windows_freelibrary_keeps_value_held_by_another_process) {
  const Environment env{{"SHAREDMEM_DEFAULT_SEGMENT", unique_name("dlheld")}};
  ChildProcess holder = start_role("seed_set_hold", {"held"}, env);
  BOOST_TEST_REQUIRE(expect_line(holder) == "set");
  const std::vector<std::string> lines = dl_probe_lines(env, "probe-text");
  BOOST_TEST(lines[0] == "initial:held");
  BOOST_TEST(lines[1] == "unloaded");
  BOOST_TEST(lines[2] == "reloaded:probe-text");
  holder.write_line("exit");
  BOOST_TEST(expect_exit(holder) == 0);
}

// Tests that the section and both mutexes are owned by the current user and
// admit nobody else.
BOOST_AUTO_TEST_CASE(windows_objects_admit_only_the_current_user) {
  const std::string name = unique_name("dacl");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  check_owner_only(os_name(name), ::OpenFileMappingW);
  check_owner_only(os_name(name, L"#writer"), ::OpenMutexW);
  // The gate mutex exists only while a process attaches; it is created with
  // the same descriptor as the writer mutex.
}

// Tests that attaching waits while another process holds the segment's
// attach gate (as a first user does while it initialises), and goes on as
// soon as the gate is released.
BOOST_AUTO_TEST_CASE(windows_attach_waits_for_the_gate) {
  const std::string name = unique_name("gate");
  OwnerOnlyAttributes owner_only(MUTEX_ALL_ACCESS);
  Handle gate(::CreateMutexW(&owner_only.attributes, TRUE, os_name(name, L"#gate").c_str()));
  BOOST_TEST_REQUIRE(gate.value != nullptr);
  ChildProcess child = start_role("attach_and_hold", {name});
  BOOST_TEST_REQUIRE(expect_line(child) == "attaching");
  const std::optional<std::string> early = child.read_line(scaled(std::chrono::seconds(1)));
  BOOST_TEST(!early.has_value(), "attached while the gate was held: " << early.value_or(""));
  BOOST_TEST_REQUIRE(::ReleaseMutex(gate.value));
  BOOST_TEST(expect_line(child) == "open");
  child.write_line("exit");
  BOOST_TEST(expect_exit(child) == 0);
}

// Tests that foreign sections under a segment's name, even owner-only ones,
// are refused and left untouched: short, header-sized and larger ones.
BOOST_AUTO_TEST_CASE(windows_foreign_section_is_refused_and_untouched) {
  OwnerOnlyAttributes owner_only(SECTION_ALL_ACCESS);
  for (std::size_t size : {std::size_t{10}, std::size_t{4096}, std::size_t{12288}}) {
    const std::string name = unique_name("foreign");
    Handle planted(plant_section(os_name(name), size, 0xab, &owner_only.attributes));
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE, "size " << size);
    BOOST_TEST(section_bytes(planted.value, size) == std::string(size, '\xab'));
  }
  // Zero-filled content is no different: it was not made by sharedmem.
  const std::string name = unique_name("zeros");
  Handle planted(plant_section(os_name(name), 8192, 0, &owner_only.attributes));
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE);
}

// Tests that a section under a segment's name with the default security
// (open to SYSTEM and others besides the user) is refused as not ours.
BOOST_AUTO_TEST_CASE(windows_section_open_to_others_is_refused_and_untouched) {
  const std::string name = unique_name("open");
  Handle planted(plant_section(os_name(name), 4096, 0x5a, nullptr));
  const sharedmem_error e = try_open(name, 64);
  BOOST_TEST_MESSAGE("default-security section refused with: " << sharedmem_strerror(e));
  BOOST_TEST((e == SHAREDMEM_E_NOT_OWNER || e == SHAREDMEM_E_INCOMPATIBLE));
  BOOST_TEST(section_bytes(planted.value, 4096) == std::string(4096, '\x5a'));

  // A section that grants everyone access is refused as not ours.
  const std::string wide_open = unique_name("everyone");
  SECURITY_DESCRIPTOR null_dacl{};
  BOOST_TEST_REQUIRE(::InitializeSecurityDescriptor(&null_dacl, SECURITY_DESCRIPTOR_REVISION));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorDacl(&null_dacl, TRUE, nullptr, FALSE));
  SECURITY_ATTRIBUTES everyone{sizeof(SECURITY_ATTRIBUTES), &null_dacl, FALSE};
  Handle open_section(plant_section(os_name(wide_open), 4096, 0x5a, &everyone));
  BOOST_TEST(try_open(wide_open, 64) == SHAREDMEM_E_NOT_OWNER);
  BOOST_TEST(section_bytes(open_section.value, 4096) == std::string(4096, '\x5a'));
}

// Tests that a name taken by a kernel object of another type (a mutex or an
// event where the section goes, an event where a mutex goes) is refused.
BOOST_AUTO_TEST_CASE(windows_name_taken_by_another_object_type_is_refused) {
  const std::string mutex_name = unique_name("mutex");
  Handle mutex(::CreateMutexW(nullptr, FALSE, os_name(mutex_name).c_str()));
  BOOST_TEST_REQUIRE(mutex.value != nullptr);
  BOOST_TEST(try_open(mutex_name, 64) == SHAREDMEM_E_INCOMPATIBLE);

  const std::string event_name = unique_name("event");
  Handle event(::CreateEventW(nullptr, TRUE, FALSE, os_name(event_name).c_str()));
  BOOST_TEST_REQUIRE(event.value != nullptr);
  BOOST_TEST(try_open(event_name, 64) == SHAREDMEM_E_INCOMPATIBLE);

  for (const wchar_t* suffix : {L"#gate", L"#writer"}) {
    const std::string name = unique_name("lock");
    Handle squatter(::CreateEventW(nullptr, TRUE, FALSE, os_name(name, suffix).c_str()));
    BOOST_TEST_REQUIRE(squatter.value != nullptr);
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE);
    BOOST_TEST(!os_object_exists(name), "nothing was created");
  }
  // The error names the problem.
  BOOST_TEST(std::string(sharedmem_strerror(SHAREDMEM_E_INCOMPATIBLE)).find("incompatible") !=
             std::string::npos);
}

// Tests that a writer mutex left by a dead holder (abandoned) is taken over
// at once by the next writer, and that one held by a live peer times out.
BOOST_AUTO_TEST_CASE(windows_abandoned_writer_mutex_is_recovered) {
  const std::string name = unique_name("abandon");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  segment.write("before");
  ChildProcess holder = start_role("hold_writer_mutex", {name});
  BOOST_TEST_REQUIRE(expect_line(holder) == "locked");
  holder.kill();
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  segment.write("after", 5, ec);
  BOOST_TEST(!ec, "write after the holder died: " << ec.message());
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)),
             "the abandoned mutex was taken at once, not after a timeout");
  BOOST_TEST(segment.read() == "after");
}

// Tests that a writer mutex held by a live peer makes a write fail with
// TIMEOUT (after 10 s) and leaves the value as it was.
BOOST_AUTO_TEST_CASE(windows_writer_mutex_held_by_live_peer_times_out) {
  const std::string name = unique_name("held");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  segment.write("before");
  ChildProcess holder = start_role("hold_writer_mutex", {name});
  BOOST_TEST_REQUIRE(expect_line(holder) == "locked");
  std::error_code ec;
  segment.write("after", 5, ec);
  BOOST_TEST(ec == sharedmem::errc::timeout, ec.message());
  BOOST_TEST(segment.read() == "before");
  holder.write_line("exit");
  BOOST_TEST(expect_exit(holder) == 0);
  segment.write("after", 5, ec);
  BOOST_TEST(!ec);
}

// Tests that the Global\ scope either works, as a namespace of its own, or
// is refused with a clear ACCESS_DENIED (creating global objects needs
// SeCreateGlobalPrivilege outside session 0).
BOOST_AUTO_TEST_CASE(windows_global_scope_works_or_is_refused_clearly) {
  const std::string name = unique_name("global");
  std::error_code ec;
  sharedmem::segment global = sharedmem::segment::open(name, 64, ec, sharedmem::scope::global);
  if (ec) {
    BOOST_TEST_MESSAGE("Global\\ refused: " << ec.message());
    BOOST_TEST(ec == sharedmem::errc::access_denied);
    return;
  }
  BOOST_TEST_MESSAGE("Global\\ scope accepted");
  global.write("global value");
  sharedmem::segment local = sharedmem::segment::open(name, 64);
  BOOST_TEST(local.read().empty(), "Local\\ and Global\\ are separate namespaces");
  sharedmem::segment again = sharedmem::segment::open(name, 64, sharedmem::scope::global);
  BOOST_TEST(again.read() == "global value");
  check_owner_only(os_name(name, L"", L"Global\\"), ::OpenFileMappingW);
}

// Tests that a live section whose header was overwritten with the
// "initialising" marker is refused, not taken over: live users completed
// their attach (their #ready handles say so), so nobody may reset it.
BOOST_AUTO_TEST_CASE(windows_live_header_marked_initialising_is_not_taken_over) {
  const std::string name = unique_name("unfinished");
  sharedmem::segment holder = sharedmem::segment::open(name, std::stoull(kChildCapacity));
  holder.write("old");
  Handle section(::OpenFileMappingW(FILE_MAP_WRITE, FALSE, os_name(name).c_str()));
  BOOST_TEST_REQUIRE(section.value != nullptr);
  void* view = ::MapViewOfFile(section.value, FILE_MAP_WRITE, 0, 0, 0);
  BOOST_TEST_REQUIRE(view != nullptr);
  std::uint64_t magic = 0;
  std::memcpy(&magic, view, sizeof magic);
  const std::uint64_t initialising = 0x5449'4e49'4d48'5353ull;  // kMagicInitialising, src/layout.hpp
  std::memcpy(view, &initialising, sizeof initialising);
  BOOST_TEST(try_open(name, std::stoull(kChildCapacity)) == SHAREDMEM_E_INCOMPATIBLE);
  BOOST_TEST(holder.read() == "old", "the live segment was not reset");
  std::memcpy(view, &magic, sizeof magic);
  ::UnmapViewOfFile(view);
  BOOST_TEST(read_in_child(name) == "value:old");
}

BOOST_AUTO_TEST_SUITE_END()
