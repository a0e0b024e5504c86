// SPDX-License-Identifier: MIT
// Test support: the OS object behind a segment, reached from outside the
// library. The one place the tests spell the backends' object naming scheme
// and the owner-only security they create objects with, so that a portable
// test can look for, scribble on or squat a segment's object. One
// implementation per OS (os_object_posix.cpp, os_object_windows.cpp).
//
// The naming scheme is the backends' (POSIX: taken from
// platform/linux/object_linux.hpp; Windows: mirrors
// platform/windows/segment_windows.cpp):
//   POSIX    shm name "/sharedmem.<euid>.<name>", file /dev/shm/sharedmem.<euid>.<name>
//   Windows  "Local\sharedmem.<name>" (or Global\), and "#gate", "#writer",
//            "#changed", "#ready" (and "#slot.<n>") kernel objects under the same name plus the suffix;
//            shared segments "Local\sharedmem#shared.<name>" and the same
//            suffixes (windows_sharing_test.cpp spells those)
#ifndef SHAREDMEM_TESTS_SUPPORT_OS_OBJECT_HPP
#define SHAREDMEM_TESTS_SUPPORT_OS_OBJECT_HPP

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "platform/lock_word.hpp"
#include "src/layout.hpp"

#if defined(_WIN32)
struct _SECURITY_ATTRIBUTES;
#endif

namespace sharedmem_test {

// The OS name of segment `name`'s object: what shm_open (POSIX) or
// OpenFileMappingW (Windows) takes.
std::string os_object_name(const std::string& name);

// Whether the OS object behind segment `name` exists (POSIX: in /dev/shm;
// Windows: a section under its name, even one we may not open).
bool os_object_exists(const std::string& name);

// This process's own writable mapping of the whole object of live segment
// `name`, for tests that damage a segment from outside the library. It does
// not count as a user of the segment; on Windows its handle keeps the
// section alive while the view lives, so destroy it before checking that a
// segment is gone.
class OsObjectView {
 public:
  explicit OsObjectView(const std::string& name);
  ~OsObjectView();
  OsObjectView(const OsObjectView&) = delete;
  OsObjectView& operator=(const OsObjectView&) = delete;

  // Whether the object was opened and mapped.
  bool mapped() const { return base_ != nullptr; }
  // Whether it is mapped and holds a header of the layout src/layout.hpp
  // describes (the version this build knows).
  bool has_header() const;
  unsigned char* bytes() const { return base_; }
  // The mapped size: the object's size on POSIX; on Windows the section's,
  // rounded up to whole pages.
  std::size_t size() const { return size_; }
  sharedmem::detail::Header* header() const {
    return reinterpret_cast<sharedmem::detail::Header*>(base_);
  }

 private:
  unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
#if defined(_WIN32)
  void* handle_ = nullptr;  // the section's handle
#else
  int fd_ = -1;  // the object's descriptor
#endif
};

// The backends' area at the end of a segment's object: its last kLockBytes
// (of the size OsObjectView maps), the writer lock's words
// (platform/lock_word.hpp) first, on Linux and Windows alike
constexpr std::size_t kLockBytes = sharedmem::platform::lock_word::kAreaBytes;
inline unsigned char* writer_lock(const OsObjectView& view) {
  return view.bytes() + view.size() - kLockBytes;
}

// A foreign object planted under segment `name`'s object name before any
// segment of that name exists: `size` bytes of `fill`, owner-only (POSIX:
// mode 0600; Windows: owned by the current user with a DACL that admits
// that user only, OwnerOnlySecurity), so only its
// content tells it apart from a segment. Fails the test if the name is
// taken. Removed (POSIX, if the name still holds it) or closed (Windows) on
// destruction.
class ForeignObject {
 public:
  ForeignObject(const std::string& name, std::size_t size, unsigned char fill);
#if defined(_WIN32)
  // Windows: the same with `security` instead (nullptr: the default security).
  ForeignObject(const std::string& name, std::size_t size, unsigned char fill,
                _SECURITY_ATTRIBUTES* security);
#else
  // POSIX: the same with file mode `mode` instead of 0600.
  ForeignObject(const std::string& name, std::size_t size, unsigned char fill, unsigned mode);
#endif
  ~ForeignObject();
  ForeignObject(const ForeignObject&) = delete;
  ForeignObject& operator=(const ForeignObject&) = delete;

