// SPDX-License-Identifier: MIT
// Wake latency, one way, between two processes: how long after a writer in
// one process starts a write does a waiter asleep in another process have
// the value in hand. bench/report.py runs it and puts the table in
// docs/PERFORMANCE.md; under Wine it is run by hand (see the README).
//
// Method (the same for every mechanism, all measured in one run):
// - This process (A) starts a copy of itself (B) and both map one control
//   block. Each mechanism has two channels, A to B and B to A.
// - A ping-pong: the writer takes a steady_clock stamp (CLOCK_MONOTONIC on
//   Linux, QueryPerformanceCounter on Windows: one clock for all processes)
//   just before it writes, and writes a value that carries the stamp; the
//   waiter, woken, reads the value, takes the clock again and records the
//   difference. Then the roles swap: the waiter becomes the writer of the
//   other channel. Every one-way trip is a sample.
// - Before it writes, each side pauses (--gap-us, sleeping, not spinning),
//   so that the other side, which has just written, is asleep in its wait
//   by then: the figure is a wake-up, never a wait that found the value
//   already there.
// - Rounds interleave the mechanisms (each round runs a batch of round trips
//   of every mechanism, in a rotating order), so that all of them see the
//   same drift of a shared machine; one warm-up round is not recorded.
// - Linux: A is pinned to CPU 0 and B to CPU 1 when both are allowed
//   (--no-pin to let the scheduler place them), so every wake crosses cores.
//
// Mechanisms, Linux: the floor (a bare futex ping-pong on a MAP_SHARED
// mapping, FUTEX_WAIT/FUTEX_WAKE without FUTEX_PRIVATE_FLAG), sharedmem
// (sharedmem_write, then sharedmem_wait + sharedmem_read_versioned of a 64 B
// value), Boost.Interprocess interprocess_condition + interprocess_mutex, and
// a process-shared pthread condition variable + mutex, both in the control
// block. Windows: the floor (a pair of named auto-reset events, SetEvent and
// WaitForSingleObject), sharedmem and the same Boost.Interprocess pair (on
// Windows, Boost 1.74 always uses its generic emulation: a polling waiter).
//
// Output: JSON on stdout (or --json FILE), one entry per mechanism with the
// median, p90, p99, minimum and maximum in ns, the number of samples, and the
// median time the writer's own call took (send_median_ns: the write and the
// wake call, which the latency includes).
// Every wait has a timeout (10 s): a lost wake-up or a dead peer ends the
// run with an error, never a hang.
#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"

#if !defined(_WIN32)
extern char** environ;
#endif

