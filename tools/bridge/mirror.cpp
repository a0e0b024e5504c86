// SPDX-License-Identifier: MIT
// The bridge's engine (mirror.hpp): start-up reconciliation, the publisher
// and the applier of one segment name.
#include "mirror.hpp"

#include <chrono>
#include <cstring>
#include <utility>

#include "text.hpp"

namespace sharedmem_bridge {
namespace {

using sharedmem_cli::json_string;
using Clock = std::chrono::steady_clock;

// How long the publisher sleeps in one sharedmem_wait: it wakes at once on a
// write, and at the latest after this long to see whether the bridge stops
// (nothing else can wake it without writing the segment).
constexpr std::uint32_t kStopCheckMs = 250;
// How long a publisher whose put failed waits before it tries again, unless
// the connection comes back first.
constexpr auto kRetryDelay = std::chrono::milliseconds(500);
// What a compare-and-write adds to the message besides the value: the
// Nats-Expected-Last-Subject-Sequence header, counted generously.
constexpr std::int64_t kCasHeaderBytes = 128;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Milliseconds from the server's timestamp of an entry (UTC nanoseconds) to
// now; 0 if the clocks disagree the other way.
double ms_since_created(kvEntry* entry) {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::int64_t created = kvEntry_Created(entry);
  return created > 0 && now > created ? static_cast<double>(now - created) / 1e6 : 0.0;
}

std::string number(std::uint64_t n) { return std::to_string(n); }
std::string milliseconds(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", ms);
  return text;
}

}  // namespace

std::string nats_failure(natsStatus status) {
  std::string message = natsStatus_GetText(status);
  natsStatus last = NATS_OK;
  if (const char* detail = nats_GetLastError(&last); detail != nullptr && *detail != '\0' &&
                                                       message.find(detail) == std::string::npos)
    message += std::string(": ") + detail;
  return message;
}

Mirror::Mirror(std::string name, std::string key, sharedmem_segment* segment,
               const MirrorSettings& settings, Link& link, Reporter& reporter)
    : name_(std::move(name)),
      key_(std::move(key)),
      segment_(segment),
      settings_(settings),
      link_(link),
      reporter_(reporter),
      buffer_(static_cast<std::size_t>(sharedmem_capacity(segment))) {}

Mirror::~Mirror() {
  if (watcher_ != nullptr) kvWatcher_Destroy(watcher_);
  sharedmem_close(segment_);
}

std::string Mirror::fields() const {
  return "\"name\": " + json_string(name_) + ", \"key\": " + json_string(key_);
}

bool Mirror::reconcile() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t size = 0, version = 0;
  if (const sharedmem_error e =
          sharedmem_read_versioned(segment_, buffer_.data(), buffer_.size(), &size, &version)) {
    reporter_.error(name_, sharedmem_strerror(e));
    return false;
  }
  synced_version_ = version;
  kvEntry* entry = nullptr;
  // A cluster electing a leader answers late: asked again for a while.
  const auto give_up = Clock::now() + kStartupPatience;
  natsStatus got = NATS_OK;
  do got = kvStore_Get(&entry, link_.bucket, key_.c_str());
  while ((got == NATS_TIMEOUT || got == NATS_NO_RESPONDERS) && Clock::now() < give_up);
  if (got != NATS_OK && got != NATS_NOT_FOUND) {
    reporter_.error(name_, "cannot read key '" + key_ + "' of the bucket: " + nats_failure(got));
    return false;
  }
  const bool local_has_value = version > 0;
  if (got == NATS_OK) {
    const auto bucket_size = static_cast<std::uint64_t>(kvEntry_ValueLen(entry));
    const bool same = bucket_size == size &&
                      (size == 0 || std::memcmp(kvEntry_Value(entry), buffer_.data(),
                                                static_cast<std::size_t>(size)) == 0);
    revision_ = kvEntry_Revision(entry);
    if (!same && (!local_has_value || settings_.prefer == Prefer::kBucket)) {
      // The segment takes the bucket's value; the publisher then finds it
      // at synced_version_ and does not send it back.
      write_local(kvEntry_Value(entry), bucket_size, revision_, false, "applied", 0);
      kvEntry_Destroy(entry);
      return true;
    }
    kvEntry_Destroy(entry);
    // Equal values: nothing to do. A local value preferred: left unsynced,
    // so that the publisher's first pass puts it.
    if (!same) synced_version_ = version - 1;
    return true;
  }
  // An empty bucket: a local value is left unsynced for the publisher.
  if (local_has_value) synced_version_ = version - 1;
  return true;
}

