// SPDX-License-Identifier: MIT
#include "roles.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "process.hpp"

namespace sharedmem_test {
namespace {

std::map<std::string, Role>& roles() {
  static std::map<std::string, Role> instance;
  return instance;
}

}  // namespace

bool register_role(const std::string& name, Role role) {
  return roles().emplace(name, std::move(role)).second;
}

int run_role_if_requested(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "--child") return -1;
  const auto found = roles().find(argv[2]);
  if (found == roles().end()) {
    std::fprintf(stderr, "unknown child role '%s'\n", argv[2]);
    return 99;
  }
  return found->second(std::vector<std::string>(argv + 3, argv + argc));
}

void report(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::string await_parent() {
  std::string line;
  std::getline(std::cin, line);
  return line;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds base) {
  const char* text = std::getenv("SHAREDMEM_TEST_TIMEOUT_MULTIPLIER");
  const double factor = text ? std::atof(text) : 1.0;
  return std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(base.count()) * (factor > 0 ? factor : 1.0)));
}

ChildProcess start_role(const std::string& role, const std::vector<std::string>& args,
                        const Environment& extra_env) {
  std::vector<std::string> all{"--child", role};
  all.insert(all.end(), args.begin(), args.end());
  return ChildProcess(self_path(), all, extra_env);
}

}  // namespace sharedmem_test
