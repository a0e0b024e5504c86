// SPDX-License-Identifier: MIT
// sharedmem's benchmarks, each measured next to its floor (memcpy of the same
// bytes between buffers with the same page offsets) and its peers in the same
// run, so that bench/report.py can give every figure as a ratio to the floor.
//
// Benchmark names are group/who/op/size[/offset]:
//   copy/{floor,sharedmem,boost,pthread,qt}/{read,write}/SIZE
//   seed/{floor,sharedmem}/{get,set}/4092     full default segment
//   offset/{memcpy,sharedmem}/OP/SIZE/OFFSET  private buffer at OFFSET in its page
//   readers/{sharedmem,floor,pthread}/{alone,writer_100khz,writer_nonstop}/4096
//   attach/{sharedmem,posix}/open_close/4096, create/{...}
//   inplace/{floor/produce,sharedmem/produce_write,sharedmem/begin_commit}/SIZE
//   raw/..., lock/...                         raw segments (raw_bench.cpp)
//
// Run it through bench/report.py (see docs/PERFORMANCE.md). It needs
// SHAREDMEM_DEFAULT_SEGMENT set, so that SetSharedMem never touches the real
// default segment that other programs on this machine may use. --smoke runs
// each benchmark once, for CI, and asserts nothing about timing.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "peers.hpp"
#include "sharedmem/setget.h"
#include "sharedmem/sharedmem.h"

namespace sharedmem_bench {

// Raw segments' fill and lock benchmarks (raw_bench.cpp).
void register_raw_benchmarks(bool smoke);

namespace {

constexpr std::size_t kSizes[] = {64, 4096, 64 * 1024, 1024 * 1024};
constexpr std::size_t kMaxSize = 1024 * 1024;
constexpr std::size_t kSeedChars = SHAREDMEM_DEFAULT_CAPACITY_CHARS;  // 1023 on Linux
constexpr std::size_t kSeedBytes = kSeedChars * sizeof(wchar_t);

bool g_smoke = false;

// Segments the benchmarks keep open; closed at the end so that they leave
// nothing in /dev/shm (POSIX objects outlive their process otherwise, until
// the next user of the name, and these names are never used again).
std::vector<sharedmem_segment*>& open_segments() {
  static auto* segments = new std::vector<sharedmem_segment*>;
  return *segments;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sharedmem_bench: %s\n", what.c_str());
  for (sharedmem_segment* segment : open_segments()) sharedmem_close(segment);
  std::exit(2);
}

sharedmem_segment* open_or_die(const std::string& name, std::uint64_t capacity) {
  sharedmem_segment* segment = nullptr;
  if (sharedmem_error e = sharedmem_open(name.c_str(), capacity, 0, &segment))
    die("sharedmem_open(" + name + "): " + sharedmem_strerror(e));
  open_segments().push_back(segment);
  return segment;
}

// Everything a benchmark touches lives as long as the process, so repeated
// and interleaved runs find it warm.
struct Fixture {
  Buffer source{kMaxSize};
  Buffer destination{kMaxSize};
  Buffer text{kSeedBytes + sizeof(wchar_t)};  // SetSharedMem's source string
  std::map<std::size_t, std::unique_ptr<RawShm>> raw;
  std::map<std::size_t, sharedmem_segment*> read_segments;   // written once: slot 0 current
  std::map<std::size_t, sharedmem_segment*> write_segments;
  std::map<std::size_t, std::unique_ptr<BoostPeer>> boost;
  std::map<std::size_t, std::unique_ptr<PthreadPeer>> pthread;
#ifdef SHAREDMEM_BENCH_HAVE_QT
  std::map<std::size_t, std::unique_ptr<QtPeer>> qt;
#endif

