// SPDX-License-Identifier: MIT
// Tests of inspection (sharedmem_inspect, sharedmem_list): what it reports
// about live segments, planted objects and leftovers, and that it never
// becomes a user of what it looks at, never changes it, and never crashes
// on it.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem.hpp"
#include "src/layout.hpp"
#include "support/child_io.hpp"
#include "support/os_object.hpp"
#include "support/process.hpp"
#include "support/segment_children.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

using namespace sharedmem_test;
namespace layout = sharedmem::detail;

namespace {

bool posix_backend() { return std::string(sharedmem_backend()) == "posix"; }

sharedmem_info inspect_name(const std::string& name, sharedmem_error expected = SHAREDMEM_OK) {
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const sharedmem_error e = sharedmem_inspect(name.c_str(), 0, &info);
  BOOST_TEST(e == expected, "sharedmem_inspect(" << name << "): " << sharedmem_strerror(e));
  return info;
}

// The objects that sharedmem_list reports, by name.
int SHAREDMEM_CALL collect(const sharedmem_info* info, void* context) {
  static_cast<std::vector<sharedmem_info>*>(context)->push_back(*info);
  return 0;
}

const sharedmem_info* find(const std::vector<sharedmem_info>& all, const std::string& name) {
  for (const sharedmem_info& info : all)
    if (name == info.name) return &info;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inspect)

// Tests that a name nothing holds is NOT_FOUND, with the OS name it would have.
BOOST_AUTO_TEST_CASE(absent_name_is_not_found) {
  const std::string name = unique_name("absent");
  const sharedmem_info info = inspect_name(name, SHAREDMEM_E_NOT_FOUND);
  BOOST_TEST(info.name == name);
  BOOST_TEST(std::string(info.os_name).find(name) != std::string::npos, info.os_name);
  BOOST_TEST(!os_object_exists(name), "inspection created nothing");
}

// Tests every bad argument of sharedmem_inspect and sharedmem_list.
BOOST_AUTO_TEST_CASE(bad_arguments_are_refused) {
  sharedmem_info info{};
  BOOST_TEST(sharedmem_inspect("x", 0, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  info.struct_size = 0;
  BOOST_TEST(sharedmem_inspect("x", 0, &info) == SHAREDMEM_E_INVALID_ARGUMENT);
  info.struct_size = sizeof info;
  BOOST_TEST(sharedmem_inspect("x", 0x100, &info) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_inspect(nullptr, 0, &info) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_inspect("bad/name", 0, &info) == SHAREDMEM_E_INVALID_NAME);
  BOOST_TEST(sharedmem_inspect(".hidden", 0, &info) == SHAREDMEM_E_INVALID_NAME);
  BOOST_TEST(sharedmem_list(0, nullptr, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
  BOOST_TEST(sharedmem_list(0x100, collect, nullptr) == SHAREDMEM_E_INVALID_ARGUMENT);
}

// Tests that a raw segment is reported as a live segment of kind raw, with
// its capacity and its version (the count of its notifications), and that
// the C++ layer names the kind when a raw name is opened as a value.
BOOST_AUTO_TEST_CASE(raw_segment_is_reported_as_raw) {
  const std::string name = unique_name("inspraw");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 5000, SHAREDMEM_RAW, &segment) == SHAREDMEM_OK);
  BOOST_TEST(sharedmem_notify(segment, nullptr) == SHAREDMEM_OK);
  const sharedmem_info info = inspect_name(name, SHAREDMEM_OK);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(info.kind == SHAREDMEM_KIND_RAW);
  BOOST_TEST(info.capacity == 5000u);
  BOOST_TEST(info.version == 1u);
  try {
    (void)sharedmem::segment::open(name, 5000);
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::wrong_kind);
    BOOST_TEST(std::string(e.what()).find("it is a raw segment") != std::string::npos, e.what());
  }
  const std::string value_name = unique_name("inspval");
  sharedmem::segment value = sharedmem::segment::open(value_name, 64);
  try {
    (void)sharedmem::raw_segment::open(value_name, 64);
    BOOST_FAIL("expected sharedmem::error");
  } catch (const sharedmem::error& e) {
    BOOST_TEST(e.code() == sharedmem::errc::wrong_kind);
    BOOST_TEST(std::string(e.what()).find("it is a value segment") != std::string::npos, e.what());
  }
  sharedmem_close(segment);
}

// Tests that a live segment is reported with its kind, capacity, value size,
// version, layout version, owner and permissions, and (where the OS tells)
// one holder per open handle.
BOOST_AUTO_TEST_CASE(live_segment_is_reported_in_full) {
  const std::string name = unique_name("live");
  sharedmem::segment segment = sharedmem::segment::open(name, 100);
  segment.write("first value");
  segment.write("hello");
  sharedmem_info info = inspect_name(name);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(info.kind == SHAREDMEM_KIND_VALUE);
  BOOST_TEST(info.capacity == 100u);
  BOOST_TEST(info.value_size == 5u);
  BOOST_TEST(info.version == 2u);
  BOOST_TEST(info.layout_version == layout::kLayoutVersion);
  BOOST_TEST(info.object_size >= layout::kHeaderBytes + 2 * 128);
  BOOST_TEST(info.owner[0] != '\0');
  BOOST_TEST(info.permissions[0] != '\0');
  if (posix_backend()) {
    BOOST_TEST(info.mode == 0600u);
    BOOST_TEST(std::string(info.permissions) == "-rw------- (0600)");
    BOOST_TEST(info.holders == 1u);
    sharedmem::segment second = sharedmem::segment::open(name, 100);
    BOOST_TEST(inspect_name(name).holders == 2u);
  } else {
    BOOST_TEST(info.holders == SHAREDMEM_HOLDERS_UNKNOWN);
    BOOST_TEST(std::string(info.os_name) == "Local\\sharedmem." + name);
    BOOST_TEST(std::string(info.permissions).rfind("D:P(A;;", 0) == 0u, info.permissions);
  }
  BOOST_TEST(segment.read() == "hello", "inspection changed nothing");
  BOOST_TEST(segment.version() == 2u);
}

// Tests that inspecting never joins a segment's lifetime: the last close
// still frees it, and the next open starts from an empty value.
BOOST_AUTO_TEST_CASE(inspection_never_keeps_a_segment_alive) {
  const std::string name = unique_name("lifetime");
  {
    sharedmem::segment segment = sharedmem::segment::open(name, 64);
    segment.write("old");
    BOOST_TEST(inspect_name(name).object_class == SHAREDMEM_OBJECT_SEGMENT);
  }
  BOOST_TEST(!os_object_exists(name), "the last close freed it");
  ChildProcess holder = hold_in_child(name, "from child");
  BOOST_TEST(inspect_name(name).value_size == 10u);
  release(holder);
  BOOST_TEST(!os_object_exists(name), "the holder's exit freed it");
  sharedmem::segment fresh = sharedmem::segment::open(name, 64);
  BOOST_TEST(fresh.created());
  BOOST_TEST(fresh.read().empty());
}

// Tests that a caller's larger struct (a newer header) is filled up to what
// this library knows and left alone beyond it, and struct_size kept.
BOOST_AUTO_TEST_CASE(struct_size_bounds_what_is_written) {
  const std::string name = unique_name("size");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  struct Newer {
    sharedmem_info info;
    unsigned char later_fields[64];
  } newer;
  std::memset(&newer, 0xee, sizeof newer);
  newer.info.struct_size = sizeof newer;
  BOOST_TEST(sharedmem_inspect(name.c_str(), 0, &newer.info) == SHAREDMEM_OK);
  BOOST_TEST(newer.info.struct_size == sizeof newer);
  BOOST_TEST(newer.info.capacity == 64u);
  BOOST_TEST(std::all_of(newer.later_fields, newer.later_fields + 64,
                         [](unsigned char b) { return b == 0xee; }));
}

// Tests SHAREDMEM_INFO_INIT (this header's size, the rest zero) and that a
// segment's texts, all short enough, are reported whole: no truncation flag.
BOOST_AUTO_TEST_CASE(info_init_and_truncation_flags) {
  sharedmem_info info = SHAREDMEM_INFO_INIT;
  BOOST_TEST(info.struct_size == sizeof info);
  BOOST_TEST(info.truncated == 0u);
  BOOST_TEST(info.name[0] == '\0');
  const std::string name = unique_name(std::string(100, 'n'));
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  BOOST_TEST(sharedmem_inspect(name.c_str(), 0, &info) == SHAREDMEM_OK);
  BOOST_TEST(info.name == name);
  BOOST_TEST(info.truncated == 0u, "os name " << info.os_name << ", owner " << info.owner
                                              << ", permissions " << info.permissions);
  BOOST_TEST(std::string(info.os_name).find(name) != std::string::npos, info.os_name);
}

// Tests that the C++ layer keeps only what both it and the library know of
// the library's sharedmem_info: from a smaller (older) library's, the fields
// it has and zeros beyond; from a larger (newer) one's, this header's size.
BOOST_AUTO_TEST_CASE(cpp_copies_only_what_both_sides_know) {
  struct Larger {
    sharedmem_info info;
    unsigned char later_fields[64];
  } library;
  std::memset(&library, 0xee, sizeof library);
  const std::uint32_t older = offsetof(sharedmem_info, truncated);
  library.info.struct_size = older;
  sharedmem_info copy = sharedmem::detail::copy_known(library.info);
  BOOST_TEST(copy.struct_size == older);
  BOOST_TEST(copy.mode == 0xeeeeeeeeu, "a field both know is copied");
  BOOST_TEST(copy.truncated == 0u, "a field the library does not have stays zero");
  BOOST_TEST(copy.name[0] == '\0');
  library.info.struct_size = sizeof library;
  copy = sharedmem::detail::copy_known(library.info);
  BOOST_TEST(copy.struct_size == sizeof(sharedmem_info));
  BOOST_TEST(static_cast<unsigned char>(copy.permissions[sizeof copy.permissions - 1]) == 0xeeu);
}

// Tests that foreign objects under a segment's name are classified as such
// and left exactly as they were: garbage of several sizes.
BOOST_AUTO_TEST_CASE(foreign_objects_are_classified_and_untouched) {
  for (std::size_t size : {std::size_t{10}, std::size_t{4096}, std::size_t{12288}}) {
    BOOST_TEST_CONTEXT("object of " << size << " bytes") {
      const std::string name = unique_name("foreign");
      ForeignObject planted(name, size, 0xab);
      const sharedmem_info info = inspect_name(name);
      BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_FOREIGN);
      BOOST_TEST(info.kind == SHAREDMEM_KIND_UNKNOWN);
      BOOST_TEST(info.capacity == 0u);
      BOOST_TEST(planted.contents() == std::string(size, '\xab'), "the object is untouched");
    }
  }
}

// Tests that a live segment whose layout version is another release's is
// reported INCOMPATIBLE with that version.
BOOST_AUTO_TEST_CASE(other_layout_version_is_incompatible) {
  const std::string name = unique_name("layout");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  OsObjectView view(name);
  BOOST_TEST_REQUIRE(view.has_header());
  view.header()->layout_version = 99;
  const sharedmem_info info = inspect_name(name);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_INCOMPATIBLE);
  BOOST_TEST(info.layout_version == 99u);
  view.header()->layout_version = layout::kLayoutVersion;
  BOOST_TEST(inspect_name(name).object_class == SHAREDMEM_OBJECT_SEGMENT);
}

