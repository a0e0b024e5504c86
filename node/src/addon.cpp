// SPDX-License-Identifier: MIT
// sharedmem.node: the Node-API binding of sharedmem's public C API
// (sharedmem/sharedmem.h), linked to libsharedmem.so.1 / sharedmem.dll,
// which the package bundles next to this file. index.js is the public face:
// it validates arguments, builds the promises and the iterators; this file
// only owns the handles and the threads.
//
// One NativeSegment wraps one sharedmem_segment handle. Every call is made on
// the JavaScript thread that opened it, except the waits, each of which runs
// on a thread of its own while it lasts (not libuv's pool: a wait may last
// forever, and four of them would starve fs and dns; threads are kept for a
// while between waits, so that a loop of waits does not start one each time)
// sleeping in sharedmem_wait in slices of
// WAIT_SLICE_MS, so that a cancelled wait (an AbortSignal, close(), the end
// of the process or worker) lets go within one slice. A write wakes it at
// once whatever the slice. The result comes back through one threadsafe
// function per environment (main thread or worker), which keeps the event
// loop alive only while some wait is pending and not cancelled.
//
// The handle is closed on the JavaScript thread, and never under a waiter:
// close() cancels its waiters and waits for them first. A raw segment's buffer is an
// external ArrayBuffer over the mapping; close() detaches it (every view then
// has length 0), so that no access can reach the unmapped memory. An
// ArrayBuffer still reachable after its segment object was collected keeps
// the handle open until it is collected too.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sharedmem/sharedmem.h"

namespace {

constexpr uint32_t WAIT_SLICE_MS = 50;
// read() copies values of segments up to this capacity through a buffer of
// the handle's own; larger ones are read in place into the new Buffer.
constexpr uint64_t SCRATCH_LIMIT = 65536;
// How long a wait's thread waits for another wait before it ends.
constexpr std::chrono::seconds WAIT_THREAD_LINGER{2};

// ------------------------------------------------------------------ errors

// The per-environment state: the SharedmemError class from index.js, the
// threadsafe function that carries wait results back, the live handles and
// the pending waits (for the cleanup at the end of the environment).
struct Waiter;
struct State;

// The threads the waits run on: as many as there are waits at once, each
// kept WAIT_THREAD_LINGER after its wait for the next one.
class WaitThreads {
 public:
  // Runs waiter->run() on a thread. False if no thread could be started.
  bool start(Waiter* waiter);
  // Returns once waiter->run() has returned, or takes it off the queue if it
  // has not started. JavaScript thread (or the cleanup hook).
  void finish(Waiter* waiter);
  // Ends every thread (their waits must be cancelled). The cleanup hook.
  void stop();

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::deque<Waiter*> queue_;
  size_t idle_ = 0;
  size_t live_ = 0;
  bool stopping_ = false;
};

struct AddonData {
  Napi::FunctionReference error_class;
  Napi::FunctionReference segment_class;
  napi_threadsafe_function wake = nullptr;
  uint32_t referenced_waits = 0;  // pending and not cancelled: keep the loop alive
  uint64_t next_waiter_id = 1;
  std::map<uint64_t, Waiter*> waiters;
  std::set<State*> states;
  WaitThreads threads;
};

AddonData& data_of(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Object make_error(Napi::Env env, sharedmem_error error, const std::string& context) {
  int system_error = sharedmem_last_system_error();
  std::string message = sharedmem_strerror(error);
  if (!context.empty()) message = context + ": " + message;
  AddonData& data = data_of(env);
  Napi::Value name = Napi::String::New(env, sharedmem_error_name(error));
  Napi::Object created = data.error_class.New(
      {Napi::String::New(env, message), name, Napi::Number::New(env, static_cast<double>(error)),
       Napi::Number::New(env, system_error)});
  return created;
}

[[noreturn]] void throw_error(Napi::Env env, sharedmem_error error, const std::string& context) {
  throw Napi::Error(env, make_error(env, error, context));
}

void check(Napi::Env env, sharedmem_error error, const char* context) {
  if (error != SHAREDMEM_OK) throw_error(env, error, context);
}

// Arguments arrive validated by index.js; these checks keep a direct call of
// the binding from reaching the C API with garbage.

// A sharedmem_access over copies of the principals.
struct AccessList {
  std::vector<std::string> principals[3];
  std::vector<const char*> lists[3];
  sharedmem_access c = SHAREDMEM_ACCESS_INIT;
};

// [readWrite, readOnly, creators, lowIntegrity] at `index` as an AccessList.
AccessList access_arg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (!info[index].IsArray()) throw Napi::TypeError::New(env, "access must be an array");
  Napi::Array given = info[index].As<Napi::Array>();
  AccessList access;
  for (uint32_t list = 0; list < 3; ++list) {
    Napi::Value value = given.Get(list);
    if (!value.IsArray()) throw Napi::TypeError::New(env, "access lists must be arrays");
    Napi::Array principals = value.As<Napi::Array>();
    for (uint32_t i = 0; i < principals.Length(); ++i) {
      Napi::Value principal = principals.Get(i);
      if (!principal.IsString()) throw Napi::TypeError::New(env, "a principal must be a string");
      std::string text = principal.As<Napi::String>().Utf8Value();
      if (text.find('\0') != std::string::npos)
        throw_error(env, SHAREDMEM_E_INVALID_ARGUMENT, "open: a principal with a NUL character");
      access.principals[list].push_back(std::move(text));
    }
  }
  for (uint32_t list = 0; list < 3; ++list) {
    for (const std::string& principal : access.principals[list])
      access.lists[list].push_back(principal.c_str());
    access.lists[list].push_back(nullptr);
  }
  access.c.read_write = access.lists[0].data();
  access.c.read_only = access.lists[1].data();
  access.c.creators = access.lists[2].data();
  if (given.Get(3u).ToBoolean().Value()) access.c.flags |= SHAREDMEM_ACCESS_LOW_INTEGRITY;
  return access;
}
uint64_t u64_arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0) || number > 9007199254740991.0 || number != static_cast<double>(static_cast<uint64_t>(number)))
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a non-negative integer");
  return static_cast<uint64_t>(number);
}

