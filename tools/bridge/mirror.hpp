// SPDX-License-Identifier: MIT
// The bridge's engine: one Mirror per segment name, keeping a local value
// segment and one key of a NATS JetStream key-value bucket equal.
//
// Each mirror has two threads. The publisher sleeps in sharedmem_wait and,
// when the local version moves, reads the value with
// sharedmem_read_versioned and puts it in the bucket. The applier sleeps in
// kvWatcher_Next and writes each newer revision of the key to the segment.
// Both take the mirror's lock around "compare, then write one side", so that
// the pair (bucket revision, local version that holds its value) is always
// exact: that pair is what stops echo loops (an update the bridge applied is
// at the local version it recorded, so the publisher does not send it back;
// a revision the bridge put is not newer than the one it recorded, so the
// applier does not write it back).
#ifndef SHAREDMEM_TOOLS_BRIDGE_MIRROR_HPP
#define SHAREDMEM_TOOLS_BRIDGE_MIRROR_HPP

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sharedmem/sharedmem.h"

namespace sharedmem_bridge {

// How long a starting bridge waits for the cluster's JetStream to answer
// (a cluster that is starting or electing a leader answers late or not at
// all).
constexpr auto kStartupPatience = std::chrono::seconds(30);

// Which side wins at start-up when the segment and the bucket both hold a
// value and they differ.
enum class Prefer { kBucket, kLocal };

struct MirrorSettings {
  bool cas = false;      // publish with kvStore_Update(last revision seen)
  bool history = false;  // apply every revision the watcher delivers, not only the latest
  Prefer prefer = Prefer::kBucket;
};

// Lines for --json and for stderr; thread-safe. Implemented in main.cpp.
class Reporter {
 public:
  explicit Reporter(bool json) : json_(json) {}
  bool json() const { return json_; }
  // One JSON object per line on stdout (only with --json).
  void event(const std::string& json_object);
  // "sharedmem-bridge: <message>" on stderr, and with --json an
  // {"event": "error"|"warning", ...} line.
  void error(const std::string& name, const std::string& message);
  void warning(const std::string& message);

 private:
  bool json_;
  std::mutex mutex_;
};

// The link to the servers: the bucket, and whether the connection is up.
struct Link {
  natsConnection* connection = nullptr;
  kvStore* bucket = nullptr;
  std::mutex mutex;
  std::condition_variable changed;  // connected flipped, or stopping
  bool connected = true;
  std::atomic<bool> stopping{false};
  // Called when a mirror cannot go on (its segment failed): stops the bridge
  // with exit status 1.
  std::function<void()> fail;
};

// What one mirror reports in a status line.
struct MirrorStatus {
  std::string name, key;
  std::uint64_t revision = 0, version = 0, published = 0, applied = 0, conflicts = 0,
                refused = 0;
  double lag_ms = 0;
};

class Mirror {
 public:
  // Takes ownership of `segment` (an open value segment).
  Mirror(std::string name, std::string key, sharedmem_segment* segment,
         const MirrorSettings& settings, Link& link, Reporter& reporter);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // Settles the start-up state between the segment and the bucket (see
  // Prefer). Returns false, having reported why, when the bucket could not
  // be read or written.
  bool reconcile();
  // Starts the watcher and both threads. False, reported, if the watcher
  // could not be created.
  bool start();
  // Stops the watcher and joins the threads; called once, after
  // Link::stopping is set.
  void stop();
  MirrorStatus status();

 private:
  enum class Publish { kDone, kRetry };
  void publisher_loop();
  void applier_loop();
  Publish publish_latest(std::uint64_t& seen);
  void apply(kvEntry* entry);
  // Writes `size` bytes to the segment for bucket revision `revision`; with
  // `only_if_synced`, only if no local write is waiting to be published.
  // Caller holds mutex_. False if nothing was written.
  bool write_local(const void* data, std::uint64_t size, std::uint64_t revision,
                   bool only_if_synced, const char* event, double lag_ms);
  std::string fields() const;  // "name" and "key" members, for events

  const std::string name_, key_;
  sharedmem_segment* const segment_;
  const MirrorSettings settings_;
  Link& link_;
  Reporter& reporter_;
  std::vector<unsigned char> buffer_;  // the value read, capacity bytes; under mutex_

  std::mutex mutex_;  // held around each compare-then-write of one side
  std::uint64_t revision_ = 0;        // the newest bucket revision of the key mirrored
  std::uint64_t synced_version_ = 0;  // the local version that holds revision_'s value
  std::uint64_t published_ = 0, applied_ = 0, conflicts_ = 0, refused_ = 0;
  double lag_ms_ = 0;

  kvWatcher* watcher_ = nullptr;
  std::thread publisher_, applier_;
};

// A NATS library failure as one line: the status text and the library's
// last error message.
std::string nats_failure(natsStatus status);

}  // namespace sharedmem_bridge

#endif  // SHAREDMEM_TOOLS_BRIDGE_MIRROR_HPP
