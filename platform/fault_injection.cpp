// SPDX-License-Identifier: MIT
// Portable part of the fault injection in fault_injection.hpp.
#include "fault_injection.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "environment.hpp"

namespace sharedmem::platform {
namespace {

struct ArmedFault {
  std::string point;
  long hit = 1;
  bool stop = false;  // stop there instead of dying
  std::atomic<long> seen{0};

  ArmedFault() {
    const char* text = environment_variable("SHAREDMEM_TEST_FAULT");
    if (text == nullptr) return;
    point = text;
    const auto colon = point.find(':');
    if (colon != std::string::npos) {
      stop = point.compare(colon + 1, std::string::npos, "stop") == 0;
      point.resize(colon);
    }
    const auto at = point.find('@');
    if (at != std::string::npos) {
      hit = std::strtol(point.c_str() + at + 1, nullptr, 10);
      point.resize(at);
    }
  }
};

// Read when the library is loaded: fault points sit in paths that signal
// handlers take (a write), where a guarded first-use initialisation could be
// re-entered.
ArmedFault g_armed;

ArmedFault& armed() { return g_armed; }

}  // namespace

void fault_point(const char* point) noexcept {
  ArmedFault& fault = armed();
  if (fault.point.empty() || fault.point != point || ++fault.seen != fault.hit) return;
  if (fault.stop)
    stop_self();
  else
    terminate_self();
}

}  // namespace sharedmem::platform