uint32_t timeout_arg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Value value = info[index];
  if (value.IsUndefined()) return SHAREDMEM_WAIT_FOREVER;
  uint64_t ms = u64_arg(info, index, "timeout");
  return ms >= SHAREDMEM_WAIT_FOREVER ? SHAREDMEM_WAIT_FOREVER - 1 : static_cast<uint32_t>(ms);
}

size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: return 8;
    default: return 1;
  }
}

// The bytes of a Buffer, TypedArray, DataView or ArrayBuffer argument (a
// view may lie over a SharedArrayBuffer).
std::pair<const void*, size_t> bytes_arg(const Napi::CallbackInfo& info, size_t index) {
  napi_env env = info.Env();
  napi_value value = info[index];
  bool is = false;
  void* data = nullptr;
  size_t length = 0;
  if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
    napi_typedarray_type type;
    if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok)
      return {data, length * element_size(type)};
  } else if (napi_is_dataview(env, value, &is) == napi_ok && is) {
    if (napi_get_dataview_info(env, value, &length, &data, nullptr, nullptr) == napi_ok) return {data, length};
  } else if (napi_is_arraybuffer(env, value, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, value, &data, &length) == napi_ok) return {data, length};
  }
  throw Napi::TypeError::New(info.Env(), "data must be a Buffer, TypedArray, DataView or ArrayBuffer");
}

// ------------------------------------------------------------------ handles

// One open handle. Owned by its NativeSegment and, for a raw segment whose
// buffer was handed out, by that ArrayBuffer's finalizer.
struct State {
  AddonData* data;
  sharedmem_segment* segment;
  bool raw;
  bool locked = false;            // this thread holds the raw lock through this handle
  Napi::Reference<Napi::ArrayBuffer> buffer;  // weak: the raw buffer handed out
  std::set<uint64_t> waiter_ids;  // this handle's pending waits

  State(AddonData* data_, sharedmem_segment* segment_, bool raw_)
      : data(data_), segment(segment_), raw(raw_) {
    data->states.insert(this);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    close();
    data->states.erase(this);
  }
  void close();
};

