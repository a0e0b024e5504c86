// SPDX-License-Identifier: MIT
// What the benchmark compares sharedmem with, each holding one value of up to
// `capacity` bytes in shared memory:
// - RawShm: a bare POSIX shm object (shm_open + ftruncate + mmap), used for
//   the floor (plain memcpy into and out of shared memory, no protocol);
// - PthreadPeer: RawShm plus a process-shared pthread mutex taken around the
//   copy;
// - BoostPeer: what a user writes by hand with Boost.Interprocess:
//   managed_shared_memory, an interprocess_mutex and an allocated buffer;
// - QtPeer (only when Qt 5 is found): QSharedMemory lock + copy + unlock.
// Every object is unlinked as soon as it is mapped, so a crashed run leaves
// nothing in /dev/shm. Payloads start 4096 bytes into the mapping (or on a
// 64-byte boundary for Boost), the same page offset as sharedmem's slots.
#ifndef SHAREDMEM_BENCH_PEERS_HPP
#define SHAREDMEM_BENCH_PEERS_HPP

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#ifdef SHAREDMEM_BENCH_HAVE_QT
#include <QSharedMemory>
#include <QString>
#endif

namespace sharedmem_bench {

inline constexpr std::size_t kPage = 4096;

// A unique object name for this process and purpose.
inline std::string unique_name(const std::string& purpose) {
  return "sharedmem_bench." + std::to_string(::getpid()) + "." + purpose;
}

// A page-aligned private buffer of `size` bytes plus one spare page, so that
// copies can start at any offset within the first page.
class Buffer {
 public:
  explicit Buffer(std::size_t size) : size_(size + kPage) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of a private buffer failed");
    data_ = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < size_; ++i) data_[i] = static_cast<unsigned char>(i * 7 + 1);
  }
  ~Buffer() { ::munmap(data_, size_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  unsigned char* at(std::size_t offset) { return data_ + offset; }

 private:
  std::size_t size_;
  unsigned char* data_;
};

// A bare POSIX shared memory object of `bytes` bytes, mapped and unlinked.
class RawShm {
 public:
  explicit RawShm(std::size_t bytes) : size_(bytes) {
    const std::string name = "/" + unique_name("raw." + std::to_string(bytes));
    const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) throw std::runtime_error("shm_open failed");
    ::shm_unlink(name.c_str());
    if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
      ::close(fd);
      throw std::runtime_error("ftruncate failed");
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of a shm object failed");
    base_ = static_cast<unsigned char*>(p);
    std::memset(base_, 0x5a, bytes);  // fault every page in now
  }
  ~RawShm() { ::munmap(base_, size_); }
  RawShm(const RawShm&) = delete;
  RawShm& operator=(const RawShm&) = delete;
  unsigned char* base() { return base_; }

 private:
  std::size_t size_;
  unsigned char* base_;
};

// A process-shared (not robust) pthread mutex in the first page of a RawShm,
// the payload from the second page on.
class PthreadPeer {
 public:
  explicit PthreadPeer(std::size_t capacity) : shm_(kPage + capacity) {
    state_ = reinterpret_cast<State*>(shm_.base());
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    ::pthread_mutex_init(&state_->mutex, &attributes);
    ::pthread_mutexattr_destroy(&attributes);
    state_->length = 0;
    data_ = shm_.base() + kPage;
  }
  ~PthreadPeer() { ::pthread_mutex_destroy(&state_->mutex); }
  void write(const void* source, std::size_t size) {
    ::pthread_mutex_lock(&state_->mutex);
    std::memcpy(data_, source, size);
    state_->length = size;
    ::pthread_mutex_unlock(&state_->mutex);
  }
  std::size_t read(void* destination, std::size_t room) {
    ::pthread_mutex_lock(&state_->mutex);
    const std::size_t length = state_->length < room ? state_->length : room;
    std::memcpy(destination, data_, length);
    ::pthread_mutex_unlock(&state_->mutex);
    return length;
  }

 private:
  struct State {
    pthread_mutex_t mutex;
    std::size_t length;
  };
  RawShm shm_;
  State* state_ = nullptr;
  unsigned char* data_ = nullptr;
};

// managed_shared_memory with a named {interprocess_mutex, length} and a
// 64-byte aligned payload buffer allocated from the segment.
class BoostPeer {
 public:
  explicit BoostPeer(std::size_t capacity)
      : name_(unique_name("boost." + std::to_string(capacity))),
        segment_(boost::interprocess::create_only, name_.c_str(), capacity + 64 * 1024) {
    boost::interprocess::shared_memory_object::remove(name_.c_str());
    state_ = segment_.construct<State>("state")();
    data_ = static_cast<unsigned char*>(segment_.allocate_aligned(capacity, 64));
    std::memset(data_, 0, capacity);
  }
  void write(const void* source, std::size_t size) {
    boost::interprocess::scoped_lock<boost::interprocess::interprocess_mutex> lock(state_->mutex);
    std::memcpy(data_, source, size);
    state_->length = size;
  }
  std::size_t read(void* destination, std::size_t room) {
    boost::interprocess::scoped_lock<boost::interprocess::interprocess_mutex> lock(state_->mutex);
    const std::size_t length = state_->length < room ? state_->length : room;
    std::memcpy(destination, data_, length);
    return length;
  }

 private:
  struct State {
    boost::interprocess::interprocess_mutex mutex;
    std::size_t length = 0;
  };
  std::string name_;
  boost::interprocess::managed_shared_memory segment_;
  State* state_ = nullptr;
  unsigned char* data_ = nullptr;
};

#ifdef SHAREDMEM_BENCH_HAVE_QT
// QSharedMemory (System V shm and semaphore): lock, copy, unlock. The first
// 64 bytes hold the length, the payload follows.
class QtPeer {
 public:
  explicit QtPeer(std::size_t capacity)
      : memory_(QString::fromStdString(unique_name("qt." + std::to_string(capacity)))) {
    if (!memory_.create(static_cast<int>(capacity + 64)))
      throw std::runtime_error("QSharedMemory::create failed");
  }
  void write(const void* source, std::size_t size) {
    memory_.lock();
    auto* base = static_cast<unsigned char*>(memory_.data());
    std::memcpy(base + 64, source, size);
    std::memcpy(base, &size, sizeof size);
    memory_.unlock();
  }
  std::size_t read(void* destination, std::size_t room) {
    memory_.lock();
    const auto* base = static_cast<const unsigned char*>(memory_.constData());
    std::size_t length = 0;
    std::memcpy(&length, base, sizeof length);
    if (length > room) length = room;
    std::memcpy(destination, base + 64, length);
    memory_.unlock();
    return length;
  }

 private:
  QSharedMemory memory_;
};
#endif

}  // namespace sharedmem_bench

#endif  // SHAREDMEM_BENCH_PEERS_HPP
