// SPDX-License-Identifier: MIT
// POSIX test support for the OS object of a segment: shm_open and mmap.
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "os_object.hpp"
#include "platform/linux/object_linux.hpp"

namespace sharedmem_test {

std::string os_object_name(const std::string& name, unsigned uid) {
  return sharedmem::platform::posix::shm_name_of(name, static_cast<uid_t>(uid));
}

std::string os_object_name(const std::string& name) {
  return os_object_name(name, static_cast<unsigned>(::geteuid()));
}

std::string os_object_path(const std::string& name) {
  return sharedmem::platform::posix::kShmDirectory + os_object_name(name);
}

bool os_object_exists(const std::string& name) {
  struct stat status {};
  return ::stat(os_object_path(name).c_str(), &status) == 0;
}

OsObjectView::OsObjectView(const std::string& name) {
  fd_ = ::shm_open(os_object_name(name).c_str(), O_RDWR | O_CLOEXEC, 0);
  struct stat status {};
  if (fd_ < 0 || ::fstat(fd_, &status) != 0 || status.st_size == 0) return;
  void* address = ::mmap(nullptr, static_cast<std::size_t>(status.st_size),
                         PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (address == MAP_FAILED) return;
  base_ = static_cast<unsigned char*>(address);
  size_ = static_cast<std::size_t>(status.st_size);
}

OsObjectView::~OsObjectView() {
  if (base_) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

bool OsObjectView::has_header() const {
  return base_ != nullptr && size_ >= sharedmem::detail::kHeaderBytes &&
         header()->layout_version == sharedmem::detail::kLayoutVersion;
}

bool plant_whole_file(const std::string& path, const std::string& bytes, unsigned mode) {
  static int planted_count = 0;
  const std::string staging = "/dev/shm/sharedmem-planting." + std::to_string(::getpid()) + "." +
                              std::to_string(++planted_count);
  const int fd = ::open(staging.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool written = ::fchmod(fd, static_cast<mode_t>(mode)) == 0 &&  // whatever the umask
                       ::write(fd, bytes.data(), bytes.size()) ==
                           static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (written &&
      ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
    return true;
  ::unlink(staging.c_str());
  return false;
}

ForeignObject::ForeignObject(const std::string& name, std::size_t size, unsigned char fill)
    : ForeignObject(name, size, fill, 0600) {}

ForeignObject::ForeignObject(const std::string& name, std::size_t size, unsigned char fill,
                             unsigned mode)
    : size_(size), os_name_(os_object_name(name)), path_(os_object_path(name)) {
  BOOST_TEST_REQUIRE(plant_whole_file(path_, std::string(size, static_cast<char>(fill)), mode),
                     "planting " << path_);
  fd_ = ::open(path_.c_str(), O_PATH | O_CLOEXEC);  // to know it again, whatever its mode
  BOOST_TEST_REQUIRE(fd_ >= 0, "open " << path_);
}

ForeignObject::~ForeignObject() {
  struct stat planted {};
  struct stat now {};
  if (fd_ < 0) return;
  if (::fstat(fd_, &planted) == 0 && ::stat(path_.c_str(), &now) == 0 &&
      planted.st_ino == now.st_ino && planted.st_dev == now.st_dev)
    ::shm_unlink(os_name_.c_str());
  ::close(fd_);
}

std::string ForeignObject::contents() const {
  const int fd = ::shm_open(os_name_.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return "<gone>";
  std::string bytes(size_ + 1, '\0');  // one more: a grown object shows
  const ssize_t n = ::read(fd, bytes.data(), bytes.size());
  ::close(fd);
  bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return bytes;
}

}  // namespace sharedmem_test