// A pending wait: its thread sleeps in sharedmem_wait on `segment`, which its
// State keeps open until its run() has returned (WaitThreads::finish).
struct Waiter {
  uint64_t id = 0;
  State* state = nullptr;
  const sharedmem_segment* segment = nullptr;
  uint64_t seen = 0;
  uint32_t timeout_ms = 0;
  std::atomic<bool> cancelled{false};
  bool referenced = true;  // counted in AddonData::referenced_waits
  bool started = false;    // WaitThreads' mutex guards these two
  bool finished = false;
  // Written by the thread before it posts, read on the JavaScript thread after.
  sharedmem_error error = SHAREDMEM_OK;
  uint64_t version = 0;
  int system_error = 0;
  Napi::FunctionReference callback;
  Napi::ObjectReference owner;  // the NativeSegment, alive while the wait is pending

  void run();
};

void unreference_wait(Napi::Env env, Waiter* waiter) {
  if (!waiter->referenced) return;
  waiter->referenced = false;
  AddonData& data = *waiter->state->data;
  if (--data.referenced_waits == 0 && data.wake != nullptr)
    napi_unref_threadsafe_function(env, data.wake);
}

// Cancels a wait: its callback is dropped and it no longer keeps the event
// loop alive. Its thread lets go within one slice and posts its id; the
// delivery (or close(), or the cleanup hook) waits for it and frees it. Does not
// block. JavaScript thread only.
void cancel(Napi::Env env, Waiter* waiter) {
  waiter->cancelled.store(true);
  unreference_wait(env, waiter);
  waiter->callback.Reset();
}

void State::close() {
  if (segment == nullptr) return;
  // Waiters hold the handle: let them go first. Without an environment (the
  // cleanup hook has run) there is nothing to unreference.
  while (!waiter_ids.empty()) {
    Waiter* waiter = data->waiters.at(*waiter_ids.begin());
    waiter->cancelled.store(true);
    data->threads.finish(waiter);
    if (waiter->referenced) {
      waiter->referenced = false;
      --data->referenced_waits;
    }
    data->waiters.erase(waiter->id);
    waiter_ids.erase(waiter->id);
    delete waiter;
  }
  if (!buffer.IsEmpty()) {
    Napi::ArrayBuffer array = buffer.Value();
    if (!array.IsEmpty() && !array.IsDetached()) array.Detach();
    buffer.Reset();
  }
  if (locked) {
    sharedmem_unlock(segment);
    locked = false;
  }
  sharedmem_close(segment);
  segment = nullptr;
}

void Waiter::run() {
  uint64_t remaining = timeout_ms;
  bool forever = timeout_ms == SHAREDMEM_WAIT_FOREVER;
  while (!cancelled.load()) {
    uint32_t slice = WAIT_SLICE_MS;
    if (!forever && remaining < slice) slice = static_cast<uint32_t>(remaining);
    uint64_t found = 0;
    sharedmem_error result = sharedmem_wait(segment, seen, slice, &found);
    if (result == SHAREDMEM_E_TIMEOUT && (forever || remaining > slice)) {
      if (!forever) remaining -= slice;
      continue;
    }
    error = result;
    version = found;
    system_error = result == SHAREDMEM_OK ? 0 : sharedmem_last_system_error();
    break;
  }
  // The id, not the pointer: the waiter may be gone (its handle closed, its
  // environment torn down) when the call arrives. A call refused because the
  // function is closing is fine: the cleanup hook waits for this run.
  napi_call_threadsafe_function(state->data->wake, reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                                napi_tsfn_nonblocking);
}

bool WaitThreads::start(Waiter* waiter) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(waiter);
  if (queue_.size() > idle_) {
    try {
      std::thread(&WaitThreads::loop, this).detach();
      ++live_;
    } catch (const std::exception&) {
      queue_.pop_back();
      return false;
    }
  }
  work_.notify_one();
  return true;
}

void WaitThreads::finish(Waiter* waiter) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!waiter->started) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == waiter) {
        queue_.erase(it);
        break;
      }
    }
    return;
  }
  done_.wait(lock, [waiter] { return waiter->finished; });
}

void WaitThreads::stop() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  work_.notify_all();
  done_.wait(lock, [this] { return live_ == 0; });
}

void WaitThreads::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (queue_.empty() && !stopping_) {
      ++idle_;
      bool woken = work_.wait_for(lock, WAIT_THREAD_LINGER, [this] { return !queue_.empty() || stopping_; });
      --idle_;
      if (!woken) break;
    }
    if (queue_.empty()) break;  // stopping
    Waiter* waiter = queue_.front();
    queue_.pop_front();
    waiter->started = true;
    lock.unlock();
    waiter->run();
    lock.lock();
    waiter->finished = true;  // the JavaScript thread may free it from here on
    done_.notify_all();
  }
  --live_;
  done_.notify_all();
}

