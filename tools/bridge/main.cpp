// SPDX-License-Identifier: MIT
// sharedmem-bridge: mirrors named value segments across machines through a
// NATS JetStream key-value bucket (docs/bridge.md). Built on the public C
// API of sharedmem (sharedmem.h) and the NATS C client; arguments parsed by
// CLI11.
//
// Exit statuses, as the sharedmem command's: 0 stopped on request (SIGINT,
// SIGTERM), 1 error (no server reachable, refused credentials, a segment
// that failed), 2 usage, 3 not found (no live segment of a name given
// without --capacity).
#include <CLI/CLI.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mirror.hpp"
#include "process_control.hpp"
#include "sharedmem/sharedmem.h"
#include "text.hpp"

namespace sharedmem_bridge {
namespace {

using sharedmem_cli::json_string;

enum Exit : int { kOk = 0, kError = 1, kUsage = 2, kNotFound = 3 };

constexpr const char* kExitStatuses =
    "Exit status: 0 stopped by SIGINT or SIGTERM, 1 error, 2 usage, 3 not found (no live "
    "segment of a name given without --capacity).";

struct Settings {
  std::vector<std::string> servers;
  std::string bucket;
  std::string prefix;
  std::vector<std::string> names;
  std::vector<std::string> key_maps;  // NAME=KEY
  std::optional<std::string> capacity;
  bool cas = false;
  bool history = false;
  std::string prefer = "bucket";
  int replicas = 1;
  bool json = false;
  bool global = false;
  double status_interval = 0;
  std::optional<std::string> creds_file, nkey_seed_file, nkey_user, token_file;
  std::optional<std::string> tls_ca_file, tls_cert_file, tls_key_file;
  bool tls = false;
};

// --- reporting ---------------------------------------------------------------

}  // namespace

void Reporter::event(const std::string& json_object) {
  if (!json_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string line = json_object + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void Reporter::error(const std::string& name, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::fprintf(stderr, "sharedmem-bridge%s: %s\n",
                 name.empty() ? "" : (" '" + name + "'").c_str(), message.c_str());
  }
  event("{\"event\": \"error\", \"name\": " + (name.empty() ? "null" : json_string(name)) +
        ", \"message\": " + json_string(message) + "}");
}

void Reporter::warning(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::fprintf(stderr, "sharedmem-bridge: warning: %s\n", message.c_str());
  }
  event("{\"event\": \"warning\", \"message\": " + json_string(message) + "}");
}

namespace {

// --- arguments ---------------------------------------------------------------

// "4096", "64K", "1M", "2G": bytes, with binary multiples.
std::optional<std::uint64_t> parse_capacity(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  const std::uint64_t count = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  const std::map<std::string, int> shifts = {{"", 0}, {"K", 10}, {"M", 20}, {"G", 30}};
  const auto shift = shifts.find(unit);
  if (shift == shifts.end() || count > (UINT64_MAX >> shift->second)) return std::nullopt;
  return count << shift->second;
}

// NATS key-value keys: [-/_=.A-Za-z0-9]+, not starting or ending with '.'.
bool valid_key(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '/' || c == '_' || c == '=' || c == '.';
  });
}

