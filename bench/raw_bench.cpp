// SPDX-License-Identifier: MIT
// Raw segments' benchmarks (issue 11), each next to its baseline in the same
// run:
//   raw/{posix,sharedmem}/fill/1048576     memset of 1 MiB: a bare POSIX shm
//                                          mapping (data one page in, like a
//                                          raw segment's) vs sharedmem_data
//   lock/{sharedmem,pthread,pthread_robust,boost}/lock_unlock/0
//                                          one uncontended lock + unlock:
//                                          sharedmem_lock/unlock vs a
//                                          process-shared pthread mutex (plain,
//                                          and robust error-checking like
//                                          ours) and Boost's interprocess_mutex
// bench/report.py turns them into ratios (docs/PERFORMANCE.md, "Raw segments").
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <algorithm>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "peers.hpp"
#include "sharedmem/sharedmem.h"

namespace sharedmem_bench {

void register_raw_benchmarks(bool smoke);

namespace {

constexpr std::size_t kFillBytes = 1024 * 1024;

// The raw segments these benchmarks keep open, closed at exit.
struct RawSegments {
  std::vector<sharedmem_segment*> open;
  ~RawSegments() {
    for (sharedmem_segment* segment : open) sharedmem_close(segment);
  }
};
RawSegments& raw_segments() {
  static RawSegments segments;
  return segments;
}

sharedmem_segment* open_raw(const std::string& tag, std::uint64_t capacity) {
  sharedmem_segment* segment = nullptr;
  const std::string name = unique_name(tag);
  if (sharedmem_open(name.c_str(), capacity, SHAREDMEM_RAW, &segment) != SHAREDMEM_OK)
    return nullptr;
  raw_segments().open.push_back(segment);
  return segment;
}

// Fills `bytes` with a byte that changes every iteration, so that no two
// fills are alike and none can be elided.
void fill(benchmark::State& state, unsigned char* bytes) {
  int round = 0;
  for (auto _ : state) {
    std::memset(bytes, round++ & 0xff, kFillBytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kFillBytes));
}

void fill_posix(benchmark::State& state) {
  static RawShm* shm = new RawShm(kPage + kFillBytes);  // lives until exit
  fill(state, shm->base() + kPage);
}

void fill_sharedmem(benchmark::State& state) {
  static sharedmem_segment* segment = open_raw("raw.fill", kFillBytes);
  if (segment == nullptr) {
    state.SkipWithError("sharedmem_open(SHAREDMEM_RAW) failed");
    return;
  }
  auto* data = static_cast<unsigned char*>(sharedmem_data(segment));
  std::memset(data, 0x5a, kFillBytes);  // fault every page in, as RawShm does
  fill(state, data);
}

void lock_sharedmem(benchmark::State& state) {
  static sharedmem_segment* segment = open_raw("raw.lock", 64);
  if (segment == nullptr) {
    state.SkipWithError("sharedmem_open(SHAREDMEM_RAW) failed");
    return;
  }
  for (auto _ : state) {
    if (sharedmem_lock(segment, SHAREDMEM_WAIT_FOREVER) != SHAREDMEM_OK ||
        sharedmem_unlock(segment) != SHAREDMEM_OK) {
      state.SkipWithError("sharedmem_lock/unlock failed");
      break;
    }
  }
}

// A process-shared pthread mutex in shared memory; `robust` adds what
// sharedmem's lock has (robust, error-checking).
pthread_mutex_t* shared_pthread_mutex(bool robust) {
  auto* shm = new RawShm(kPage);  // lives until exit
  auto* mutex = reinterpret_cast<pthread_mutex_t*>(shm->base());
  pthread_mutexattr_t attributes;
  ::pthread_mutexattr_init(&attributes);
  ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (robust) {
    ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    ::pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
  }
  ::pthread_mutex_init(mutex, &attributes);
  ::pthread_mutexattr_destroy(&attributes);
  return mutex;
}

pthread_mutex_t* plain_pthread_mutex() {
  static pthread_mutex_t* mutex = shared_pthread_mutex(false);
  return mutex;
}

pthread_mutex_t* robust_pthread_mutex() {
  static pthread_mutex_t* mutex = shared_pthread_mutex(true);
  return mutex;
}

void lock_pthread(benchmark::State& state, pthread_mutex_t* mutex) {
  for (auto _ : state) {
    ::pthread_mutex_lock(mutex);
    ::pthread_mutex_unlock(mutex);
  }
}

void lock_boost(benchmark::State& state) {
  static boost::interprocess::interprocess_mutex* mutex = [] {
    auto* shm = new RawShm(kPage);  // lives until exit
    return new (shm->base()) boost::interprocess::interprocess_mutex;
  }();
  for (auto _ : state) {
    mutex->lock();
    mutex->unlock();
  }
}

template <typename Fn>
void add(const std::string& name, bool smoke, Fn&& fn) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn));
  if (smoke) {
    b->Iterations(1)->Repetitions(1);
  } else {
    // As sharedmem_bench.cpp's main benchmarks: 7 repetitions of 50 ms, the
    // median and the fastest.
    b->MinTime(0.05)->Repetitions(7)->ReportAggregatesOnly(true);
    b->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });
  }
}

}  // namespace

void register_raw_benchmarks(bool smoke) {
  const std::string size = "/" + std::to_string(kFillBytes);
  add("raw/posix/fill" + size, smoke, fill_posix);
  add("raw/sharedmem/fill" + size, smoke, fill_sharedmem);
  add("lock/sharedmem/lock_unlock/0", smoke, lock_sharedmem);
  add("lock/pthread/lock_unlock/0", smoke,
      [](benchmark::State& st) { lock_pthread(st, plain_pthread_mutex()); });
  add("lock/pthread_robust/lock_unlock/0", smoke,
      [](benchmark::State& st) { lock_pthread(st, robust_pthread_mutex()); });
  add("lock/boost/lock_unlock/0", smoke, lock_boost);
}

}  // namespace sharedmem_bench