// Runs on the JavaScript thread for each finished wait.
void deliver_wait(napi_env raw_env, napi_value, void* context, void* payload) {
  if (raw_env == nullptr) return;  // the function is being torn down
  auto* data = static_cast<AddonData*>(context);
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(payload));
  auto found = data->waiters.find(id);
  if (found == data->waiters.end()) return;  // its handle was closed meanwhile
  Waiter* waiter = found->second;
  Napi::Env env(raw_env);
  Napi::HandleScope scope(env);
  data->threads.finish(waiter);
  unreference_wait(env, waiter);
  data->waiters.erase(id);
  waiter->state->waiter_ids.erase(id);
  std::unique_ptr<Waiter> owned(waiter);
  if (waiter->cancelled.load() || waiter->callback.IsEmpty()) return;
  Napi::Function callback = waiter->callback.Value();
  double version = static_cast<double>(waiter->version);
  if (waiter->error == SHAREDMEM_OK) {
    callback.Call({env.Null(), Napi::Number::New(env, version)});
    return;
  }
  Napi::Object failure = data->error_class.New(
      {Napi::String::New(env, std::string("wait: ") + sharedmem_strerror(waiter->error)),
       Napi::String::New(env, sharedmem_error_name(waiter->error)),
       Napi::Number::New(env, static_cast<double>(waiter->error)),
       Napi::Number::New(env, waiter->system_error)});
  failure.Set("version", Napi::Number::New(env, version));
  callback.Call({failure, env.Undefined()});
}

