// SPDX-License-Identifier: MIT
// The bridge's benchmark (run by tests/bridge/bridge_test.py --bench):
//
//   sharedmem-bridge-bench --server-a URL --server-b URL --bucket B
//       --a NAME --b NAME --bare-key KEY [--rounds N] [--updates N]
//
// Latency: sharedmem_write on segment A until sharedmem_wait returns on
// segment B with that value, where A and B are mirrored by two running
// bridges (one connected to server A, one to server B); against the bare
// NATS path through the same cluster: kvStore_Put on a connection to server
// A until a watcher on a connection to server B receives it. The two are
// measured in alternation, round by round, so that both see the same load.
// Throughput: `updates` small writes back to back, until the last one is
// readable on the other side, against as many bare puts until the watcher
// has the last. Prints one JSON object.
#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"

namespace {

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sharedmem-bridge-bench: %s\n", what.c_str());
  std::exit(1);
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) die(std::string(what) + ": " + natsStatus_GetText(s));
}

struct KvSide {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  KvSide(const std::string& url, const std::string& bucket) {
    check(natsConnection_ConnectTo(&connection, url.c_str()), "connect");
    check(natsConnection_JetStream(&js, connection, nullptr), "jetstream");
    check(js_KeyValue(&kv, js, bucket.c_str()), "bucket");
  }
  ~KvSide() {
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(connection);
  }
};

// The bare path's receiving side: a watcher thread that records when each
// value arrives.
class Receiver {
 public:
  Receiver(kvStore* kv, const std::string& key) {
    check(kvStore_Watch(&watcher_, kv, key.c_str(), nullptr), "watch");
    thread_ = std::thread([this] { run(); });
  }
  ~Receiver() {
    kvWatcher_Stop(watcher_);
    thread_.join();
    kvWatcher_Destroy(watcher_);
  }
  // Waits until `value` arrived; returns when.
  Clock::time_point wait_for(const std::string& value) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!arrived_.wait_for(lock, std::chrono::seconds(30), [&] { return last_ == value; }))
      die("the bare watcher did not receive '" + value + "' in 30 s");
    return when_;
  }

 private:
  void run() {
    for (;;) {
      kvEntry* e = nullptr;
      const natsStatus s = kvWatcher_Next(&e, watcher_, 60000);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) return;
      if (e == nullptr) continue;
      const auto now = Clock::now();
      std::string value(static_cast<const char*>(kvEntry_Value(e)),
                        static_cast<std::size_t>(kvEntry_ValueLen(e)));
      kvEntry_Destroy(e);
      std::lock_guard<std::mutex> lock(mutex_);
      last_ = value;
      when_ = now;
      arrived_.notify_all();
    }
  }
  kvWatcher* watcher_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::string last_;
  Clock::time_point when_;
};

sharedmem_segment* open_live(const std::string& name) {
  sharedmem_segment* s = nullptr;
  if (const sharedmem_error e = sharedmem_open(name.c_str(), 0, SHAREDMEM_OPEN_ONLY, &s))
    die("open '" + name + "': " + sharedmem_strerror(e));
  return s;
}

// Waits until segment `b` holds `value`; returns when.
Clock::time_point wait_value(sharedmem_segment* b, const std::string& value) {
  std::vector<char> buffer(value.size() + 64);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::uint64_t size = 0, version = 0;
    if (sharedmem_read_versioned(b, buffer.data(), buffer.size(), &size, &version) != SHAREDMEM_OK)
      die("read");
    if (size == value.size() && std::memcmp(buffer.data(), value.data(), value.size()) == 0)
      return Clock::now();
    if (Clock::now() > deadline) die("segment B did not receive '" + value + "' in 30 s");
    sharedmem_wait(b, version, 1000, nullptr);
  }
}