// Tests that an incompatible object's report names the header field that is
// wrong, for inspection and for an open alike (sharedmem_last_error_detail),
// and that a sound header has nothing to say.
BOOST_AUTO_TEST_CASE(incompatible_header_names_the_wrong_field) {
  const std::string name = unique_name("field");
  sharedmem::segment segment = sharedmem::segment::open(name, 64);
  OsObjectView view(name);
  BOOST_TEST_REQUIRE(view.has_header());
  layout::Header& header = *view.header();
  const auto check = [&](const std::string& expected) {
    BOOST_TEST(inspect_name(name).object_class == SHAREDMEM_OBJECT_INCOMPATIBLE);
    const std::string inspected = sharedmem_last_error_detail();
    BOOST_TEST(inspected.find(expected) != std::string::npos, inspected);
    sharedmem_segment* opened = nullptr;
    BOOST_TEST(sharedmem_open(name.c_str(), 0, SHAREDMEM_OPEN_ONLY, &opened) ==
               SHAREDMEM_E_INCOMPATIBLE);
    const std::string open_detail = sharedmem_last_error_detail();
    BOOST_TEST(open_detail.find(expected) != std::string::npos, open_detail);
  };
  const std::uint32_t kind = header.kind;
  header.kind = 7;
  check("kind field holds 7");
  header.kind = kind;
  const std::uint64_t total = header.total_bytes;
  header.total_bytes = total + 4096;
  check("total_bytes field holds " + std::to_string(total + 4096));
  header.total_bytes = total;
  header.layout_version = 99;
  check("layout version is 99");
  header.layout_version = layout::kLayoutVersion;
  BOOST_TEST(inspect_name(name).object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(std::string(sharedmem_last_error_detail()).empty());
}

// Tests that a segment whose holder was killed is no longer reported live:
// dead (Linux, where the object stays until a sweep or the next open) or
// gone (Windows).
BOOST_AUTO_TEST_CASE(killed_holder_leaves_no_live_segment) {
  const std::string name = unique_name("killed");
  ChildProcess holder = hold_in_child(name, "doomed");
  BOOST_TEST(inspect_name(name).object_class == SHAREDMEM_OBJECT_SEGMENT);
  holder.kill();
  sharedmem_info info{};
  info.struct_size = sizeof info;
  const sharedmem_error e = sharedmem_inspect(name.c_str(), 0, &info);
  BOOST_TEST((e == SHAREDMEM_E_NOT_FOUND ||
              (e == SHAREDMEM_OK && info.object_class == SHAREDMEM_OBJECT_DEAD &&
               info.holders == 0u)),
             "error " << e << ", class " << info.object_class);
}

// Tests that sharedmem_list reports each live segment once with what
// sharedmem_inspect says, and stops when the callback asks.
BOOST_AUTO_TEST_CASE(list_reports_live_segments) {
  const std::string a = unique_name("list_a");
  const std::string b = unique_name("list_b");
  sharedmem::segment first = sharedmem::segment::open(a, 64);
  sharedmem::segment second = sharedmem::segment::open(b, 128);
  second.write("xyz");
  std::vector<sharedmem_info> all;
  BOOST_TEST(sharedmem_list(0, collect, &all) == SHAREDMEM_OK);
  const sharedmem_info* found_a = find(all, a);
  const sharedmem_info* found_b = find(all, b);
  BOOST_TEST_REQUIRE(found_a != nullptr);
  BOOST_TEST_REQUIRE(found_b != nullptr);
  BOOST_TEST(found_a->object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(found_b->capacity == 128u);
  BOOST_TEST(found_b->value_size == 3u);
  BOOST_TEST(found_b->struct_size == sizeof(sharedmem_info));
  std::set<std::string> names;
  for (const sharedmem_info& info : all) names.insert(info.name);
  BOOST_TEST(names.size() == all.size(), "each object once");

  int calls = 0;
  BOOST_TEST(sharedmem_list(0,
                            [](const sharedmem_info*, void* context) -> int {
                              ++*static_cast<int*>(context);
                              return 1;
                            },
                            &calls) == SHAREDMEM_OK);
  BOOST_TEST(calls == 1, "the callback stopped the listing");
}

// Tests the C++ layer's inspect and list: the same facts, nullopt for an
// absent name, an exception for a bad one.
BOOST_AUTO_TEST_CASE(cpp_inspect_and_list) {
  const std::string name = unique_name("cpp");
  BOOST_TEST(!sharedmem::inspect(name).has_value());
  sharedmem::segment segment = sharedmem::segment::open(name, 32);
  segment.write("abc");
  const std::optional<sharedmem_info> info = sharedmem::inspect(name);
  BOOST_TEST_REQUIRE(info.has_value());
  BOOST_TEST(info->object_class == SHAREDMEM_OBJECT_SEGMENT);
  BOOST_TEST(info->value_size == 3u);
  BOOST_TEST(find(sharedmem::list(), name) != nullptr);
  BOOST_CHECK_THROW(sharedmem::inspect("bad/name"), sharedmem::error);
  BOOST_CHECK_THROW(sharedmem::inspect(std::string("a\0b", 3)), sharedmem::error);
}

#if !defined(_WIN32)
// Tests that inspecting an object that another process shrank under a live
// segment (the hazard of a mapping: SIGBUS) reads what is left and reports
// it as foreign instead of crashing. POSIX: sections never shrink.
BOOST_AUTO_TEST_CASE(shrunk_object_is_read_safely) {
  const std::string name = unique_name("shrunk");
  sharedmem_segment* segment = nullptr;
  BOOST_TEST_REQUIRE(sharedmem_open(name.c_str(), 4096, 0, &segment) == SHAREDMEM_OK);
  const int fd = ::open(os_object_path(name).c_str(), O_RDWR | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(::ftruncate(fd, 100) == 0);
  const sharedmem_info info = inspect_name(name);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_FOREIGN);
  BOOST_TEST(info.object_size == 100u);
  ::close(fd);
  sharedmem_close(segment);  // never touches the pages, so no SIGBUS here either
}

// Tests that an object other users may open is NOT_OWNER and its content
// is not read (the class says so; the bytes stay as they were).
BOOST_AUTO_TEST_CASE(object_open_to_others_is_not_owner) {
  const std::string name = unique_name("open");
  ForeignObject planted(name, 8192, 0, 0644);
  const sharedmem_info info = inspect_name(name);
  BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_NOT_OWNER);
  BOOST_TEST(info.mode == 0644u);
  BOOST_TEST(info.capacity == 0u);
  BOOST_TEST(planted.contents() == std::string(8192, '\0'));
}

// Tests that a FIFO, a symlink, a directory and a socket under a segment's
// name are foreign, and that inspecting them neither blocks (a FIFO opened
// for reading would wait for a writer) nor follows the link.
BOOST_AUTO_TEST_CASE(special_files_are_foreign_and_not_opened) {
  const std::string fifo = unique_name("fifo");
  const std::string link = unique_name("link");
  const std::string directory = unique_name("dir");
  const std::string socket_name = unique_name("sock");
  BOOST_TEST_REQUIRE(::mkfifo(os_object_path(fifo).c_str(), 0600) == 0);
  BOOST_TEST_REQUIRE(::symlink("/dev/zero", os_object_path(link).c_str()) == 0);
  BOOST_TEST_REQUIRE(::mkdir(os_object_path(directory).c_str(), 0700) == 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, os_object_path(socket_name).c_str(), sizeof address.sun_path - 1);
  const bool bound = sock >= 0 && ::bind(sock, reinterpret_cast<const sockaddr*>(&address),
                                         sizeof address) == 0;
  for (const std::string& name : {fifo, link, directory}) {
    BOOST_TEST_CONTEXT(name) {
      const sharedmem_info info = inspect_name(name);
      BOOST_TEST(info.object_class == SHAREDMEM_OBJECT_FOREIGN);
      BOOST_TEST(info.object_size == 0u);
    }
  }
  if (bound) BOOST_TEST(inspect_name(socket_name).object_class == SHAREDMEM_OBJECT_FOREIGN);
  std::vector<sharedmem_info> all;
  BOOST_TEST(sharedmem_list(0, collect, &all) == SHAREDMEM_OK);
  BOOST_TEST(find(all, fifo) != nullptr);
  ::unlink(os_object_path(fifo).c_str());
  ::unlink(os_object_path(link).c_str());
  ::rmdir(os_object_path(directory).c_str());
  if (sock >= 0) ::close(sock);
  if (bound) ::unlink(os_object_path(socket_name).c_str());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