class NativeSegment : public Napi::ObjectWrap<NativeSegment> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeSegment",
        {InstanceMethod<&NativeSegment::Close>("close"),
         InstanceMethod<&NativeSegment::Created>("created"),
         InstanceMethod<&NativeSegment::Capacity>("capacity"),
         InstanceMethod<&NativeSegment::Version>("version"),
         InstanceMethod<&NativeSegment::Read>("read"),
         InstanceMethod<&NativeSegment::ReadVersioned>("readVersioned"),
         InstanceMethod<&NativeSegment::SetScratch>("setScratch"),
         InstanceMethod<&NativeSegment::ReadInto>("readInto"),
         InstanceMethod<&NativeSegment::Write>("write"),
         InstanceMethod<&NativeSegment::WriteString>("writeString"),
         InstanceMethod<&NativeSegment::WriteIf>("writeIf"),
         InstanceMethod<&NativeSegment::Wait>("wait"),
         InstanceMethod<&NativeSegment::CancelWait>("cancelWait"),
         InstanceMethod<&NativeSegment::Buffer>("buffer"),
         InstanceMethod<&NativeSegment::Lock>("lock"),
         InstanceMethod<&NativeSegment::Unlock>("unlock"),
         InstanceMethod<&NativeSegment::Notify>("notify")});
  }

  // new NativeSegment(name, capacity, flags[, access]): access, for a shared
  // segment, is [readWrite, readOnly, creators, lowIntegrity] (arrays of
  // strings and a boolean, checked by index.js).
  explicit NativeSegment(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSegment>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "name must be a string");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.find('\0') != std::string::npos)
      throw_error(env, SHAREDMEM_E_INVALID_NAME, "open '" + name + "'");
    uint64_t capacity = u64_arg(info, 1, "capacity");
    auto flags = static_cast<uint32_t>(u64_arg(info, 2, "flags"));
    sharedmem_segment* segment = nullptr;
    sharedmem_error error;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      AccessList access = access_arg(info, 3);
      error = sharedmem_open_shared(name.c_str(), capacity, flags, &access.c, &segment);
    } else {
      error = sharedmem_open(name.c_str(), capacity, flags, &segment);
    }
    if (error != SHAREDMEM_OK) {
      // What the failed open found out beyond its code (the unknown
      // principal, why an object was refused).
      std::string context = "open '" + name + "'";
      if (const char* detail = sharedmem_last_error_detail(); detail[0] != '\0')
        context += " (" + std::string(detail) + ")";
      throw_error(env, error, context);
    }
    state_ = std::make_shared<State>(&data_of(env), segment, (flags & SHAREDMEM_RAW) != 0);
    created_ = sharedmem_created(segment) != 0;
  }

  // Collected without close(): the handle closes now, unless the raw buffer
  // is still reachable (its finalizer then holds the last reference).
  void Finalize(Napi::Env) override { state_.reset(); }

 private:
  std::shared_ptr<State> state_;
  bool created_ = false;
  std::vector<uint8_t> scratch_;  // read()'s landing place: one copy out, one into the Buffer
  // readInto()'s landing place: a Buffer of index.js, 8 bytes of version then
  // the capacity. Its backing store never moves; the reference keeps it.
  Napi::Reference<Napi::Buffer<uint8_t>> js_scratch_;
  uint8_t* js_scratch_data_ = nullptr;
  size_t js_scratch_size_ = 0;

  sharedmem_segment* open_segment(Napi::Env env) {
    if (!state_ || state_->segment == nullptr)
      throw_error(env, SHAREDMEM_E_INVALID_ARGUMENT, "the segment is closed");
    return state_->segment;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_) {
      // The waits' callbacks are dropped (index.js rejects their promises),
      // then close() waits for their threads, within one slice.
      for (uint64_t id : state_->waiter_ids) cancel(info.Env(), state_->data->waiters.at(id));
      state_->close();
      state_.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Created(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), created_);
  }

  Napi::Value Capacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(sharedmem_capacity(open_segment(info.Env()))));
  }

  Napi::Value Version(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(sharedmem_version(open_segment(info.Env()))));
  }

  // A consistent snapshot of the value as a new Buffer, and its version.
  // Small segments copy through scratch_ (one allocation per handle, sized
  // to the capacity); large ones ask the size first and read straight into
  // a Buffer of that size, again if a write changed the size meanwhile.
  Napi::Buffer<uint8_t> snapshot(Napi::Env env, uint64_t* version) {
    sharedmem_segment* segment = open_segment(env);
    uint64_t capacity = sharedmem_capacity(segment);
    uint64_t size = 0;
    if (capacity <= SCRATCH_LIMIT) {
      if (scratch_.size() != capacity) scratch_.resize(static_cast<size_t>(capacity));
      check(env, sharedmem_read_versioned(segment, scratch_.data(), capacity, &size, version), "read");
      return Napi::Buffer<uint8_t>::Copy(env, scratch_.data(), static_cast<size_t>(size));
    }
    check(env, sharedmem_read(segment, nullptr, 0, &size), "read");
    for (;;) {
      Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(size));
      uint64_t found = 0;
      check(env, sharedmem_read_versioned(segment, value.Data(), size, &found, version), "read");
      if (found == size) return value;
      size = found;
    }
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    uint64_t version = 0;
    return snapshot(info.Env(), &version);
  }

  // setScratch(buffer): where readInto() copies to.
  Napi::Value SetScratch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "scratch must be a Buffer");
    Napi::Buffer<uint8_t> buffer = info[0].As<Napi::Buffer<uint8_t>>();
    if (buffer.Length() < 8) throw Napi::RangeError::New(env, "scratch is too small");
    js_scratch_ = Napi::Persistent(buffer);
    js_scratch_data_ = buffer.Data();
    js_scratch_size_ = buffer.Length();
    return env.Undefined();
  }

  // readInto() -> the value's size: a consistent snapshot copied to the
  // scratch Buffer at offset 8, its version (a double) at offset 0. The
  // fast path of read(): index.js copies it out into a pooled Buffer, which
  // costs less than a Buffer made here.
  Napi::Value ReadInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    if (js_scratch_data_ == nullptr) throw_error(env, SHAREDMEM_E_INVALID_ARGUMENT, "read: no scratch buffer");
    uint64_t size = 0;
    uint64_t version = 0;
    check(env, sharedmem_read_versioned(segment, js_scratch_data_ + 8, js_scratch_size_ - 8, &size, &version),
          "read");
    if (size > js_scratch_size_ - 8) throw_error(env, SHAREDMEM_E_VALUE_TOO_LARGE, "read: scratch buffer too small");
    double stamp = static_cast<double>(version);
    std::memcpy(js_scratch_data_, &stamp, sizeof stamp);
    return Napi::Number::New(env, static_cast<double>(size));
  }

  // readVersioned() -> { value, version }
  Napi::Value ReadVersioned(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t version = 0;
    Napi::Buffer<uint8_t> value = snapshot(env, &version);
    Napi::Object result = Napi::Object::New(env);
    result.Set("value", value);
    result.Set("version", Napi::Number::New(env, static_cast<double>(version)));
    return result;
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    sharedmem_segment* segment = open_segment(info.Env());
    auto [bytes, size] = bytes_arg(info, 0);
    check(info.Env(), sharedmem_write(segment, bytes, size), "write");
    return info.Env().Undefined();
  }

  // A string, written as its UTF-8 bytes without a terminator.
  Napi::Value WriteString(const Napi::CallbackInfo& info) {
    sharedmem_segment* segment = open_segment(info.Env());
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "data must be a string");
    std::string text = info[0].As<Napi::String>().Utf8Value();
    check(info.Env(), sharedmem_write(segment, text.data(), text.size()), "write");
    return info.Env().Undefined();
  }

  // writeIf(bytes, expected) -> the new version; CONFLICT carries .version.
  Napi::Value WriteIf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    std::string text;
    const void* bytes = nullptr;
    size_t size = 0;
    if (info[0].IsString()) {
      text = info[0].As<Napi::String>().Utf8Value();
      bytes = text.data();
      size = text.size();
    } else {
      std::tie(bytes, size) = bytes_arg(info, 0);
    }
    uint64_t expected = u64_arg(info, 1, "expectedVersion");
    uint64_t version = 0;
    sharedmem_error error = sharedmem_write_if(segment, bytes, size, expected, &version);
    if (error != SHAREDMEM_OK) {
      Napi::Object failure = make_error(env, error, "writeIf");
      failure.Set("version", Napi::Number::New(env, static_cast<double>(version)));
      throw Napi::Error(env, failure);
    }
    return Napi::Number::New(env, static_cast<double>(version));
  }

  // wait(seen, timeoutMs | undefined, callback(err, version)) -> id for cancelWait.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    uint64_t seen = u64_arg(info, 0, "seenVersion");
    uint32_t timeout = timeout_arg(info, 1);
    if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    AddonData& data = *state_->data;
    auto* waiter = new Waiter();
    waiter->id = data.next_waiter_id++;
    waiter->state = state_.get();
    waiter->segment = segment;
    waiter->seen = seen;
    waiter->timeout_ms = timeout;
    waiter->callback = Napi::Persistent(info[2].As<Napi::Function>());
    waiter->owner = Napi::Persistent(info.This().As<Napi::Object>());
    data.waiters.emplace(waiter->id, waiter);
    state_->waiter_ids.insert(waiter->id);
    if (data.referenced_waits++ == 0) napi_ref_threadsafe_function(env, data.wake);
    if (!data.threads.start(waiter)) {
      unreference_wait(env, waiter);
      data.waiters.erase(waiter->id);
      state_->waiter_ids.erase(waiter->id);
      delete waiter;
      throw_error(env, SHAREDMEM_E_SYSTEM, "wait: no thread could be started");
    }
    return Napi::Number::New(env, static_cast<double>(waiter->id));
  }

  // cancelWait(id): the wait's callback will not be called, and it no longer
  // keeps the event loop alive. Returns at once.
  Napi::Value CancelWait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t id = u64_arg(info, 0, "id");
    if (state_ && state_->waiter_ids.count(id) != 0) cancel(env, state_->data->waiters.at(id));
    return env.Undefined();
  }

  // The raw buffer: one external ArrayBuffer per handle, detached by close().
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    if (!state_->buffer.IsEmpty()) {
      Napi::ArrayBuffer existing = state_->buffer.Value();
      if (!existing.IsEmpty()) return existing;
    }
    void* bytes = sharedmem_data(segment);
    if (bytes == nullptr) throw_error(env, SHAREDMEM_E_INVALID_ARGUMENT, "buffer: not a raw segment");
    auto* keeper = new std::shared_ptr<State>(state_);
    napi_value array = nullptr;
    napi_status status = napi_create_external_arraybuffer(
        env, bytes, static_cast<size_t>(sharedmem_capacity(segment)),
        [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<State>*>(hint); }, keeper,
        &array);
    if (status != napi_ok) {
      delete keeper;
      // Electron (V8's memory cage) refuses memory it did not allocate.
      throw_error(env, SHAREDMEM_E_UNSUPPORTED,
                  "buffer: this runtime refuses external ArrayBuffers (Electron's V8 memory cage); "
                  "use a value segment, or read and write the raw segment from a runtime that allows them");
    }
    Napi::ArrayBuffer result(env, array);
    state_->buffer = Napi::Weak(result);
    return result;
  }

  // lock(timeoutMs | undefined) -> true if the previous holder died holding it.
  Napi::Value Lock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    sharedmem_error error = sharedmem_lock(segment, timeout_arg(info, 0));
    if (error != SHAREDMEM_OK && error != SHAREDMEM_E_OWNER_DIED) throw_error(env, error, "lock");
    state_->locked = true;
    return Napi::Boolean::New(env, error == SHAREDMEM_E_OWNER_DIED);
  }

  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sharedmem_segment* segment = open_segment(env);
    check(env, sharedmem_unlock(segment), "unlock");
    state_->locked = false;
    return env.Undefined();
  }

  Napi::Value Notify(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t version = 0;
    check(env, sharedmem_notify(open_segment(env), &version), "notify");
    return Napi::Number::New(env, static_cast<double>(version));
  }
};