namespace {

constexpr std::uint32_t kTimeoutMs = 10'000;
constexpr std::size_t kValueBytes = 64;
constexpr std::size_t kMaxSamples = 1 << 16;  // per mechanism

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// The mechanisms, in the order of the control block's sample arrays.
#if defined(_WIN32)
enum Mechanism { kFloor, kSharedmem, kBoost, kMechanisms };
const char* const kNames[] = {"floor", "sharedmem", "boost"};
#else
enum Mechanism { kFloor, kSharedmem, kBoost, kPthread, kMechanisms };
const char* const kNames[] = {"floor", "sharedmem", "boost", "pthread"};
#endif

struct alignas(64) FloorChannel {
  std::atomic<std::uint32_t> word;  // messages sent so far (the futex word on Linux)
  std::atomic<std::int64_t> stamp;
};

#if !defined(_WIN32)
struct alignas(64) PthreadChannel {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  std::uint64_t sent;
  std::int64_t stamp;
};

#endif

struct alignas(64) BoostChannel {
  boost::interprocess::interprocess_mutex mutex;
  boost::interprocess::interprocess_condition changed;
  std::uint64_t sent = 0;
  std::int64_t stamp = 0;
};

// The control block both processes map.
struct Control {
  std::atomic<std::uint32_t> child_attached;
  std::atomic<std::uint32_t> batch_ready;  // B: "batch n, I am about to wait"
  FloorChannel floor[2];
#if !defined(_WIN32)
  PthreadChannel pthread[2];
#endif
  BoostChannel boost[2];
  std::int64_t samples[kMechanisms][kMaxSamples];
  std::int64_t sends[kMechanisms][kMaxSamples];  // how long each send() took the writer
};

struct Options {
  int rounds = 20;  // recorded rounds, after one warm-up round
  int trips = 50;   // round trips per mechanism per round
  int gap_us = 100;
  bool pin = true;
  std::string json;
};

// --- the shared control block -----------------------------------------------

#if defined(_WIN32)
std::wstring widen(const std::string& s) { return std::wstring(s.begin(), s.end()); }

class SharedBlock {
 public:
  SharedBlock(const std::string& name, bool create) {
    const std::wstring wide = widen("Local\\" + name);
    handle_ = create ? ::CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0,
                                            static_cast<DWORD>(sizeof(Control)), wide.c_str())
                     : ::OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wide.c_str());
    if (handle_ == nullptr) fail("CreateFileMapping/OpenFileMapping failed for " + name);
    base_ = ::MapViewOfFile(handle_, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(Control));
    if (base_ == nullptr) fail("MapViewOfFile failed");
  }
  ~SharedBlock() {
    ::UnmapViewOfFile(base_);
    ::CloseHandle(handle_);
  }
  void unlink() {}  // a section goes with its last handle
  Control* control() { return static_cast<Control*>(base_); }

 private:
  HANDLE handle_ = nullptr;
  void* base_ = nullptr;
};
#else
class SharedBlock {
 public:
  SharedBlock(const std::string& name, bool create) : name_("/" + name) {
    const int fd = ::shm_open(name_.c_str(), create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
    if (fd < 0) fail("shm_open failed for " + name_);
    if (create && ::ftruncate(fd, sizeof(Control)) != 0) {
      ::close(fd);
      fail("ftruncate failed");
    }
    base_ = ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (base_ == MAP_FAILED) fail("mmap failed");
    owner_ = create;
  }
  ~SharedBlock() {
    unlink();
    ::munmap(base_, sizeof(Control));
  }
  void unlink() {
    if (owner_) ::shm_unlink(name_.c_str());
    owner_ = false;
  }
  Control* control() { return static_cast<Control*>(base_); }

 private:
  std::string name_;
  void* base_ = nullptr;
  bool owner_ = false;
};
#endif

// --- the mechanisms -----------------------------------------------------------
// Each has two channels; send() stamps and writes one value on a channel,
// receive() waits for the next value on a channel and returns its stamp.

class Channels {
 public:
  virtual ~Channels() = default;
  virtual void send(int channel) = 0;
  virtual std::int64_t receive(int channel) = 0;
};

#if defined(_WIN32)
// The floor: an auto-reset named event per channel; the stamp in the block.
class Floor : public Channels {
 public:
  Floor(Control* control, const std::string& prefix) : control_(control) {
    for (int c = 0; c < 2; ++c) {
      const std::wstring name = widen("Local\\" + prefix + ".event" + std::to_string(c));
      events_[c] = ::CreateEventW(nullptr, FALSE, FALSE, name.c_str());
      if (events_[c] == nullptr) fail("CreateEvent failed");
    }
  }
  ~Floor() override {
    for (HANDLE e : events_) ::CloseHandle(e);
  }
  void send(int c) override {
    const std::int64_t stamp = now_ns();
    control_->floor[c].stamp.store(stamp, std::memory_order_relaxed);
    control_->floor[c].word.fetch_add(1, std::memory_order_release);
    ::SetEvent(events_[c]);
  }
  std::int64_t receive(int c) override {
    if (::WaitForSingleObject(events_[c], kTimeoutMs) != WAIT_OBJECT_0)
      fail("the floor's event was not set within the timeout");
    (void)control_->floor[c].word.load(std::memory_order_acquire);
    return control_->floor[c].stamp.load(std::memory_order_relaxed);
  }

 private:
  Control* control_;
  HANDLE events_[2] = {nullptr, nullptr};
};
#else
long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value,
           const struct timespec* timeout) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, timeout, nullptr,
                   0);
}

// The floor: a futex word per channel on the MAP_SHARED block (a shared
// futex: no FUTEX_PRIVATE_FLAG), the writer always wakes one waiter.
class Floor : public Channels {
 public:
  explicit Floor(Control* control) : control_(control) {}
  void send(int c) override {
    FloorChannel& channel = control_->floor[c];
    const std::int64_t stamp = now_ns();
    channel.stamp.store(stamp, std::memory_order_relaxed);
    channel.word.store(++sent_[c], std::memory_order_release);
    futex(channel.word, FUTEX_WAKE, 1, nullptr);
  }
  std::int64_t receive(int c) override {
    FloorChannel& channel = control_->floor[c];
    const std::uint32_t expected = ++received_[c];
    const std::int64_t give_up = now_ns() + std::int64_t{kTimeoutMs} * 1'000'000;
    for (;;) {
      const std::uint32_t word = channel.word.load(std::memory_order_acquire);
      if (word == expected) break;
      if (word != expected - 1) fail("the floor's channel skipped a value");
      if (now_ns() > give_up) fail("the floor's futex was not woken within the timeout");
      const struct timespec slice {1, 0};
      futex(channel.word, FUTEX_WAIT, word, &slice);
    }
    return channel.stamp.load(std::memory_order_relaxed);
  }

