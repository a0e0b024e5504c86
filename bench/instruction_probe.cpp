// SPDX-License-Identifier: MIT
// Instruction counts of the hot path, for callgrind (deterministic on a
// shared machine, unlike times): `sharedmem_instruction_probe <operation>
// <size>` runs the operation kRounds times inside measured_loop() on a
// private segment; bench/report.py runs it under
//   valgrind --tool=callgrind --toggle-collect=measured_loop ...
// and divides the instructions collected by kRounds. Operations: read,
// write (a value of <size> bytes), lock (a raw segment's lock + unlock),
// mutex (a process-shared pthread mutex's lock + unlock + memcpy of <size>
// bytes: the peer's write), mutex-lock (its lock + unlock alone).
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sharedmem/sharedmem.h"

namespace {

constexpr int kRounds = 1000;

struct Work {
  std::string operation;
  sharedmem_segment* segment = nullptr;
  pthread_mutex_t* mutex = nullptr;
  std::vector<unsigned char> source;
  std::vector<unsigned char> target;
};

// Not inlined, so that callgrind's --toggle-collect finds it by name.
__attribute__((noinline)) int measured_loop(Work& work) {
  int failures = 0;
  std::uint64_t length = 0;
  for (int i = 0; i < kRounds; ++i) {
    if (work.operation == "read") {
      failures += sharedmem_read(work.segment, work.target.data(), work.target.size(), &length) !=
                  SHAREDMEM_OK;
    } else if (work.operation == "write") {
      failures += sharedmem_write(work.segment, work.source.data(), work.source.size()) !=
                  SHAREDMEM_OK;
    } else if (work.operation == "lock") {
      failures += sharedmem_lock(work.segment, 1000) != SHAREDMEM_OK;
      failures += sharedmem_unlock(work.segment) != SHAREDMEM_OK;
    } else {
      failures += ::pthread_mutex_lock(work.mutex) != 0;
      if (work.operation == "mutex")
        std::memcpy(work.target.data(), work.source.data(), work.source.size());
      failures += ::pthread_mutex_unlock(work.mutex) != 0;
    }
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s read|write|lock|mutex|mutex-lock <size>\n", argv[0]);
    return 2;
  }
  Work work;
  work.operation = argv[1];
  const std::size_t size = std::strtoull(argv[2], nullptr, 10);
  work.source.assign(size, 0x5a);
  work.target.assign(size, 0);
  const std::string name = "instruction-probe-" + std::to_string(::getpid());
  pthread_mutex_t mutex;
  if (work.operation == "mutex" || work.operation == "mutex-lock") {
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    ::pthread_mutex_init(&mutex, &attributes);
    work.mutex = &mutex;
  } else {
    const std::uint32_t flags = work.operation == "lock" ? SHAREDMEM_RAW : 0;
    if (sharedmem_error e = sharedmem_open(name.c_str(), size, flags, &work.segment)) {
      std::fprintf(stderr, "open: %s\n", sharedmem_strerror(e));
      return 1;
    }
    if (work.operation == "read" && sharedmem_write(work.segment, work.source.data(), size) != 0)
      return 1;
  }
  const int failures = measured_loop(work) + measured_loop(work);  // the second is measured too
  if (work.segment) sharedmem_close(work.segment);
  std::printf("%s %zu rounds %d failures %d\n", argv[1], size, 2 * kRounds, failures);
  return failures == 0 ? 0 : 1;
}