// ------------------------------------------------------------------ inspection

const char* object_class_name(uint32_t value) {
  switch (value) {
    case SHAREDMEM_OBJECT_SEGMENT: return "segment";
    case SHAREDMEM_OBJECT_UNFINISHED: return "unfinished";
    case SHAREDMEM_OBJECT_DEAD: return "dead";
    case SHAREDMEM_OBJECT_FOREIGN: return "foreign";
    case SHAREDMEM_OBJECT_INCOMPATIBLE: return "incompatible";
    case SHAREDMEM_OBJECT_NOT_OWNER: return "not-owner";
    default: return "unknown";
  }
}

const char* kind_name(uint32_t value) {
  switch (value) {
    case SHAREDMEM_KIND_VALUE: return "value";
    case SHAREDMEM_KIND_RAW: return "raw";
    default: return "unknown";
  }
}

Napi::Object info_object(Napi::Env env, const sharedmem_info& info) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("name", info.name);
  result.Set("objectClass", object_class_name(info.object_class));
  result.Set("kind", kind_name(info.kind));
  result.Set("layoutVersion", info.layout_version);
  result.Set("capacity", static_cast<double>(info.capacity));
  result.Set("valueSize", static_cast<double>(info.value_size));
  result.Set("version", static_cast<double>(info.version));
  result.Set("objectSize", static_cast<double>(info.object_size));
  if (info.holders == SHAREDMEM_HOLDERS_UNKNOWN) {
    result.Set("holders", env.Null());
  } else {
    result.Set("holders", info.holders);
  }
  result.Set("mode", info.mode);
  result.Set("osName", info.os_name);
  result.Set("owner", info.owner);
  result.Set("permissions", info.permissions);
  return result;
}