 private:
  Control* control_;
  std::uint32_t sent_[2] = {0, 0};
  std::uint32_t received_[2] = {0, 0};
};

// A process-shared pthread mutex and condition variable (monotonic clock)
// per channel; the writer signals after unlocking.
class Pthread : public Channels {
 public:
  explicit Pthread(Control* control) : control_(control) {}
  static void construct(Control* control) {
    for (PthreadChannel& channel : control->pthread) {
      pthread_mutexattr_t mutex_attributes;
      ::pthread_mutexattr_init(&mutex_attributes);
      ::pthread_mutexattr_setpshared(&mutex_attributes, PTHREAD_PROCESS_SHARED);
      ::pthread_mutex_init(&channel.mutex, &mutex_attributes);
      ::pthread_mutexattr_destroy(&mutex_attributes);
      pthread_condattr_t cond_attributes;
      ::pthread_condattr_init(&cond_attributes);
      ::pthread_condattr_setpshared(&cond_attributes, PTHREAD_PROCESS_SHARED);
      ::pthread_condattr_setclock(&cond_attributes, CLOCK_MONOTONIC);
      ::pthread_cond_init(&channel.changed, &cond_attributes);
      ::pthread_condattr_destroy(&cond_attributes);
      channel.sent = 0;
      channel.stamp = 0;
    }
  }
  void send(int c) override {
    PthreadChannel& channel = control_->pthread[c];
    const std::int64_t stamp = now_ns();
    ::pthread_mutex_lock(&channel.mutex);
    channel.stamp = stamp;
    ++channel.sent;
    ::pthread_mutex_unlock(&channel.mutex);
    ::pthread_cond_signal(&channel.changed);
  }
  std::int64_t receive(int c) override {
    PthreadChannel& channel = control_->pthread[c];
    const std::uint64_t expected = ++received_[c];
    struct timespec deadline {};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += kTimeoutMs / 1000;
    ::pthread_mutex_lock(&channel.mutex);
    int error = 0;
    while (channel.sent < expected && error == 0)
      error = ::pthread_cond_timedwait(&channel.changed, &channel.mutex, &deadline);
    const std::int64_t stamp = channel.stamp;
    const bool skipped = channel.sent > expected;
    ::pthread_mutex_unlock(&channel.mutex);
    if (error != 0) fail("the pthread condition was not signalled within the timeout");
    if (skipped) fail("the pthread channel skipped a value");
    return stamp;
  }

 private:
  Control* control_;
  std::uint64_t received_[2] = {0, 0};
};

#endif

// Boost.Interprocess interprocess_mutex + interprocess_condition per
// channel, as a user writes them; notify_one after unlocking.
class Boost : public Channels {
 public:
  explicit Boost(Control* control) : control_(control) {}
  void send(int c) override {
    BoostChannel& channel = control_->boost[c];
    const std::int64_t stamp = now_ns();
    {
      boost::interprocess::scoped_lock<boost::interprocess::interprocess_mutex> lock(channel.mutex);
      channel.stamp = stamp;
      ++channel.sent;
    }
    channel.changed.notify_one();
  }
  std::int64_t receive(int c) override {
    BoostChannel& channel = control_->boost[c];
    const std::uint64_t expected = ++received_[c];
    const auto deadline = boost::posix_time::microsec_clock::universal_time() +
                          boost::posix_time::milliseconds(kTimeoutMs);
    boost::interprocess::scoped_lock<boost::interprocess::interprocess_mutex> lock(channel.mutex);
    while (channel.sent < expected)
      if (!channel.changed.timed_wait(lock, deadline))
        fail("the Boost condition was not notified within the timeout");
    if (channel.sent > expected) fail("the Boost channel skipped a value");
    return channel.stamp;
  }