  // The object's bytes as they are now under its name (POSIX: "<gone>" once
  // the name holds nothing; Windows, where the handle keeps it: "<unmappable>"
  // if it cannot be mapped).
  std::string contents() const;

 private:
  std::size_t size_ = 0;
#if defined(_WIN32)
  void* handle_ = nullptr;  // the section's handle, which keeps it alive
#else
  std::string os_name_;  // os_object_name of the segment
  std::string path_;     // os_object_path of the segment
  int fd_ = -1;  // a descriptor of it, to know it again
#endif
};

#if defined(_WIN32)
// Windows: the name of one of segment `name`'s kernel objects: the section
// (suffix ""), or the "#gate", "#writer" or "#ready" object; in `scope`
// "Local\\" or "Global\\".
std::wstring os_object_wide_name(const std::string& name, const wchar_t* suffix = L"",
                                 const wchar_t* scope = L"Local\\");

// Windows: the current user's TOKEN_USER, and its SID (in that buffer).
std::vector<unsigned char> current_user();
void* user_sid(std::vector<unsigned char>& token_user);

// Windows: a kernel object's handle, closed at scope exit.
struct Handle {
  void* value = nullptr;
  explicit Handle(void* handle) : value(handle) {}
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// Windows: the owner and DACL of a kernel object (a handle with
// READ_CONTROL), read with GetSecurityInfo; SIDs as text ("S-1-5-18").
struct KernelAce {
  std::string sid;
  unsigned long mask;
  bool operator==(const KernelAce& other) const { return sid == other.sid && mask == other.mask; }
};
std::ostream& operator<<(std::ostream& out, const KernelAce& ace);
struct KernelSecurity {
  std::string owner;
  bool dacl_present = false;    // false: a NULL DACL (open to everyone)
  bool dacl_protected = false;  // SE_DACL_PROTECTED: it inherits nothing
  bool plain_allowed_aces = true;  // every ACE is ACCESS_ALLOWED, without flags
  std::vector<KernelAce> aces;     // the ACCESS_ALLOWED ones, in order
};
KernelSecurity kernel_security(void* object);
// The current user's SID as text.
std::string current_user_sid();

// Windows: security attributes with a DACL granting `rights` to the current
// user only, owned by that user: what sharedmem itself uses.
class OwnerOnlySecurity {
 public:
  explicit OwnerOnlySecurity(unsigned long rights);
  ~OwnerOnlySecurity();
  OwnerOnlySecurity(const OwnerOnlySecurity&) = delete;
  OwnerOnlySecurity& operator=(const OwnerOnlySecurity&) = delete;
  _SECURITY_ATTRIBUTES* attributes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
#else
// POSIX: the shm name of segment `name` as the user `uid` sees it.
std::string os_object_name(const std::string& name, unsigned uid);
// POSIX: the object's file, "/dev/shm" + os_object_name(name).
std::string os_object_path(const std::string& name);
// POSIX: creates file `path` in /dev/shm (which must not exist) holding
// `bytes`, with permissions `mode`, whole at once: it is made under a name
// no sweep looks at and renamed into place, since a sweep running in a
// parallel test takes an empty object under the user's prefix for one whose
// creator died before sizing it, and removes it. False on failure.
bool plant_whole_file(const std::string& path, const std::string& bytes, unsigned mode);
#endif

}  // namespace sharedmem_test

#endif  // SHAREDMEM_TESTS_SUPPORT_OS_OBJECT_HPP