bool Mirror::start() {
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  // A server that is catching up with the cluster may answer for a while
  // that no stream matches: asked again until the start-up patience runs out.
  const auto give_up = Clock::now() + kStartupPatience;
  natsStatus s = NATS_OK;
  while ((s = kvStore_Watch(&watcher_, link_.bucket, key_.c_str(), &options)) != NATS_OK &&
         Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (s != NATS_OK) {
    reporter_.error(name_, "cannot watch key '" + key_ + "': " + nats_failure(s));
    return false;
  }
  publisher_ = std::thread([this] { publisher_loop(); });
  applier_ = std::thread([this] { applier_loop(); });
  return true;
}

void Mirror::stop() {
  if (watcher_ != nullptr) kvWatcher_Stop(watcher_);
  if (publisher_.joinable()) publisher_.join();
  if (applier_.joinable()) applier_.join();
}

MirrorStatus Mirror::status() {
  std::lock_guard<std::mutex> lock(mutex_);
  MirrorStatus s;
  s.name = name_;
  s.key = key_;
  s.revision = revision_;
  s.version = sharedmem_version(segment_);
  s.published = published_;
  s.applied = applied_;
  s.conflicts = conflicts_;
  s.refused = refused_;
  s.lag_ms = lag_ms_;
  return s;
}

void Mirror::publisher_loop() {
  std::uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    seen = synced_version_;
  }
  // First pass: whatever start-up left unsynced, or was written since.
  bool retry = true;
  bool first = true;
  while (!link_.stopping.load()) {
    if (!retry) {
      std::uint64_t version = 0;
      const sharedmem_error e = sharedmem_wait(segment_, seen, kStopCheckMs, &version);
      if (e == SHAREDMEM_E_TIMEOUT) continue;
      if (e != SHAREDMEM_OK) {
        reporter_.error(name_, std::string("waiting for a write failed: ") + sharedmem_strerror(e));
        link_.fail();
        return;
      }
    } else if (!first) {
      // The last put failed: try again when the connection comes back, or
      // after a while (a failover inside the cluster does not reconnect).
      std::unique_lock<std::mutex> lock(link_.mutex);
      const bool was_connected = link_.connected;
      link_.changed.wait_for(lock, kRetryDelay, [&] {
        return link_.stopping.load() || link_.connected != was_connected;
      });
      if (link_.stopping.load()) return;
    }
    first = false;
    retry = publish_latest(seen) == Publish::kRetry;
  }
}

Mirror::Publish Mirror::publish_latest(std::uint64_t& seen) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t size = 0, version = 0;
  if (const sharedmem_error e =
          sharedmem_read_versioned(segment_, buffer_.data(), buffer_.size(), &size, &version)) {
    reporter_.error(name_, std::string("reading the value failed: ") + sharedmem_strerror(e));
    link_.fail();
    return Publish::kDone;
  }
  seen = version;
  // The value the bucket already has: the bridge wrote it there, or took
  // it from there (no echo).
  if (version == synced_version_) return Publish::kDone;

  const std::int64_t max_payload = natsConnection_GetMaxPayload(link_.connection);
  const std::int64_t limit = settings_.cas ? max_payload - kCasHeaderBytes : max_payload;
  if (max_payload > 0 && size > static_cast<std::uint64_t>(limit)) {
    // Never published, not even in part. The next local write is tried
    // afresh.
    ++refused_;
    synced_version_ = version;
    const std::string why =
        "a value of " + number(size) + " bytes (version " + number(version) +
        ") exceeds the server's maximum payload of " + number(static_cast<std::uint64_t>(
                                                           max_payload)) +
        " bytes" +
        (settings_.cas ? " less " + number(kCasHeaderBytes) + " for the --cas header" : "") +
        ": not published; the bucket keeps revision " + number(revision_);
    reporter_.error(name_, why);
    if (reporter_.json())
      reporter_.event("{\"event\": \"refused\", " + fields() + ", \"version\": " +
                      number(version) + ", \"size\": " + number(size) + ", \"limit\": " +
                      number(static_cast<std::uint64_t>(limit)) + "}");
    return Publish::kDone;
  }

  const auto started = Clock::now();
  const int length = static_cast<int>(size);
  std::uint64_t revision = 0;
  natsStatus s = NATS_OK;
  if (!settings_.cas)
    s = kvStore_Put(&revision, link_.bucket, key_.c_str(), buffer_.data(), length);
  else if (revision_ == 0)
    s = kvStore_Create(&revision, link_.bucket, key_.c_str(), buffer_.data(), length);
  else
    s = kvStore_Update(&revision, link_.bucket, key_.c_str(), buffer_.data(), length, revision_);
  if (s == NATS_OK) {
    revision_ = revision;
    synced_version_ = version;
    ++published_;
    lag_ms_ = ms_since(started);
    if (reporter_.json())
      reporter_.event("{\"event\": \"published\", " + fields() + ", \"revision\": " +
                      number(revision) + ", \"version\": " + number(version) + ", \"size\": " +
                      number(size) + ", \"lag_ms\": " + milliseconds(lag_ms_) + "}");
    return Publish::kDone;
  }
  const std::string failure = nats_failure(s);
  if (settings_.cas) {
    // Refused because the key moved past revision_ (a conflict), or a
    // failure: the bucket tells which. On a conflict the newer value wins
    // here too, replacing the local write instead of overwriting it.
    kvEntry* latest = nullptr;
    if (kvStore_Get(&latest, link_.bucket, key_.c_str()) == NATS_OK) {
      const std::uint64_t newer = kvEntry_Revision(latest);
      if (newer > revision_) {
        write_local(kvEntry_Value(latest), static_cast<std::uint64_t>(kvEntry_ValueLen(latest)),
                    newer, false, "conflict", ms_since_created(latest));
        kvEntry_Destroy(latest);
        seen = synced_version_;
        return Publish::kDone;
      }
      kvEntry_Destroy(latest);
    }
  }
  if (reporter_.json())
    reporter_.event("{\"event\": \"retry\", " + fields() + ", \"version\": " + number(version) +
                    ", \"message\": " + json_string(failure) + "}");
  return Publish::kRetry;
}