  // The floor's shared memory: the payload at offset 4096, like slot 0.
  unsigned char* raw_payload(std::size_t size) {
    auto& shm = raw[size];
    if (!shm) shm = std::make_unique<RawShm>(kPage + size);
    return shm->base() + kPage;
  }
  sharedmem_segment* read_segment(std::size_t size) {
    auto& segment = read_segments[size];
    if (segment == nullptr) {
      segment = open_or_die(unique_name("read." + std::to_string(size)), size);
      // Two writes make generation 2: slot 0, at a page boundary, is current.
      sharedmem_write(segment, source.at(0), size);
      sharedmem_write(segment, source.at(0), size);
    }
    return segment;
  }
  sharedmem_segment* write_segment(std::size_t size) {
    auto& segment = write_segments[size];
    if (segment == nullptr) segment = open_or_die(unique_name("write." + std::to_string(size)), size);
    return segment;
  }
  // Puts a full-length string (kSeedChars characters and a terminator) at
  // `offset` in `text`.
  const wchar_t* seed_text(std::size_t offset) {
    auto* chars = reinterpret_cast<wchar_t*>(text.at(offset));
    for (std::size_t i = 0; i < kSeedChars; ++i) chars[i] = static_cast<wchar_t>(L'a' + i % 26);
    chars[kSeedChars] = L'\0';
    return chars;
  }
  template <typename Peer>
  Peer& peer(std::map<std::size_t, std::unique_ptr<Peer>>& peers, std::size_t size) {
    auto& p = peers[size];
    if (!p) {
      p = std::make_unique<Peer>(size);
      p->write(source.at(0), size);
    }
    return *p;
  }
};

Fixture& fixture() {
  static Fixture* f = new Fixture;  // never destroyed: the OS reclaims it all at exit
  return *f;
}

void count_bytes(benchmark::State& state, std::size_t size) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// --- copy/: named read and write, sharedmem against the floor and peers ---

void floor_read(benchmark::State& state, std::size_t size, std::size_t offset) {
  unsigned char* source = fixture().raw_payload(size);
  unsigned char* destination = fixture().destination.at(offset);
  for (auto _ : state) {
    benchmark::DoNotOptimize(destination);
    std::memcpy(destination, source, size);
    benchmark::ClobberMemory();
  }
  count_bytes(state, size);
}

void floor_write(benchmark::State& state, std::size_t size, std::size_t offset) {
  unsigned char* destination = fixture().raw_payload(size);
  unsigned char* source = fixture().source.at(offset);
  for (auto _ : state) {
    benchmark::DoNotOptimize(source);
    std::memcpy(destination, source, size);
    benchmark::ClobberMemory();
  }
  count_bytes(state, size);
}

void sharedmem_read_bench(benchmark::State& state, std::size_t size, std::size_t offset) {
  sharedmem_segment* segment = fixture().read_segment(size);
  unsigned char* destination = fixture().destination.at(offset);
  for (auto _ : state) {
    std::uint64_t length = 0;
    sharedmem_read(segment, destination, size, &length);
    benchmark::DoNotOptimize(length);
  }
  count_bytes(state, size);
}

void sharedmem_write_bench(benchmark::State& state, std::size_t size, std::size_t offset) {
  sharedmem_segment* segment = fixture().write_segment(size);
  const unsigned char* source = fixture().source.at(offset);
  for (auto _ : state) benchmark::DoNotOptimize(sharedmem_write(segment, source, size));
  count_bytes(state, size);
}

template <typename Peer>
void peer_read(benchmark::State& state, std::map<std::size_t, std::unique_ptr<Peer>>& peers,
               std::size_t size) {
  Peer& peer = fixture().peer(peers, size);
  unsigned char* destination = fixture().destination.at(0);
  for (auto _ : state) benchmark::DoNotOptimize(peer.read(destination, size));
  count_bytes(state, size);
}

template <typename Peer>
void peer_write(benchmark::State& state, std::map<std::size_t, std::unique_ptr<Peer>>& peers,
                std::size_t size) {
  Peer& peer = fixture().peer(peers, size);
  const unsigned char* source = fixture().source.at(0);
  for (auto _ : state) {
    peer.write(source, size);
    benchmark::ClobberMemory();
  }
  count_bytes(state, size);
}

// --- seed/: GetSharedMem/SetSharedMem on a full default segment ---

void seed_get(benchmark::State& state, std::size_t offset) {
  const wchar_t* text = fixture().seed_text(0);
  SetSharedMem(text);
  auto* buffer = reinterpret_cast<wchar_t*>(fixture().destination.at(offset));
  for (auto _ : state) {
    GetSharedMem(buffer, kSeedChars + 1);
    benchmark::ClobberMemory();
  }
  if (buffer[kSeedChars - 1] != text[kSeedChars - 1] || buffer[kSeedChars] != L'\0')
    state.SkipWithError("GetSharedMem returned something else than the full string");
  count_bytes(state, kSeedBytes);
}

void seed_set(benchmark::State& state, std::size_t offset) {
  const wchar_t* text = fixture().seed_text(offset);
  for (auto _ : state) {
    SetSharedMem(text);
    benchmark::ClobberMemory();
  }
  count_bytes(state, kSeedBytes);
}

// The floor for Get: copy the string's bytes out of shared memory, terminate.
void seed_floor_get(benchmark::State& state) {
  unsigned char* source = fixture().raw_payload(SHAREDMEM_DEFAULT_CAPACITY_BYTES);
  auto* buffer = reinterpret_cast<wchar_t*>(fixture().destination.at(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(buffer);
    std::memcpy(buffer, source, kSeedBytes);
    buffer[kSeedChars] = L'\0';
    benchmark::ClobberMemory();
  }
  count_bytes(state, kSeedBytes);
}

// The floor for Set: copy the string's bytes into shared memory (its length
// known in advance, which Set must find out).
void seed_floor_set(benchmark::State& state) {
  unsigned char* destination = fixture().raw_payload(SHAREDMEM_DEFAULT_CAPACITY_BYTES);
  const wchar_t* text = fixture().seed_text(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(text);
    std::memcpy(destination, text, kSeedBytes);
    benchmark::ClobberMemory();
  }
  count_bytes(state, kSeedBytes);
}

// --- readers/: read rate with no writer, a paced writer, a non-stop writer ---

struct WriterControl {
  std::atomic<int> ready{0};
  std::atomic<int> stop{0};
  std::atomic<std::uint64_t> writes{0};
};

enum class Writer { kNone, kPaced100kHz, kNonStop };

// Pins the calling thread to one CPU (when the machine has it), so that the
// reader and the writer run on different cores whenever both run, whatever
// else the machine is doing; returns the previous mask to restore.
cpu_set_t pin_to_cpu(int cpu) {
  cpu_set_t previous;
  CPU_ZERO(&previous);
  ::sched_getaffinity(0, sizeof previous, &previous);
  if (CPU_ISSET(cpu, &previous)) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ::sched_setaffinity(0, sizeof one, &one);
  }
  return previous;
}

// Who is read and written: sharedmem, the floor (a bare 4 KiB shm buffer
// copied in and out with memcpy, no synchronisation at all: what any scheme
// pays to move fresh bytes between cores), or the pthread-mutex peer.
enum class Who { kSharedmem, kFloor, kPthread };

// The shared state of the three, created before any writer is forked: the
// mappings are inherited, the sharedmem segment is opened afresh by name.
struct ReaderTargets {
  std::string name = unique_name("readers");
  sharedmem_segment* segment = open_or_die(name, 4096);
  RawShm raw{kPage + 4096};
  PthreadPeer pthread{4096};
  ReaderTargets() {
    sharedmem_write(segment, fixture().source.at(0), 4096);
    pthread.write(fixture().source.at(0), 4096);
  }
};

ReaderTargets& reader_targets() {
  static auto* targets = new ReaderTargets;
  return *targets;
}

// The writer process runs on the second CPU and writes 4 KiB values as fast
// as it can, or one every 10 us (paced by polling the clock: sleeping cannot
// wake up every 10 us here).
[[noreturn]] void writer_main(Who who, WriterControl* control, Writer mode) {
  pin_to_cpu(1);
  ReaderTargets& targets = reader_targets();
  sharedmem_segment* segment = nullptr;
  if (who == Who::kSharedmem &&
      sharedmem_open(targets.name.c_str(), 4096, 0, &segment) != SHAREDMEM_OK)
    _exit(3);
  std::vector<unsigned char> value(4096);
  control->ready.store(1, std::memory_order_release);
  using clock = std::chrono::steady_clock;
  const auto period = std::chrono::microseconds(10);
  auto next = clock::now();
  std::uint64_t n = 0;
  while (!control->stop.load(std::memory_order_relaxed)) {
    value[n % value.size()] = static_cast<unsigned char>(n);
    switch (who) {
      case Who::kSharedmem:
        sharedmem_write(segment, value.data(), value.size());
        break;
      case Who::kFloor:
        std::memcpy(targets.raw.base() + kPage, value.data(), value.size());
        std::atomic_signal_fence(std::memory_order_seq_cst);  // keep every copy
        break;
      case Who::kPthread:
        targets.pthread.write(value.data(), value.size());
        break;
    }
    control->writes.store(++n, std::memory_order_relaxed);
    if (mode == Writer::kPaced100kHz) {
      next += period;
      auto now = clock::now();
      if (now - next > std::chrono::milliseconds(1)) next = now;  // descheduled: no burst
      while (now < next && !control->stop.load(std::memory_order_relaxed)) now = clock::now();
    }
  }
  if (segment != nullptr) sharedmem_close(segment);
  _exit(0);
}

// Reads per second of the reader's own CPU time (Google Benchmark's default
// clock: this process only), so that the figure shows what the protocol
// costs a reader (cache misses, retries) and not how the 2 shared cores were
// scheduled; the wall-clock rate is reported next to it.
void readers(benchmark::State& state, Who who, Writer mode) {
  ReaderTargets& targets = reader_targets();
  void* shared = ::mmap(nullptr, sizeof(WriterControl), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) die("mmap of the writer's control block failed");
  auto* control = new (shared) WriterControl;
  pid_t writer = -1;
  if (mode != Writer::kNone) {
    writer = ::fork();
    if (writer < 0) die("fork failed");
    if (writer == 0) writer_main(who, control, mode);
    while (!control->ready.load(std::memory_order_acquire)) {
      int status = 0;
      if (::waitpid(writer, &status, WNOHANG) == writer) die("the writer process failed");
    }
  }
  const cpu_set_t previous = pin_to_cpu(0);
  unsigned char* destination = fixture().destination.at(0);
  const unsigned char* raw = targets.raw.base() + kPage;
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t writes_before = control->writes.load();
  for (auto _ : state) {
    switch (who) {
      case Who::kSharedmem: {
        std::uint64_t length = 0;
        sharedmem_read(targets.segment, destination, 4096, &length);
        benchmark::DoNotOptimize(length);
        break;
      }
      case Who::kFloor:
        std::memcpy(destination, raw, 4096);
        benchmark::ClobberMemory();
        break;
      case Who::kPthread:
        benchmark::DoNotOptimize(targets.pthread.read(destination, 4096));
        break;
    }
  }
  const std::uint64_t writes = control->writes.load() - writes_before;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  control->stop.store(1);
  ::sched_setaffinity(0, sizeof previous, &previous);
  if (writer > 0) {
    int status = 0;
    ::waitpid(writer, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      state.SkipWithError("the writer process failed");
  }
  ::munmap(shared, sizeof(WriterControl));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  const double seconds = elapsed.count();
  state.counters["writer_hz"] = seconds > 0 ? static_cast<double>(writes) / seconds : 0;
  state.counters["wall_reads_per_s"] =
      seconds > 0 ? static_cast<double>(state.iterations()) / seconds : 0;
}

// --- attach/ and create/: open + close, against bare POSIX calls ---

constexpr std::size_t kSegmentBytes = 3 * 4096;  // a 4096-byte segment: header + 2 slots

// What a hand-written POSIX user does to attach: open, size, map, take a
// shared lifetime lock; and to detach: unmap, close.
bool posix_attach_detach(const char* name) {
  const int fd = ::shm_open(name, O_RDWR, 0);
  if (fd < 0) return false;
  struct stat status {};
  ::fstat(fd, &status);
  void* p = ::mmap(nullptr, static_cast<std::size_t>(status.st_size), PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 1;
  lock.l_len = 1;
  ::fcntl(fd, F_OFD_SETLK, &lock);
  benchmark::DoNotOptimize(p);
  ::munmap(p, static_cast<std::size_t>(status.st_size));
  ::close(fd);
  return p != MAP_FAILED;
}

// And to create: create exclusively, size, map, lock; then remove it again.
bool posix_create_remove(const char* name) {
  const int fd = ::shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return false;
  const bool sized = ::ftruncate(fd, kSegmentBytes) == 0;
  void* p = ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 1;
  lock.l_len = 1;
  ::fcntl(fd, F_OFD_SETLK, &lock);
  benchmark::DoNotOptimize(p);
  ::munmap(p, kSegmentBytes);
  ::shm_unlink(name);
  ::close(fd);
  return sized && p != MAP_FAILED;
}

void attach_sharedmem(benchmark::State& state) {
  static const std::string name = unique_name("attach");
  static sharedmem_segment* holder = open_or_die(name, 4096);  // keeps it alive
  benchmark::DoNotOptimize(holder);
  for (auto _ : state) {
    sharedmem_segment* segment = nullptr;
    if (sharedmem_open(name.c_str(), 4096, 0, &segment) != SHAREDMEM_OK)
      state.SkipWithError("sharedmem_open failed");
    sharedmem_close(segment);
  }
}

void attach_posix(benchmark::State& state) {
  const std::string name = "/" + unique_name("attach_raw");
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0 || ::ftruncate(fd, kSegmentBytes) != 0) die("creating " + name + " failed");
  for (auto _ : state)
    if (!posix_attach_detach(name.c_str())) state.SkipWithError("attach failed");
  ::shm_unlink(name.c_str());
  ::close(fd);
}

void create_sharedmem(benchmark::State& state) {
  const std::string name = unique_name("create");
  for (auto _ : state) {
    sharedmem_segment* segment = nullptr;
    if (sharedmem_open(name.c_str(), 4096, 0, &segment) != SHAREDMEM_OK)
      state.SkipWithError("sharedmem_open failed");
    sharedmem_close(segment);  // the last user: removes it
  }
}

void create_posix(benchmark::State& state) {
  const std::string name = "/" + unique_name("create_raw");
  for (auto _ : state)
    if (!posix_create_remove(name.c_str())) state.SkipWithError("create failed");
}

// --- inplace/: a 1 MiB value produced in place, against produced and copied ---

// What a producer does to make a value: here, writes every byte of it from a
// frame number (a stand-in for rendering a frame or decoding a block). The
// same function fills a private buffer or the slot, so the two paths differ
// only in where the bytes go and in the copy.
__attribute__((noinline)) void produce(unsigned char* out, std::size_t size, std::uint64_t frame) {
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t word = frame ^ (i * 0x9e37'79b9'7f4a'7c15ull);
    std::memcpy(out + i, &word, 8);
  }
}

// The floor: producing into a private buffer, nothing shared.
void in_place_floor(benchmark::State& state, std::size_t size) {
  unsigned char* buffer = fixture().source.at(0);
  std::uint64_t frame = 0;
  for (auto _ : state) {
    produce(buffer, size, ++frame);
    benchmark::ClobberMemory();
  }
  count_bytes(state, size);
}

// Producing into a private buffer, then sharedmem_write: a produce and a copy.
void in_place_copy(benchmark::State& state, std::size_t size) {
  sharedmem_segment* segment = fixture().write_segment(size);
  unsigned char* buffer = fixture().source.at(0);
  std::uint64_t frame = 0;
  for (auto _ : state) {
    produce(buffer, size, ++frame);
    benchmark::DoNotOptimize(sharedmem_write(segment, buffer, size));
  }
  count_bytes(state, size);
}

// sharedmem_write_begin, producing into the slot, sharedmem_write_commit.
void in_place_begin_commit(benchmark::State& state, std::size_t size) {
  sharedmem_segment* segment = fixture().write_segment(size);
  std::uint64_t frame = 0;
  for (auto _ : state) {
    void* data = nullptr;
    if (sharedmem_write_begin(segment, size, &data) != SHAREDMEM_OK) {
      state.SkipWithError("sharedmem_write_begin failed");
      break;
    }
    produce(static_cast<unsigned char*>(data), size, ++frame);
    benchmark::DoNotOptimize(sharedmem_write_commit(segment, nullptr));
  }
  count_bytes(state, size);
}

// --- registration ---

struct Timing {
  double min_time;
  int repetitions;
};
constexpr Timing kMain{0.05, 7};
constexpr Timing kSweep{0.002, 5};
constexpr Timing kReaders{0.2, 5};
constexpr Timing kAttach{0.05, 7};

template <typename Fn>
benchmark::internal::Benchmark* add(const std::string& name, Timing timing, Fn&& fn) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn));
  if (g_smoke) {
    b->Iterations(1)->Repetitions(1);
  } else {
    b->MinTime(timing.min_time)->Repetitions(timing.repetitions)->ReportAggregatesOnly(true);
    // The fastest repetition too: noise on a shared machine only ever adds
    // time, so a maximum over many points (the worst page offset) is taken
    // over minimums (report.py says so).
    b->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });
  }
  return b;
}