 private:
  Control* control_;
  std::uint64_t received_[2] = {0, 0};
};
// sharedmem: a 64 B segment per channel; sharedmem_write of a value carrying
// the stamp, sharedmem_wait for a version past the last one read, then
// sharedmem_read_versioned.
class Sharedmem : public Channels {
 public:
  Sharedmem(const std::string& prefix, bool create) {
    for (int c = 0; c < 2; ++c) {
      const std::string name = prefix + ".segment" + std::to_string(c);
      const std::uint32_t mode = create ? SHAREDMEM_CREATE_ONLY : SHAREDMEM_OPEN_ONLY;
      if (sharedmem_error e = sharedmem_open(name.c_str(), kValueBytes, mode, &segments_[c]))
        fail("sharedmem_open(" + name + "): " + sharedmem_strerror(e));
    }
  }
  ~Sharedmem() override {
    for (sharedmem_segment* s : segments_) sharedmem_close(s);
  }
  void send(int c) override {
    unsigned char value[kValueBytes] = {};
    const std::int64_t stamp = now_ns();
    std::memcpy(value, &stamp, sizeof stamp);
    if (sharedmem_error e = sharedmem_write(segments_[c], value, sizeof value))
      fail(std::string("sharedmem_write: ") + sharedmem_strerror(e));
  }
  std::int64_t receive(int c) override {
    std::uint64_t version = 0;
    if (sharedmem_error e = sharedmem_wait(segments_[c], seen_[c], kTimeoutMs, &version))
      fail(std::string("sharedmem_wait: ") + sharedmem_strerror(e));
    unsigned char value[kValueBytes];
    std::uint64_t size = 0;
    if (sharedmem_error e =
            sharedmem_read_versioned(segments_[c], value, sizeof value, &size, &version))
      fail(std::string("sharedmem_read_versioned: ") + sharedmem_strerror(e));
    if (version != seen_[c] + 1) fail("the sharedmem channel skipped a value");
    seen_[c] = version;
    std::int64_t stamp = 0;
    std::memcpy(&stamp, value, sizeof stamp);
    return stamp;
  }

 private:
  sharedmem_segment* segments_[2] = {nullptr, nullptr};
  std::uint64_t seen_[2] = {0, 0};
};

// --- processes ------------------------------------------------------------------

void pause_for(int gap_us) {
#if defined(_WIN32)
  ::Sleep(static_cast<DWORD>(std::max(1, gap_us / 1000)));  // the scheduler's granularity
#else
  struct timespec gap {0, static_cast<long>(gap_us) * 1000};
  while (::clock_nanosleep(CLOCK_MONOTONIC, 0, &gap, &gap) == EINTR) {
  }
#endif
}

void pin_to_cpu(int cpu) {
#if defined(_WIN32)
  (void)cpu;
#else
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  if (!CPU_ISSET(0, &allowed) || !CPU_ISSET(1, &allowed)) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ::sched_setaffinity(0, sizeof one, &one);
#endif
}