void Mirror::applier_loop() {
  while (!link_.stopping.load()) {
    kvEntry* entry = nullptr;
    const natsStatus s = kvWatcher_Next(&entry, watcher_, 60000);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      if (link_.stopping.load()) return;
      // The watcher ended under us (its connection closed for good).
      reporter_.error(name_, "watching key '" + key_ + "' failed: " + nats_failure(s));
      link_.fail();
      return;
    }
    if (entry == nullptr) continue;  // the end of the initial values
    apply(entry);
    kvEntry_Destroy(entry);
  }
}

void Mirror::apply(kvEntry* entry) {
  // Deletes and purges of the key are not mirrored: a segment always has a
  // value.
  if (kvEntry_Operation(entry) != kvOp_Put) return;
  // A newer revision of the key is already on its way: only the latest is
  // applied, unless --history asks for every one.
  if (!settings_.history && kvEntry_Delta(entry) > 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t revision = kvEntry_Revision(entry);
  // Not newer than what the segment mirrors: the bridge's own put coming
  // back, or a revision a start-up or a conflict already took.
  if (revision <= revision_) return;
  write_local(kvEntry_Value(entry), static_cast<std::uint64_t>(kvEntry_ValueLen(entry)), revision,
              !settings_.cas, "applied", ms_since_created(entry));
}

bool Mirror::write_local(const void* data, std::uint64_t size, std::uint64_t revision,
                         bool only_if_synced, const char* event, double lag_ms) {
  const std::uint64_t capacity = buffer_.size();
  if (size > capacity) {
    ++refused_;
    revision_ = revision;
    reporter_.error(name_, "revision " + number(revision) + " of key '" + key_ + "' holds " +
                               number(size) + " bytes, more than the segment's capacity of " +
                               number(capacity) + ": not applied");
    if (reporter_.json())
      reporter_.event("{\"event\": \"refused\", " + fields() + ", \"revision\": " +
                      number(revision) + ", \"size\": " + number(size) + ", \"limit\": " +
                      number(capacity) + "}");
    return false;
  }
  // A local write since synced_version_ is not in the bucket yet. Without
  // --cas it is kept: the publisher puts it next, with a newer revision, so
  // it wins (last writer by revision). With --cas the bucket's revision came
  // first and wins: the local write is replaced.
  std::uint64_t new_version = 0;
  sharedmem_error e = sharedmem_write_if(segment_, data, size, synced_version_, &new_version);
  const bool local_write_pending = e == SHAREDMEM_E_CONFLICT;
  if (local_write_pending) {
    ++conflicts_;
    if (reporter_.json())
      reporter_.event("{\"event\": \"conflict\", " + fields() + ", \"revision\": " +
                      number(revision) + ", \"version\": " + number(new_version) +
                      ", \"winner\": " + (only_if_synced ? "\"local\"" : "\"bucket\"") + "}");
    if (only_if_synced) {
      revision_ = revision;
      return false;
    }
    while (e == SHAREDMEM_E_CONFLICT)
      e = sharedmem_write_if(segment_, data, size, new_version, &new_version);
  }
  if (e != SHAREDMEM_OK) {
    reporter_.error(name_, "writing revision " + number(revision) + " failed: " +
                               sharedmem_strerror(e));
    if (e != SHAREDMEM_E_TIMEOUT) link_.fail();
    return false;
  }
  revision_ = revision;
  synced_version_ = new_version;
  ++applied_;
  lag_ms_ = lag_ms;
  if (reporter_.json())
    reporter_.event(std::string("{\"event\": \"") + event + "\", " + fields() +
                    ", \"revision\": " + number(revision) + ", \"version\": " +
                    number(new_version) + ", \"size\": " + number(size) +
                    ", \"lag_ms\": " + milliseconds(lag_ms) + "}");
  return true;
}

}  // namespace sharedmem_bridge