std::string size_name(std::size_t size) { return std::to_string(size); }

void register_all() {
  Fixture& f = fixture();
  for (std::size_t size : kSizes) {
    const std::string s = "/" + size_name(size);
    add("copy/floor/read" + s, kMain, [=](benchmark::State& st) { floor_read(st, size, 0); });
    add("copy/floor/write" + s, kMain, [=](benchmark::State& st) { floor_write(st, size, 0); });
    add("copy/sharedmem/read" + s, kMain,
        [=](benchmark::State& st) { sharedmem_read_bench(st, size, 0); });
    add("copy/sharedmem/write" + s, kMain,
        [=](benchmark::State& st) { sharedmem_write_bench(st, size, 0); });
    add("copy/boost/read" + s, kMain, [=, &f](benchmark::State& st) { peer_read(st, f.boost, size); });
    add("copy/boost/write" + s, kMain,
        [=, &f](benchmark::State& st) { peer_write(st, f.boost, size); });
    add("copy/pthread/read" + s, kMain,
        [=, &f](benchmark::State& st) { peer_read(st, f.pthread, size); });
    add("copy/pthread/write" + s, kMain,
        [=, &f](benchmark::State& st) { peer_write(st, f.pthread, size); });
#ifdef SHAREDMEM_BENCH_HAVE_QT
    add("copy/qt/read" + s, kMain, [=, &f](benchmark::State& st) { peer_read(st, f.qt, size); });
    add("copy/qt/write" + s, kMain, [=, &f](benchmark::State& st) { peer_write(st, f.qt, size); });
#endif
  }

  const std::string seed = "/" + size_name(kSeedBytes);
  add("seed/floor/get" + seed, kMain, seed_floor_get);
  add("seed/floor/set" + seed, kMain, seed_floor_set);
  add("seed/sharedmem/get" + seed, kMain, [](benchmark::State& st) { seed_get(st, 0); });
  add("seed/sharedmem/set" + seed, kMain, [](benchmark::State& st) { seed_set(st, 0); });

  // Every 16 bytes of a page for 4 KiB and 64 KiB; the hazardous distances
  // and two safe ones for 1 MiB. In smoke runs, one safe and one hazardous.
  std::vector<std::size_t> every_16;
  for (std::size_t o = 0; o < kPage; o += 16) every_16.push_back(o);
  const std::vector<std::size_t> few = {0, 16, 32, 48, 2048, 4048, 4080};
  const std::vector<std::size_t> smoke = {0, 16};
  struct Sweep {
    std::size_t size;
    const std::vector<std::size_t>* offsets;
  };
  for (const Sweep& sweep : {Sweep{4096, &every_16}, Sweep{64 * 1024, &every_16},
                             Sweep{1024 * 1024, &few}}) {
    const std::size_t size = sweep.size;
    for (std::size_t o : g_smoke ? smoke : *sweep.offsets) {
      const std::string tail = "/" + size_name(size) + "/" + std::to_string(o);
      add("offset/memcpy/read" + tail, kSweep, [=](benchmark::State& st) { floor_read(st, size, o); });
      add("offset/memcpy/write" + tail, kSweep,
          [=](benchmark::State& st) { floor_write(st, size, o); });
      add("offset/sharedmem/read" + tail, kSweep,
          [=](benchmark::State& st) { sharedmem_read_bench(st, size, o); });
      add("offset/sharedmem/write" + tail, kSweep,
          [=](benchmark::State& st) { sharedmem_write_bench(st, size, o); });
    }
  }
  for (std::size_t o : g_smoke ? smoke : every_16) {
    const std::string tail = seed + "/" + std::to_string(o);
    add("offset/sharedmem/get" + tail, kSweep, [=](benchmark::State& st) { seed_get(st, o); });
    add("offset/sharedmem/set" + tail, kSweep, [=](benchmark::State& st) { seed_set(st, o); });
  }

  struct ReaderCase {
    const char* name;
    Who who;
  };
  struct WriterCase {
    const char* name;
    Writer mode;
  };
  for (const ReaderCase r : {ReaderCase{"sharedmem", Who::kSharedmem}, ReaderCase{"floor", Who::kFloor},
                             ReaderCase{"pthread", Who::kPthread}}) {
    for (const WriterCase w : {WriterCase{"alone", Writer::kNone},
                               WriterCase{"writer_100khz", Writer::kPaced100kHz},
                               WriterCase{"writer_nonstop", Writer::kNonStop}}) {
      const Who who = r.who;
      const Writer mode = w.mode;
      add(std::string("readers/") + r.name + "/" + w.name + "/4096", kReaders,
          [=](benchmark::State& st) { readers(st, who, mode); });
    }
  }

  add("attach/sharedmem/open_close/4096", kAttach, attach_sharedmem);
  add("attach/posix/open_close/4096", kAttach, attach_posix);
  add("create/sharedmem/open_close/4096", kAttach, create_sharedmem);
  add("create/posix/open_close/4096", kAttach, create_posix);

  for (std::size_t size : {std::size_t{4096}, kMaxSize}) {
    const std::string s = "/" + size_name(size);
    add("inplace/floor/produce" + s, kMain, [=](benchmark::State& st) { in_place_floor(st, size); });
    add("inplace/sharedmem/produce_write" + s, kMain,
        [=](benchmark::State& st) { in_place_copy(st, size); });
    add("inplace/sharedmem/begin_commit" + s, kMain,
        [=](benchmark::State& st) { in_place_begin_commit(st, size); });
  }
}

}  // namespace
}  // namespace sharedmem_bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      sharedmem_bench::g_smoke = true;
    else
      args.push_back(argv[i]);
  }
  const char* default_name = std::getenv("SHAREDMEM_DEFAULT_SEGMENT");
  if (default_name == nullptr || *default_name == '\0')
    sharedmem_bench::die(
        "set SHAREDMEM_DEFAULT_SEGMENT to a private name (bench/report.py does), so that "
        "SetSharedMem never writes to the machine's real default segment");
  if (sharedmem_default_status() != SHAREDMEM_OK)
    sharedmem_bench::die(std::string("the default segment is not attached: ") +
                         sharedmem_strerror(sharedmem_default_status()));
  sharedmem_bench::register_all();
  sharedmem_bench::register_raw_benchmarks(sharedmem_bench::g_smoke);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (sharedmem_segment* segment : sharedmem_bench::open_segments()) sharedmem_close(segment);
  return 0;
}