// inspect(name, flags) -> info, or null when nothing is under the name.
Napi::Value Inspect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.find('\0') != std::string::npos) throw_error(env, SHAREDMEM_E_INVALID_NAME, "inspect");
  auto flags = static_cast<uint32_t>(u64_arg(info, 1, "flags"));
  sharedmem_info result{};
  result.struct_size = sizeof result;
  sharedmem_error error = sharedmem_inspect(name.c_str(), flags, &result);
  if (error == SHAREDMEM_E_NOT_FOUND) return env.Null();
  check(env, error, ("inspect '" + name + "'").c_str());
  return info_object(env, result);
}

// list(flags) -> [info]
Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto flags = static_cast<uint32_t>(u64_arg(info, 0, "flags"));
  std::vector<sharedmem_info> found;
  sharedmem_error error = sharedmem_list(
      flags,
      [](const sharedmem_info* item, void* context) -> int {
        sharedmem_info copy{};
        std::memcpy(&copy, item, item->struct_size < sizeof copy ? item->struct_size : sizeof copy);
        static_cast<std::vector<sharedmem_info>*>(context)->push_back(copy);
        return 0;
      },
      &found);
  check(env, error, "list");
  Napi::Array result = Napi::Array::New(env, found.size());
  for (uint32_t i = 0; i < found.size(); ++i) result.Set(i, info_object(env, found[i]));
  return result;
}