struct Stats {
  double median = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  return {at(0.5), at(0.9), at(0.99), v.front(), v.back()};
}
std::string json(const Stats& s) {
  char out[256];
  std::snprintf(out, sizeof out,
                "{\"median_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"min_us\": %.1f, "
                "\"max_us\": %.1f}",
                s.median, s.p90, s.p99, s.min, s.max);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server_a, server_b, bucket, name_a, name_b, bare_key;
  int rounds = 200, updates = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--server-a") server_a = value;
    else if (flag == "--server-b") server_b = value;
    else if (flag == "--bucket") bucket = value;
    else if (flag == "--a") name_a = value;
    else if (flag == "--b") name_b = value;
    else if (flag == "--bare-key") bare_key = value;
    else if (flag == "--rounds") rounds = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--updates") updates = std::max(1, std::atoi(value.c_str()));
    else die("unknown option " + flag);
  }
  if (server_a.empty() || server_b.empty() || bucket.empty() || name_a.empty() ||
      name_b.empty() || bare_key.empty())
    die("usage: --server-a URL --server-b URL --bucket B --a NAME --b NAME --bare-key KEY "
        "[--rounds N] [--updates N]");

  sharedmem_segment* a = open_live(name_a);
  sharedmem_segment* b = open_live(name_b);
  {
    KvSide put_side(server_a, bucket), watch_side(server_b, bucket);
    Receiver receiver(watch_side.kv, bare_key);
    const std::string run_tag = std::to_string(static_cast<long long>(
        std::chrono::system_clock::now().time_since_epoch().count()));

    std::vector<double> bridge_us, bare_us;
    const int warmup = std::min(20, rounds);
    for (int i = -warmup; i < rounds; ++i) {
      const std::string value = run_tag + "/" + std::to_string(i);
      auto t0 = Clock::now();
      if (sharedmem_write(a, value.data(), value.size()) != SHAREDMEM_OK) die("write");
      auto t1 = wait_value(b, value);
      if (i >= 0) bridge_us.push_back(us_between(t0, t1));

      std::uint64_t revision = 0;
      t0 = Clock::now();
      check(kvStore_Put(&revision, put_side.kv, bare_key.c_str(), value.data(),
                        static_cast<int>(value.size())),
            "put");
      t1 = receiver.wait_for(value);
      if (i >= 0) bare_us.push_back(us_between(t0, t1));
    }

    // Throughput: back-to-back small updates until the last is seen.
    const std::uint64_t b_before = sharedmem_version(b);
    auto t0 = Clock::now();
    std::string value;
    for (int i = 0; i < updates; ++i) {
      value = run_tag + "/t" + std::to_string(i);
      if (sharedmem_write(a, value.data(), value.size()) != SHAREDMEM_OK) die("write");
    }
    const double bridge_s = us_between(t0, wait_value(b, value)) / 1e6;
    const std::uint64_t b_applied = sharedmem_version(b) - b_before;
    t0 = Clock::now();
    for (int i = 0; i < updates; ++i) {
      value = run_tag + "/u" + std::to_string(i);
      std::uint64_t revision = 0;
      check(kvStore_Put(&revision, put_side.kv, bare_key.c_str(), value.data(),
                        static_cast<int>(value.size())),
            "put");
    }
    const double bare_s = us_between(t0, receiver.wait_for(value)) / 1e6;

    const Stats bridge = stats(bridge_us), bare = stats(bare_us);
    std::printf(
        "{\"rounds\": %d, \"bridge\": %s, \"bare\": %s, \"ratio_median\": %.3f,\n"
        " \"updates\": %d, \"bridge_updates_per_s\": %.0f, \"bridge_versions_on_b\": %llu, "
        "\"bare_puts_per_s\": %.0f}\n",
        rounds, json(bridge).c_str(), json(bare).c_str(), bridge.median / bare.median, updates,
        updates / bridge_s, static_cast<unsigned long long>(b_applied), updates / bare_s);
  }
  sharedmem_close(a);
  sharedmem_close(b);
  nats_Close();
  return 0;
}
