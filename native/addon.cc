// native/addon.cc: the N-API face of live capture. One class, Capture:
// a BPF program set with its reader thread, or the netlink proc connector
// thread, writing records into a capture ring (a SharedArrayBuffer that JS
// made with ShardRing.create). JS reads that ring and routes its records
// (src/pipeline/sources/capture.ts). Nothing here runs JS on the hot path:
// the only call into JS is a non-blocking wake-up, once per consumer sleep.

#include <napi.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "bpf_loader.h"
#include "bpf_reader.h"
#include "netlink_capture.h"
#include "ring.h"

namespace forkline {
namespace {

// The capture ring producer, plus the wake-up: when a publish finds the JS
// consumer asleep, schedule one call of its wake function (a JS thread's
// Atomics.notify is the only thing that wakes an Atomics.wait early).
class WakingWriter final : public RecordWriter {
 public:
  WakingWriter(uint8_t* base, size_t bytes, Napi::ThreadSafeFunction wake) : producer_(base, bytes), wake_(wake) {}
  bool ok() const { return producer_.ok(); }
  bool write(const void* rec, uint32_t len) override { return producer_.write(rec, len); }
  void publish() override {
    producer_.publish();
    if (producer_.take_woke()) wake_.NonBlockingCall();
  }
  void close() { producer_.close(); }

 private:
  ring::Producer producer_;
  Napi::ThreadSafeFunction wake_;
};

Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

std::string string_opt(const Napi::Object& o, const char* key, const std::string& dflt) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}

uint32_t uint_opt(const Napi::Object& o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

bool bool_opt(const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

class Capture : public Napi::ObjectWrap<Capture> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Capture",
                       {InstanceMethod("start", &Capture::Start), InstanceMethod("stop", &Capture::Stop),
                        InstanceMethod("stats", &Capture::Stats)});
  }