// prune(flags) -> how many dead segments were removed.
Napi::Value Prune(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto flags = static_cast<uint32_t>(u64_arg(info, 0, "flags"));
#ifdef SHAREDMEM_NODE_HAVE_PRUNE
  uint32_t removed = 0;
  check(env, sharedmem_prune(flags, &removed), "prune");
  return Napi::Number::New(env, removed);
#else
  (void)flags;
  throw_error(env, SHAREDMEM_E_UNSUPPORTED, "prune: the bundled library has no sharedmem_prune");
#endif
}

Napi::Value ErrorName(const Napi::CallbackInfo& info) {
  auto code = static_cast<sharedmem_error>(u64_arg(info, 0, "code"));
  return Napi::String::New(info.Env(), sharedmem_error_name(code));
}

Napi::Value ErrorMessage(const Napi::CallbackInfo& info) {
  auto code = static_cast<sharedmem_error>(u64_arg(info, 0, "code"));
  return Napi::String::New(info.Env(), sharedmem_strerror(code));
}

// setErrorClass(SharedmemError): index.js's class, constructed as
// new SharedmemError(message, code, errno, systemError).
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "SharedmemError must be a class");
  data_of(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// pendingWaits() -> how many waits keep the event loop alive (for the tests).
Napi::Value PendingWaits(const Napi::CallbackInfo& info) {
  AddonData& data = data_of(info.Env());
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("threads", static_cast<double>(data.waiters.size()));
  result.Set("referenced", static_cast<double>(data.referenced_waits));
  result.Set("handles", static_cast<double>(data.states.size()));
  return result;
}

// The end of the environment (process exit, worker end): every wait is
// cancelled and waited for, every handle closed, and the wait threads ended
// before the memory goes.
void cleanup(void* argument) {
  auto* data = static_cast<AddonData*>(argument);
  for (State* state : std::vector<State*>(data->states.begin(), data->states.end())) {
    // Without the environment's JavaScript: no detach, no unreference.
    state->buffer.Reset();
    while (!state->waiter_ids.empty()) {
      Waiter* waiter = data->waiters.at(*state->waiter_ids.begin());
      waiter->cancelled.store(true);
      data->threads.finish(waiter);
      data->waiters.erase(waiter->id);
      state->waiter_ids.erase(waiter->id);
      delete waiter;
    }
    if (state->locked) sharedmem_unlock(state->segment);
    state->locked = false;
    sharedmem_close(state->segment);
    state->segment = nullptr;
  }
  data->threads.stop();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  napi_value resource_name = Napi::String::New(env, "sharedmem.wait");
  NAPI_THROW_IF_FAILED(env,
                       napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, nullptr,
                                                       nullptr, data, deliver_wait, &data->wake),
                       exports);
  napi_unref_threadsafe_function(env, data->wake);
  napi_add_env_cleanup_hook(env, cleanup, data);

  Napi::Function segment_class = NativeSegment::Define(env);
  data->segment_class = Napi::Persistent(segment_class);
  exports.Set("NativeSegment", segment_class);
  exports.Set("inspect", Napi::Function::New<Inspect>(env, "inspect"));
  exports.Set("list", Napi::Function::New<List>(env, "list"));
  exports.Set("prune", Napi::Function::New<Prune>(env, "prune"));
  exports.Set("errorName", Napi::Function::New<ErrorName>(env, "errorName"));
  exports.Set("errorMessage", Napi::Function::New<ErrorMessage>(env, "errorMessage"));
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  exports.Set("pendingWaits", Napi::Function::New<PendingWaits>(env, "pendingWaits"));
  exports.Set("backend", Napi::String::New(env, sharedmem_backend()));
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("SCOPE_GLOBAL", SHAREDMEM_SCOPE_GLOBAL);
  flags.Set("CREATE_ONLY", SHAREDMEM_CREATE_ONLY);
  flags.Set("OPEN_ONLY", SHAREDMEM_OPEN_ONLY);
  flags.Set("RAW", SHAREDMEM_RAW);
  flags.Set("READ_ONLY", SHAREDMEM_READ_ONLY);
  flags.Set("SHARED", SHAREDMEM_SHARED);
  flags.Set("MAX_NAME_LENGTH", SHAREDMEM_MAX_NAME_LENGTH);
  exports.Set("flags", flags);
  return exports;
}

}  // namespace

NODE_API_MODULE(sharedmem, Init)
