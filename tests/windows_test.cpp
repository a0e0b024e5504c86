// SPDX-License-Identifier: MIT
// Tests that only make sense on Windows: the security descriptor of the
// kernel objects, the attach gate, zero-filled sections and sections open to
// others under a segment's name, names taken by objects of another type, the
// abandoned writer mutex, the Global\ scope.
#include <windows.h>

#include <aclapi.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "support/child_io.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/roles.hpp"
#include "support/segment_children.hpp"

using namespace sharedmem_test;

namespace {

sharedmem_error try_open(const std::string& name, std::uint64_t capacity,
                         sharedmem::scope where = sharedmem::scope::local) {
  std::error_code ec;
  sharedmem::segment segment = sharedmem::segment::open(name, capacity, ec, where);
  return static_cast<sharedmem_error>(ec.value());
}

// Checks that the object `name` (opened with `open`) is owned by the current
// user and that its DACL is protected and admits the current user only.
template <typename Open>
void check_owner_only(const std::wstring& name, Open open) {
  BOOST_TEST_CONTEXT(std::string(name.begin(), name.end())) {
    Handle object(open(READ_CONTROL, FALSE, name.c_str()));
    BOOST_TEST_REQUIRE(object.value != nullptr, "open error " << ::GetLastError());
    const KernelSecurity security = kernel_security(object.value);
    const std::string user = current_user_sid();
    BOOST_TEST(security.owner == user, "owned by the current user");
    BOOST_TEST_REQUIRE(security.dacl_present, "a DACL is present (none would admit everyone)");
    BOOST_TEST(security.plain_allowed_aces);
    BOOST_TEST_REQUIRE(security.aces.size() == 1u);
    BOOST_TEST(security.aces[0].sid == user, "the ACE admits the current user only");
    BOOST_TEST(security.dacl_protected, "the DACL inherits nothing");
  }
}

// Takes segment args[0]'s writer lock (an in-place write, kept across
// calls), reports "locked", and holds it until the parent says so or kills
// it; then gives the write up.
SHAREDMEM_CHILD_ROLE(hold_writer_lock) {
  sharedmem::segment segment = sharedmem::segment::open(args.at(0), 64);
  std::error_code ec;
  sharedmem::in_place_writer writer = segment.write_in_place(5, ec);
  if (ec) {
    report("error:cannot take the writer lock: " + ec.message());
    return 1;
  }
  report("locked");
  await_parent();
  writer.abort();
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

// Tests that the section, the #gate mutex and the events are owned by
// the current user and admit nobody else.
BOOST_AUTO_TEST_CASE(windows_objects_admit_only_the_current_user) {
  const std::string name = unique_name("dacl");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  check_owner_only(os_object_wide_name(name), ::OpenFileMappingW);
  check_owner_only(os_object_wide_name(name, L"#writer"), ::OpenEventW);
  check_owner_only(os_object_wide_name(name, L"#changed"), ::OpenEventW);
  // The gate mutex exists only while a process attaches, created with the
  // same owner-only descriptor (windows_attach_waits_for_the_gate).
}

// Tests that attaching waits while another process holds the segment's
// attach gate (as a first user does while it initialises), and goes on as
// soon as the gate is released.
BOOST_AUTO_TEST_CASE(windows_attach_waits_for_the_gate) {
  const std::string name = unique_name("gate");
  OwnerOnlySecurity owner_only(MUTEX_ALL_ACCESS);
  Handle gate(
      ::CreateMutexW(owner_only.attributes(), TRUE, os_object_wide_name(name, L"#gate").c_str()));
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

// Tests that a zero-filled owner-only section under a segment's name is
// refused, not taken for a blank leftover to reset: on Windows only the
// creator of a section, or the heir of a gate abandoned mid-attach, ever
// initialises one. (POSIX resets a blank object its lone user finds:
// posix_blank_leftover_is_reset.)
BOOST_AUTO_TEST_CASE(windows_zero_filled_foreign_section_is_refused) {
  const std::string name = unique_name("zeros");
  ForeignObject planted(name, 8192, 0);
  BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE);
  BOOST_TEST(planted.contents() == std::string(8192, '\0'), "the section is untouched");
}

// Tests that a section under a segment's name with the default security
// (open to SYSTEM and others besides the user) is refused as not ours.
BOOST_AUTO_TEST_CASE(windows_section_open_to_others_is_refused_and_untouched) {
  const std::string name = unique_name("open");
  ForeignObject planted(name, 4096, 0x5a, nullptr);
  const sharedmem_error e = try_open(name, 64);
  BOOST_TEST_MESSAGE("default-security section refused with: " << sharedmem_strerror(e));
  BOOST_TEST((e == SHAREDMEM_E_NOT_OWNER || e == SHAREDMEM_E_INCOMPATIBLE));
  BOOST_TEST(planted.contents() == std::string(4096, '\x5a'));

  // A section that grants everyone access is refused as not ours.
  const std::string wide_open = unique_name("everyone");
  SECURITY_DESCRIPTOR null_dacl{};
  BOOST_TEST_REQUIRE(::InitializeSecurityDescriptor(&null_dacl, SECURITY_DESCRIPTOR_REVISION));
  BOOST_TEST_REQUIRE(::SetSecurityDescriptorDacl(&null_dacl, TRUE, nullptr, FALSE));
  SECURITY_ATTRIBUTES everyone{sizeof(SECURITY_ATTRIBUTES), &null_dacl, FALSE};
  ForeignObject open_section(wide_open, 4096, 0x5a, &everyone);
  BOOST_TEST(try_open(wide_open, 64) == SHAREDMEM_E_NOT_OWNER);
  BOOST_TEST(open_section.contents() == std::string(4096, '\x5a'));
}

// Tests that a name taken by a kernel object of another type (a mutex or an
// event where the section goes, an event where the #gate mutex goes, a mutex
// where the #writer or #changed event goes) is refused.
BOOST_AUTO_TEST_CASE(windows_name_taken_by_another_object_type_is_refused) {
  const std::string mutex_name = unique_name("mutex");
  Handle mutex(::CreateMutexW(nullptr, FALSE, os_object_wide_name(mutex_name).c_str()));
  BOOST_TEST_REQUIRE(mutex.value != nullptr);
  BOOST_TEST(try_open(mutex_name, 64) == SHAREDMEM_E_INCOMPATIBLE);

  const std::string event_name = unique_name("event");
  Handle event(::CreateEventW(nullptr, TRUE, FALSE, os_object_wide_name(event_name).c_str()));
  BOOST_TEST_REQUIRE(event.value != nullptr);
  BOOST_TEST(try_open(event_name, 64) == SHAREDMEM_E_INCOMPATIBLE);

  {
    const std::string name = unique_name("gate");
    Handle squatter(
        ::CreateEventW(nullptr, TRUE, FALSE, os_object_wide_name(name, L"#gate").c_str()));
    BOOST_TEST_REQUIRE(squatter.value != nullptr);
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE, "an event under #gate");
    BOOST_TEST(!os_object_exists(name), "nothing was created");
  }
  for (const wchar_t* suffix : {L"#writer", L"#changed"}) {
    const std::string name = unique_name("event");
    Handle squatter(::CreateMutexW(nullptr, FALSE, os_object_wide_name(name, suffix).c_str()));
    BOOST_TEST_REQUIRE(squatter.value != nullptr);
    BOOST_TEST(try_open(name, 64) == SHAREDMEM_E_INCOMPATIBLE, "a mutex under an event's name");
    BOOST_TEST(!os_object_exists(name), "nothing was created");
  }
  // The error names the problem.
  BOOST_TEST(std::string(sharedmem_strerror(SHAREDMEM_E_INCOMPATIBLE)).find("incompatible") !=
             std::string::npos);
}

// Tests that a writer lock whose holder was killed (TerminateProcess, which
// wakes nobody) is taken over by the next writer within its sleep slices,
// not after the writer's timeout.
BOOST_AUTO_TEST_CASE(windows_killed_writer_lock_holder_is_recovered) {
  const std::string name = unique_name("abandon");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  segment.write("before");
  ChildProcess holder = start_role("hold_writer_lock", {name});
  BOOST_TEST_REQUIRE(expect_line(holder) == "locked");
  holder.kill();
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  segment.write("after", 5, ec);
  BOOST_TEST(!ec, "write after the holder died: " << ec.message());
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)),
             "the dead holder's lock was taken over, not after a timeout");
  BOOST_TEST(segment.read() == "after");
}

// Tests that a writer lock held by a live peer makes a write fail with
// TIMEOUT (after 10 s) and leaves the value as it was.
BOOST_AUTO_TEST_CASE(windows_writer_lock_held_by_live_peer_times_out) {
  const std::string name = unique_name("held");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  segment.write("before");
  ChildProcess holder = start_role("hold_writer_lock", {name});
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
  check_owner_only(os_object_wide_name(name, L"", L"Global\\"), ::OpenFileMappingW);
}

BOOST_AUTO_TEST_SUITE_END()