// The host of a server URL ("nats://host:port", "host:port", "tls://[::1]:4222").
std::string url_host(const std::string& url) {
  std::string rest = url;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos)
    rest = rest.substr(scheme + 3);
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find_first_of(":/"));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A secret from a file: its first line, without the line end. The file, not
// the command line or the environment, holds it: other users can read a
// process's arguments.
std::optional<std::string> read_secret(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::string line;
  std::getline(file, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// --- the connection ------------------------------------------------------------

// Why and whether the bridge stops: a signal, or a mirror that failed.
struct StopState {
  std::mutex mutex;
  std::condition_variable requested;
  bool stop = false;
  bool failed = false;
  void request(bool failure) {
    std::lock_guard<std::mutex> lock(mutex);
    stop = true;
    failed = failed || failure;
    requested.notify_all();
  }
};

struct Bridge {
  Settings settings;
  Reporter reporter;
  Link link;
  std::vector<std::unique_ptr<Mirror>> mirrors;
  jsCtx* jetstream = nullptr;
  natsOptions* options = nullptr;

  // Shared with the thread that waits for signals, which may outlive this.
  std::shared_ptr<StopState> stopping = std::make_shared<StopState>();

  explicit Bridge(Settings s) : settings(std::move(s)), reporter(settings.json) {}
  ~Bridge() {
    mirrors.clear();
    if (link.bucket != nullptr) kvStore_Destroy(link.bucket);
    if (jetstream != nullptr) jsCtx_Destroy(jetstream);
    if (link.connection != nullptr) natsConnection_Destroy(link.connection);
    if (options != nullptr) natsOptions_Destroy(options);
    // The library calls on_disconnected and friends from its own threads,
    // even after natsConnection_Destroy returns: they must be done before
    // the members they use go.
    nats_CloseAndWait(5000);
  }

  void request_stop(bool failure) { stopping->request(failure); }

  std::string connected_url() {
    char url[512] = "";
    if (natsConnection_GetConnectedUrl(link.connection, url, sizeof url) != NATS_OK) url[0] = '\0';
    return url;
  }

  void set_connected(bool connected) {
    std::lock_guard<std::mutex> lock(link.mutex);
    link.connected = connected;
    link.changed.notify_all();
  }

  std::string status_json(const char* event) {
    std::string out = std::string("{\"event\": \"") + event + "\", \"server\": ";
    const std::string url = connected_url();
    out += (url.empty() ? "null" : json_string(url));
    out += ", \"bucket\": " + json_string(settings.bucket) + ", \"connected\": ";
    {
      std::lock_guard<std::mutex> lock(link.mutex);
      out += link.connected ? "true" : "false";
    }
    out += ", \"names\": [";
    for (std::size_t i = 0; i < mirrors.size(); ++i) {
      const MirrorStatus s = mirrors[i]->status();
      char lag[32];
      std::snprintf(lag, sizeof lag, "%.3f", s.lag_ms);
      out += (i ? ", " : "") + std::string("{\"name\": ") + json_string(s.name) +
             ", \"key\": " + json_string(s.key) + ", \"revision\": " +
             std::to_string(s.revision) + ", \"version\": " + std::to_string(s.version) +
             ", \"published\": " + std::to_string(s.published) + ", \"applied\": " +
             std::to_string(s.applied) + ", \"conflicts\": " + std::to_string(s.conflicts) +
             ", \"refused\": " + std::to_string(s.refused) + ", \"lag_ms\": " + lag + "}";
    }
    return out + "]}";
  }
};

void on_disconnected(natsConnection*, void* closure) {
  auto* bridge = static_cast<Bridge*>(closure);
  bridge->set_connected(false);
  bridge->reporter.event("{\"event\": \"disconnected\"}");
}

void on_reconnected(natsConnection*, void* closure) {
  auto* bridge = static_cast<Bridge*>(closure);
  bridge->set_connected(true);
  bridge->reporter.event("{\"event\": \"reconnected\", \"server\": " +
                         json_string(bridge->connected_url()) + "}");
}

// Sets up TLS and credentials; false (reported) if a file is missing or
// refused.
bool configure_security(Bridge& b) {
  const Settings& s = b.settings;
  natsOptions* o = b.options;
  const auto check = [&](natsStatus status, const std::string& what) {
    if (status == NATS_OK) return true;
    b.reporter.error("", what + ": " + nats_failure(status));
    return false;
  };
  const bool tls = s.tls || s.tls_ca_file || s.tls_cert_file;
  if (tls && !check(natsOptions_SetSecure(o, true), "cannot enable TLS")) return false;
  if (s.tls_ca_file && !check(natsOptions_LoadCATrustedCertificates(o, s.tls_ca_file->c_str()),
                              "cannot load the CA file '" + *s.tls_ca_file + "'"))
    return false;
  if (s.tls_cert_file &&
      !check(natsOptions_LoadCertificatesChain(o, s.tls_cert_file->c_str(),
                                               s.tls_key_file->c_str()),
             "cannot load the client certificate '" + *s.tls_cert_file + "'"))
    return false;
  if (s.creds_file &&
      !check(natsOptions_SetUserCredentialsFromFiles(o, s.creds_file->c_str(), nullptr),
             "cannot use the credentials file '" + *s.creds_file + "'"))
    return false;
  if (s.nkey_seed_file &&
      !check(natsOptions_SetNKeyFromSeed(o, s.nkey_user->c_str(), s.nkey_seed_file->c_str()),
             "cannot use the nkey seed file '" + *s.nkey_seed_file + "'"))
    return false;
  if (s.token_file) {
    const std::optional<std::string> token = read_secret(*s.token_file);
    if (!token || token->empty()) {
      b.reporter.error("", "cannot read a token from '" + *s.token_file + "'");
      return false;
    }
    if (!check(natsOptions_SetToken(o, token->c_str()), "cannot use the token")) return false;
  }
  for (const std::string& url : s.servers) {
    const bool tls_url = url.rfind("tls://", 0) == 0;
    if (!tls && !tls_url && !is_loopback(url_host(url)))
      b.reporter.warning("connecting to " + url +
                         " without TLS: values and credentials cross the network in clear "
                         "text (use a tls:// URL, --tls or --tls-ca)");
  }
  return true;
}

int connect(Bridge& b) {
  const Settings& s = b.settings;
  if (natsOptions_Create(&b.options) != NATS_OK) {
    b.reporter.error("", "out of memory");
    return kError;
  }
  std::vector<const char*> urls;
  for (const std::string& url : s.servers) urls.push_back(url.c_str());
  natsOptions_SetServers(b.options, urls.data(), static_cast<int>(urls.size()));
  // In the order given: the first server is this machine's own.
  natsOptions_SetNoRandomize(b.options, true);
  natsOptions_SetName(b.options, "sharedmem-bridge");
  natsOptions_SetTimeout(b.options, 2000);
  natsOptions_SetMaxReconnect(b.options, -1);  // forever: a bridge outlives outages
  natsOptions_SetReconnectWait(b.options, 250);
  natsOptions_SetPingInterval(b.options, 2000);  // a silent network is noticed in ~6 s
  natsOptions_SetMaxPingsOut(b.options, 2);
  natsOptions_SetDisconnectedCB(b.options, on_disconnected, &b);
  natsOptions_SetReconnectedCB(b.options, on_reconnected, &b);
  if (!configure_security(b)) return kError;

  std::string joined;
  for (const std::string& url : s.servers) joined += (joined.empty() ? "" : ",") + url;
  if (const natsStatus st = natsConnection_Connect(&b.link.connection, b.options); st != NATS_OK) {
    b.reporter.error("", "cannot connect to " + joined + ": " + nats_failure(st));
    return kError;
  }
  jsOptions js;
  jsOptions_Init(&js);
  js.Wait = 2000;
  if (const natsStatus st = natsConnection_JetStream(&b.jetstream, b.link.connection, &js);
      st != NATS_OK) {
    b.reporter.error("", "JetStream is not available: " + nats_failure(st));
    return kError;
  }
  // A cluster that is starting or electing a leader answers JetStream
  // requests late or not at all: tried again for a while.
  const auto give_up = std::chrono::steady_clock::now() + kStartupPatience;
  natsStatus st = NATS_OK;
  for (;;) {
    st = js_KeyValue(&b.link.bucket, b.jetstream, s.bucket.c_str());
    if (st == NATS_NOT_FOUND) {
      // Created by the first bridge that needs it; another bridge creating
      // it with the same configuration at the same time is harmless.
      kvConfig config;
      kvConfig_Init(&config);
      config.Bucket = s.bucket.c_str();
      config.History = static_cast<std::uint8_t>(s.history ? 64 : 1);
      config.Replicas = s.replicas;
      st = js_CreateKeyValue(&b.link.bucket, b.jetstream, &config);
    }
    if ((st != NATS_TIMEOUT && st != NATS_NO_RESPONDERS) ||
        std::chrono::steady_clock::now() > give_up)
      break;
  }
  if (st != NATS_OK) {
    b.reporter.error("", "cannot open or create the bucket '" + s.bucket + "': " +
                             nats_failure(st));
    return kError;
  }
  return kOk;
}

// Opens each named value segment (it holds it, as `sharedmem hold` does).
int open_segments(Bridge& b, const std::vector<std::pair<std::string, std::string>>& keys,
                  std::uint64_t capacity) {
  const Settings& s = b.settings;
  for (const auto& [name, key] : keys) {
    std::uint32_t flags = s.global ? SHAREDMEM_SCOPE_GLOBAL : 0u;
    if (!s.capacity) flags |= SHAREDMEM_OPEN_ONLY;
    sharedmem_segment* segment = nullptr;
    const sharedmem_error e = sharedmem_open(name.c_str(), capacity, flags, &segment);
    if (e != SHAREDMEM_OK) {
      sharedmem_info info{};
      info.struct_size = sizeof info;
      if (e == SHAREDMEM_E_INCOMPATIBLE &&
          sharedmem_inspect(name.c_str(), flags & SHAREDMEM_SCOPE_GLOBAL, &info) == SHAREDMEM_OK &&
          info.kind == SHAREDMEM_KIND_RAW) {
        b.reporter.error(name, "a raw segment: the bridge mirrors value segments only");
        return kError;
      }
      std::string message = sharedmem_strerror(e);
      if (e == SHAREDMEM_E_NOT_FOUND)
        message += " (give --capacity to create it, or keep it alive first with `sharedmem "
                   "hold`)";
      b.reporter.error(name, message);
      return e == SHAREDMEM_E_NOT_FOUND ? kNotFound : kError;
    }
    b.mirrors.push_back(std::make_unique<Mirror>(
        name, key, segment,
        MirrorSettings{s.cas, s.history, s.prefer == "local" ? Prefer::kLocal : Prefer::kBucket},
        b.link, b.reporter));
  }
  return kOk;
}

int run_bridge(Settings settings) {
  // The bucket key of each name: its --key mapping or the name itself,
  // under the prefix.
  std::vector<std::pair<std::string, std::string>> keys;
  std::map<std::string, std::string> mapped;
  for (const std::string& map : settings.key_maps) {
    const auto equals = map.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == map.size()) {
      std::fprintf(stderr, "sharedmem-bridge: --key '%s': expected NAME=KEY\n", map.c_str());
      return kUsage;
    }
    mapped[map.substr(0, equals)] = map.substr(equals + 1);
  }
  std::vector<std::string> names = settings.names;
  for (const auto& [name, key] : mapped)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  if (names.empty()) {
    std::fprintf(stderr, "sharedmem-bridge: no segment name given\n");
    return kUsage;
  }
  for (const std::string& name : names) {
    const auto found = mapped.find(name);
    std::string key = found == mapped.end() ? name : found->second;
    if (!settings.prefix.empty()) key = settings.prefix + "." + key;
    if (!valid_key(key)) {
      std::fprintf(stderr,
                   "sharedmem-bridge: '%s' is not a valid bucket key (A-Z a-z 0-9 - / _ = and "
                   "'.', not first or last): use --key NAME=KEY\n",
                   key.c_str());
      return kUsage;
    }
    for (const auto& other : keys)
      if (other.second == key) {
        std::fprintf(stderr, "sharedmem-bridge: '%s' and '%s' map to one key '%s'\n",
                     other.first.c_str(), name.c_str(), key.c_str());
        return kUsage;
      }
    keys.emplace_back(name, key);
  }
  std::uint64_t capacity = 0;
  if (settings.capacity) {
    const std::optional<std::uint64_t> parsed = parse_capacity(*settings.capacity);
    if (!parsed || *parsed == 0) {
      std::fprintf(stderr,
                   "sharedmem-bridge: invalid capacity '%s': give a whole number of bytes, "
                   "optionally with K, M or G (1K = 1024)\n",
                   settings.capacity->c_str());
      return kUsage;
    }
    capacity = *parsed;
  }

  // Before any thread starts (libnats starts its own on connect).
  sharedmem_cli::prepare_stop_requests();
  Bridge b(std::move(settings));
  b.link.fail = [&b] { b.request_stop(true); };
  if (const int status = open_segments(b, keys, capacity)) return status;
  if (const int status = connect(b)) return status;
  for (const auto& mirror : b.mirrors)
    if (!mirror->reconcile()) return kError;
  for (const auto& mirror : b.mirrors)
    if (!mirror->start()) {
      b.link.stopping = true;
      for (const auto& m : b.mirrors) m->stop();
      return kError;
    }
  if (b.settings.json)
    b.reporter.event(b.status_json("ready"));
  else {
    std::printf("ready\n");
    std::fflush(stdout);
  }

  std::thread([state = b.stopping] {
    (void)sharedmem_cli::wait_for_stop(false);
    state->request(false);
  }).detach();  // left blocked in its wait if the bridge stops on a failure
  StopState& state = *b.stopping;
  {
    std::unique_lock<std::mutex> lock(state.mutex);
    const auto interval = std::chrono::duration<double>(b.settings.status_interval);
    while (!state.stop) {
      if (b.settings.status_interval > 0 && b.settings.json) {
        if (!state.requested.wait_for(lock, interval, [&] { return state.stop; })) {
          lock.unlock();
          b.reporter.event(b.status_json("status"));
          lock.lock();
        }
      } else {
        state.requested.wait(lock, [&] { return state.stop; });
      }
    }
  }
  b.link.stopping = true;
  {
    std::lock_guard<std::mutex> lock(b.link.mutex);
    b.link.changed.notify_all();
  }
  for (const auto& mirror : b.mirrors) mirror->stop();
  b.reporter.event(b.status_json("stopped"));
  return state.failed ? kError : kOk;
}

int run(int argc, char** argv) {
  Settings s;
  CLI::App app{
      "sharedmem-bridge: mirror named value segments across machines through a NATS "
      "JetStream key-value bucket. Every local write is put in the bucket, every newer "
      "revision in the bucket is written to the segment; the bridge holds each segment "
      "open while it runs.",
      "sharedmem-bridge"};
  app.footer(kExitStatuses);
  app.set_version_flag("--version", std::string("sharedmem-bridge ") + SHAREDMEM_TOOL_VERSION +
                                        " (libnats " + nats_GetVersion() + ")");
  app.add_option("NAME", s.names, "segment names to mirror (value segments; raw ones are refused)");
  app.add_option("--server", s.servers,
                 "NATS server URLs, this machine's first: nats://HOST:PORT or tls://HOST:PORT; "
                 "repeat or separate with commas")
      ->required()
      ->delimiter(',');
  app.add_option("--bucket", s.bucket, "the key-value bucket (created if missing)")->required();
  app.add_option("--prefix", s.prefix, "put keys under PREFIX. in the bucket");
  app.add_option("--key", s.key_maps,
                 "NAME=KEY: mirror segment NAME as bucket key KEY (adds NAME if not given)");
  app.add_option("--capacity", s.capacity,
                 "create missing segments with this capacity (K, M, G: binary multiples); "
                 "without it, every segment must be live already");
  app.add_flag("--cas", s.cas,
               "publish with compare-and-write on the last revision seen: a local write that "
               "lost a race is replaced by the newer bucket value instead of overwriting it");
  app.add_option("--prefer", s.prefer,
                 "at start-up, when segment and bucket both hold different values: which wins")
      ->check(CLI::IsMember({"bucket", "local"}))
      ->default_str("bucket");
  app.add_flag("--history", s.history,
               "apply every revision the bucket still holds, in order, not only the latest "
               "(a bucket this bridge creates keeps 64)");
  app.add_option("--replicas", s.replicas, "replicas of a bucket this bridge creates (1 to 5)")
      ->check(CLI::Range(1, 5));
  app.add_flag("--json", s.json, "one JSON status line per event on stdout");
  app.add_option("--status-interval", s.status_interval,
                 "with --json, a status line of every name this often (seconds)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--global", s.global,
               "Windows: segments in the machine-wide Global\\ namespace");
  app.add_option("--creds", s.creds_file, "a NATS credentials file (user JWT and nkey seed)")
      ->check(CLI::ExistingFile);
  auto* seed = app.add_option("--nkey-seed", s.nkey_seed_file, "a file holding a user nkey seed")
                   ->check(CLI::ExistingFile);
  auto* user = app.add_option("--nkey-user", s.nkey_user,
                              "the public user nkey (U...) of --nkey-seed (not a secret)");
  seed->needs(user);
  user->needs(seed);
  app.add_option("--token-file", s.token_file, "a file whose first line is the token")
      ->check(CLI::ExistingFile);
  app.add_flag("--tls", s.tls, "require TLS (implied by tls:// URLs and the files below)");
  app.add_option("--tls-ca", s.tls_ca_file, "CA certificates to verify the servers (PEM)")
      ->check(CLI::ExistingFile);
  auto* cert = app.add_option("--tls-cert", s.tls_cert_file, "client certificate (PEM)")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", s.tls_key_file, "the client certificate's key (PEM)")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? kOk : kUsage;
  }
  return run_bridge(std::move(s));
}

}  // namespace
}  // namespace sharedmem_bridge

int main(int argc, char** argv) {
  try {
    return sharedmem_bridge::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedmem-bridge: %s\n", e.what());
    return sharedmem_bridge::kError;
  }
}