  // new Capture({ kind: 'bpf'|'netlink', ring: Uint8Array over the ring's SharedArrayBuffer, ... }, wake)
  explicit Capture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Capture>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new Capture(options, wake): options object and wake function expected");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    kind_ = string_opt(o, "kind", "");
    if (kind_ != "bpf" && kind_ != "netlink") throw Napi::TypeError::New(env, "options.kind must be 'bpf' or 'netlink'");
    Napi::Value ring = o.Get("ring");
    if (!ring.IsTypedArray() || ring.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "options.ring must be a Uint8Array over the capture ring's SharedArrayBuffer");
    }
    // Node 20 refuses napi_get_arraybuffer_info on a SharedArrayBuffer: the
    // pointer comes from the typed array, which we keep referenced.
    Napi::Uint8Array view = ring.As<Napi::Uint8Array>();
    ring_ref_ = Napi::Persistent(view);
    ring_base_ = view.Data();
    ring_bytes_ = view.ByteLength();
    bpf_.object_path = string_opt(o, "objectPath", "");
    bpf_.ring_bytes_per_cpu = uint_opt(o, "ringBytesPerCpu", bpf_.ring_bytes_per_cpu);
    bpf_.argv_max_bytes = uint_opt(o, "argvMaxBytes", bpf_.argv_max_bytes);
    bpf_.capture_envs = bool_opt(o, "captureEnvs", false);
    bpf_.verifier_log_path = string_opt(o, "verifierLogPath", "");
    bpf_.script_images = uint_opt(o, "scriptImages", bpf_.script_images);
    netlink_.proc_root = string_opt(o, "procRoot", netlink_.proc_root);
    netlink_.argv_max_bytes = bpf_.argv_max_bytes;
    netlink_.capture_envs = bpf_.capture_envs;
    window_ns_ = uint64_t(uint_opt(o, "reorderWindowUs", 5000)) * 1000;
    tick_ns_ = uint64_t(uint_opt(o, "readerTickUs", 2000)) * 1000;
    wake_fn_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~Capture() override { StopAll(); }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (running_) throw coded_error(env, "ERR_CAPTURE_STATE", "capture already started");
    wake_ = Napi::ThreadSafeFunction::New(env, wake_fn_.Value(), "forkline-capture-wake", 0, 1);
    wake_.Unref(env);  // a pending wake-up must not keep the process alive
    writer_ = std::make_unique<WakingWriter>(ring_base_, ring_bytes_, wake_);
    if (!writer_->ok()) {
      Cleanup();
      throw coded_error(env, "ERR_CAPTURE_RING", "options.ring is not an open capture ring (ShardRing.create)");
    }
    if (kind_ == "bpf") {
      BpfError err;
      programs_ = BpfProgramSet::load(bpf_, &err);
      if (!programs_) {
        Cleanup();
        throw coded_error(env, err.code, err.message);
      }
      reader_ = std::make_unique<BpfReader>(programs_.get(), writer_.get(), window_ns_, tick_ns_);
      std::string why;
      if (!reader_->start(&why)) {
        Cleanup();
        throw coded_error(env, "ERR_BPF_MAP", why);
      }
    } else {
      NetlinkError err;
      netlink_capture_ = NetlinkCapture::open(netlink_, &err);
      if (!netlink_capture_) {
        Cleanup();
        throw coded_error(env, err.code, err.message);
      }
      netlink_capture_->start(writer_.get());
    }
    running_ = true;
    return env.Undefined();
  }

  // Stops the capture thread (it writes what it holds first), closes the
  // ring (the JS reader drains it and ends), detaches the programs.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopAll();
    return info.Env().Undefined();
  }

  void StopAll() {
    if (reader_) reader_->stop();
    if (netlink_capture_) netlink_capture_->stop();
    if (writer_ && running_) writer_->close();
    Cleanup();
    running_ = false;
  }

  void Cleanup() {
    if (reader_) final_reader_ = reader_->counters();
    if (netlink_capture_) final_netlink_ = netlink_capture_->counters();
    if (programs_) final_reserve_failures_ = ReserveFailures();
    reader_.reset();
    programs_.reset();
    netlink_capture_.reset();
    writer_.reset();
    if (wake_) {
      wake_.Release();
      wake_ = Napi::ThreadSafeFunction();
    }
  }

  static Napi::Value Big(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

  static Napi::Array BigArray(Napi::Env env, const std::vector<uint64_t>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set(uint32_t(i), Big(env, v[i]));
    return a;
  }

  // Per CPU, the kernel's failed ring reserves (programs_ loaded).
  std::vector<uint64_t> ReserveFailures() const {
    std::vector<uint64_t> rf;
    for (int cpu = 0; cpu < programs_->cpu_count(); cpu++) rf.push_back(programs_->reserve_failures(cpu));
    return rf;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object s = Napi::Object::New(env);
    s.Set("kind", kind_);
    s.Set("running", running_);
    if (kind_ == "bpf") {
      BpfReaderCounters c = reader_ ? reader_->counters() : final_reader_;
      s.Set("records", Big(env, c.records));
      s.Set("emitted", Big(env, c.emitted));
      s.Set("lost", Big(env, c.lost));
      s.Set("inversions", Big(env, c.inversions));
      s.Set("ringFull", Big(env, c.ring_full));
      s.Set("malformed", Big(env, c.malformed));
      s.Set("releasedUpTo", Big(env, c.released_up_to));
      s.Set("wakeups", Big(env, c.wakeups));
      s.Set("lostByCpu", BigArray(env, c.lost_by_cpu));
      s.Set("reserveFailuresByCpu", BigArray(env, programs_ ? ReserveFailures() : final_reserve_failures_));
    } else {
      NetlinkCounters c = netlink_capture_ ? netlink_capture_->counters() : final_netlink_;
      s.Set("messages", Big(env, c.messages));
      s.Set("fork", Big(env, c.fork));
      s.Set("exec", Big(env, c.exec));
      s.Set("exit", Big(env, c.exit));
      s.Set("uid", Big(env, c.uid));
      s.Set("gid", Big(env, c.gid));
      s.Set("comm", Big(env, c.comm));
      s.Set("threadsSkipped", Big(env, c.threads_skipped));
      s.Set("procGone", Big(env, c.proc_gone));
      s.Set("lost", Big(env, c.lost));
      s.Set("overruns", Big(env, c.overruns));
      s.Set("ringFull", Big(env, c.ring_full));
      // the netlink thread writes in arrival order: everything up to now was handed over
      s.Set("releasedUpTo", Big(env, running_ ? boottime_ns() : 0));
    }
    return s;
  }

  std::string kind_;
  Napi::Reference<Napi::Uint8Array> ring_ref_;
  uint8_t* ring_base_ = nullptr;
  size_t ring_bytes_ = 0;
  BpfOptions bpf_;
  NetlinkOptions netlink_;
  uint64_t window_ns_ = 5000000, tick_ns_ = 2000000;
  Napi::FunctionReference wake_fn_;
  Napi::ThreadSafeFunction wake_;
  std::unique_ptr<WakingWriter> writer_;
  std::unique_ptr<BpfProgramSet> programs_;
  std::unique_ptr<BpfReader> reader_;
  std::unique_ptr<NetlinkCapture> netlink_capture_;
  BpfReaderCounters final_reader_;
  NetlinkCounters final_netlink_{};
  std::vector<uint64_t> final_reserve_failures_;
  bool running_ = false;
};

Napi::Value BootTimeNs(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), boottime_ns()); }

// peerCredentials(fd): the pid, uid and gid of the process at the other end
// of a connected UNIX socket, as the kernel recorded them at connect()
// (SO_PEERCRED). The query server (src/ops/query-peer.ts) calls it on the
// fd of each accepted connection; any failure throws, and the server then
// refuses the connection (fail closed).
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "peerCredentials(fd): a file descriptor expected");
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) throw coded_error(env, "ERR_PEER_CREDENTIALS", "peerCredentials: invalid file descriptor " + std::to_string(fd));
  struct ucred cred;
  socklen_t len = sizeof(cred);
  std::memset(&cred, 0, sizeof(cred));
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    int err = errno;
    throw coded_error(env, "ERR_PEER_CREDENTIALS", std::string("getsockopt(SO_PEERCRED) failed: ") + std::strerror(err));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, cred.pid));
  o.Set("uid", Napi::Number::New(env, cred.uid));
  o.Set("gid", Napi::Number::New(env, cred.gid));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Capture", Capture::Init(env));
  exports.Set("bootTimeNs", Napi::Function::New(env, BootTimeNs));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  return exports;
}

}  // namespace
}  // namespace forkline

static Napi::Object InitForkline(Napi::Env env, Napi::Object exports) { return forkline::Init(env, exports); }

NODE_API_MODULE(forkline, InitForkline)