class Child {
 public:
  Child(const std::string& prefix, const Options& options) {
    std::vector<std::string> args = {"--child", prefix, std::to_string(options.rounds),
                                     std::to_string(options.trips),
                                     std::to_string(options.gap_us), options.pin ? "1" : "0"};
#if defined(_WIN32)
    wchar_t self[MAX_PATH];
    if (::GetModuleFileNameW(nullptr, self, MAX_PATH) == 0) fail("GetModuleFileName failed");
    std::wstring command = L"\"" + std::wstring(self) + L"\"";
    for (const std::string& a : args) command += L" " + widen(a);
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    PROCESS_INFORMATION info{};
    if (!::CreateProcessW(self, &command[0], nullptr, nullptr, FALSE, 0, nullptr, nullptr,
                          &startup, &info))
      fail("CreateProcess failed");
    ::CloseHandle(info.hThread);
    process_ = info.hProcess;
#else
    std::vector<char*> argv;
    static char self[] = "/proc/self/exe";
    argv.push_back(self);
    for (std::string& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    if (int e = ::posix_spawn(&pid_, self, nullptr, nullptr, argv.data(), environ))
      fail("posix_spawn failed: " + std::string(std::strerror(e)));
#endif
  }
  ~Child() {
    if (!waited_) (void)wait(true);
  }
  bool running() {
#if defined(_WIN32)
    return ::WaitForSingleObject(process_, 0) == WAIT_TIMEOUT;
#else
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    waited_ = true;
    status_ = status;
    return false;
#endif
  }
  // True if the child exited with status 0.
  bool wait(bool kill_first = false) {
#if defined(_WIN32)
    if (kill_first) ::TerminateProcess(process_, 9);
    ::WaitForSingleObject(process_, INFINITE);
    DWORD code = 1;
    ::GetExitCodeProcess(process_, &code);
    ::CloseHandle(process_);
    waited_ = true;
    return code == 0;
#else
    if (!waited_) {
      if (kill_first) ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      waited_ = true;
    }
    return WIFEXITED(status_) && WEXITSTATUS(status_) == 0;
#endif
  }

 private:
#if defined(_WIN32)
  HANDLE process_ = nullptr;
#else
  pid_t pid_ = -1;
  int status_ = 0;
#endif
  bool waited_ = false;
};

// The loop both processes run: `side` 0 (A) writes first on channel 0 and
// records the trips of channel 1; side 1 (B) the other way round. Sample i
// of a mechanism is its i-th one-way trip: 2 * round trip + channel.
void ping_pong(int side, Control* control, Channels* const* mechanisms, const Options& options,
               Child* child) {
  std::uint32_t batch = 0;
  for (int round = -1; round < options.rounds; ++round) {  // round -1: warm-up
    for (int k = 0; k < kMechanisms; ++k) {
      const int m = (k + std::max(round, 0)) % kMechanisms;
      Channels& channels = *mechanisms[m];
      ++batch;
      if (side == 1) {
        control->batch_ready.store(batch, std::memory_order_release);
      } else {
        const std::int64_t give_up = now_ns() + std::int64_t{kTimeoutMs} * 1'000'000;
        while (control->batch_ready.load(std::memory_order_acquire) != batch) {
          if (child != nullptr && !child->running()) fail("the child process ended early");
          if (now_ns() > give_up) fail("the child process did not start its batch in time");
          pause_for(options.gap_us);
        }
        pause_for(options.gap_us);
      }
      for (int trip = 0; trip < options.trips; ++trip) {
        const std::size_t sample = 2 * (static_cast<std::size_t>(std::max(round, 0)) *
                                            static_cast<std::size_t>(options.trips) +
                                        static_cast<std::size_t>(trip));
        if (side == 0) {
          if (trip > 0) pause_for(options.gap_us);
          const std::int64_t start = now_ns();
          channels.send(0);
          if (round >= 0) control->sends[m][sample] = now_ns() - start;
          const std::int64_t stamp = channels.receive(1);
          const std::int64_t latency = now_ns() - stamp;
          if (round >= 0) control->samples[m][sample + 1] = latency;
        } else {
          const std::int64_t stamp = channels.receive(0);
          const std::int64_t latency = now_ns() - stamp;
          if (round >= 0) control->samples[m][sample] = latency;
          pause_for(options.gap_us);
          const std::int64_t start = now_ns();
          channels.send(1);
          if (round >= 0) control->sends[m][sample + 1] = now_ns() - start;
        }
      }
    }
  }
}

struct Stats {
  std::size_t count = 0;
  double median = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

Stats stats_of(std::vector<std::int64_t> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const std::size_t i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return static_cast<double>(v[std::min(i, v.size() - 1)]);
  };
  s.count = v.size();
  s.median = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.min = static_cast<double>(v.front());
  s.max = static_cast<double>(v.back());
  return s;
}

std::vector<std::unique_ptr<Channels>> make_mechanisms(Control* control, const std::string& prefix,
                                                       bool create) {
  std::vector<std::unique_ptr<Channels>> all(kMechanisms);
#if defined(_WIN32)
  all[kFloor] = std::make_unique<Floor>(control, prefix);
#else
  all[kFloor] = std::make_unique<Floor>(control);
  all[kPthread] = std::make_unique<Pthread>(control);
#endif
  all[kBoost] = std::make_unique<Boost>(control);
  all[kSharedmem] = std::make_unique<Sharedmem>(prefix, create);
  return all;
}

int child_main(char** argv) {
  const std::string prefix = argv[2];
  Options options;
  options.rounds = std::atoi(argv[3]);
  options.trips = std::atoi(argv[4]);
  options.gap_us = std::atoi(argv[5]);
  options.pin = std::strcmp(argv[6], "1") == 0;
  if (options.pin) pin_to_cpu(1);
  SharedBlock block(prefix, false);
  Control* control = block.control();
  auto mechanisms = make_mechanisms(control, prefix, false);
  control->child_attached.store(1, std::memory_order_release);
  std::vector<Channels*> raw;
  for (auto& m : mechanisms) raw.push_back(m.get());
  ping_pong(1, control, raw.data(), options, nullptr);
  return 0;
}

int parent_main(const Options& options) {
#if defined(_WIN32)
  const unsigned long id = ::GetCurrentProcessId();
#else
  const unsigned long id = static_cast<unsigned long>(::getpid());
#endif
  const std::string prefix = "sharedmem_wake." + std::to_string(id);
  if (static_cast<std::size_t>(options.rounds) * static_cast<std::size_t>(options.trips) * 2 >
      kMaxSamples)
    fail("too many samples: lower --rounds or --trips");
  SharedBlock block(prefix, true);
  Control* control = block.control();
  new (control) Control{};  // the Boost channels' constructors run here
#if !defined(_WIN32)
  Pthread::construct(control);
#endif
  auto mechanisms = make_mechanisms(control, prefix, true);
  std::vector<Channels*> raw;
  for (auto& m : mechanisms) raw.push_back(m.get());
  if (options.pin) pin_to_cpu(0);

  Child child(prefix, options);
  const std::int64_t give_up = now_ns() + std::int64_t{60'000} * 1'000'000;  // Wine starts slowly
  while (control->child_attached.load(std::memory_order_acquire) == 0) {
    if (!child.running()) fail("the child process ended before it attached");
    if (now_ns() > give_up) fail("the child process did not attach within a minute");
    pause_for(1000);
  }
  block.unlink();
  ping_pong(0, control, raw.data(), options, &child);
  if (!child.wait()) fail("the child process failed");

  const std::size_t samples = 2 * static_cast<std::size_t>(options.rounds) *
                              static_cast<std::size_t>(options.trips);
  std::string out = "{\n  \"platform\": \"";
#if defined(_WIN32)
  out += "windows";
#else
  out += "linux";
#endif
  out += "\",\n  \"rounds\": " + std::to_string(options.rounds) +
         ",\n  \"trips_per_round\": " + std::to_string(options.trips) +
         ",\n  \"gap_us\": " + std::to_string(options.gap_us) +
         ",\n  \"pinned\": " + (options.pin ? "true" : "false") + ",\n  \"results\": {";
  for (int m = 0; m < kMechanisms; ++m) {
    const Stats s = stats_of(std::vector<std::int64_t>(control->samples[m],
                                                       control->samples[m] + samples));
    const Stats send = stats_of(std::vector<std::int64_t>(control->sends[m],
                                                          control->sends[m] + samples));
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s\n    \"%s\": {\"samples\": %zu, \"median_ns\": %.0f, \"p90_ns\": %.0f, "
                  "\"p99_ns\": %.0f, \"min_ns\": %.0f, \"max_ns\": %.0f, "
                  "\"send_median_ns\": %.0f}",
                  m == 0 ? "" : ",", kNames[m], s.count, s.median, s.p90, s.p99, s.min, s.max,
                  send.median);
    out += line;
  }
  out += "\n  }\n}\n";
  if (options.json.empty()) {
    std::fputs(out.c_str(), stdout);
  } else {
    std::FILE* f = std::fopen(options.json.c_str(), "w");
    if (f == nullptr) fail("cannot write " + options.json);
    std::fputs(out.c_str(), f);
    std::fclose(f);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 7 && std::strcmp(argv[1], "--child") == 0) return child_main(argv);
    Options options;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail(a + " needs a value");
        return argv[++i];
      };
      if (a == "--rounds") {
        options.rounds = std::atoi(value().c_str());
      } else if (a == "--trips") {
        options.trips = std::atoi(value().c_str());
      } else if (a == "--gap-us") {
        options.gap_us = std::atoi(value().c_str());
      } else if (a == "--no-pin") {
        options.pin = false;
      } else if (a == "--json") {
        options.json = value();
      } else if (a == "--smoke") {
        options.rounds = 1;
        options.trips = 5;
      } else {
        std::fprintf(stderr,
                     "usage: %s [--rounds N] [--trips N] [--gap-us N] [--no-pin] [--json FILE] "
                     "[--smoke]\n",
                     argv[0]);
        return 2;
      }
    }
    if (options.rounds < 1 || options.trips < 1 || options.gap_us < 0) fail("bad option value");
    return parent_main(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedmem_wake_bench: %s\n", e.what());
    return 1;
  }
}
