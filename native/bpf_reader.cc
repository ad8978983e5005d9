// native/bpf_reader.cc: see bpf_reader.h.

#include "bpf_reader.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>

#include "bpf_loader.h"
#include "record/record.h"  // src/record/record.h, generated (include path: src/)

namespace forkline {

using namespace record;

uint64_t boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

static uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

BpfReader::BpfReader(BpfProgramSet* progs, RecordWriter* out, uint64_t window_ns, uint64_t tick_ns)
    : progs_(progs),
      out_(out),
      merger_(out, window_ns),
      tick_ns_(tick_ns < 1000000 ? 1000000 : tick_ns),
      gaps_(uint32_t(progs->cpu_count())),
      lost_by_cpu_(size_t(progs->cpu_count()), 0),
      a_lost_by_cpu_(size_t(progs->cpu_count())) {}

BpfReader::~BpfReader() { stop(); }

bool BpfReader::start(std::string* error) {
  if (started_) return true;
  int n = progs_->cpu_count();
  ctx_.resize(size_t(n));
  for (int cpu = 0; cpu < n; cpu++) {
    ctx_[size_t(cpu)] = CpuCtx{this, uint32_t(cpu)};
    int fd = progs_->ring_fd(cpu);
    int err = 0;
    if (rb_ == nullptr) {
      rb_ = ring_buffer__new(fd, on_record, &ctx_[size_t(cpu)], nullptr);
      if (rb_ == nullptr) err = -errno;
    } else {
      err = ring_buffer__add(rb_, fd, on_record, &ctx_[size_t(cpu)]);
    }
    if (err != 0) {
      *error = "cannot map the BPF ring buffer of CPU " + std::to_string(cpu) + ": " + std::strerror(-err);
      if (rb_) ring_buffer__free(rb_);
      rb_ = nullptr;
      return false;
    }
  }
  // The first record of the stream maps kernel time to wall-clock time.
  uint8_t clock[CLOCK_SIZE] = {};
  ClockRecord c{};
  c.header.type = REC_CLOCK;
  c.header.size = CLOCK_SIZE;
  c.header.time = boottime_ns();
  c.wallTime = realtime_ns();
  std::memcpy(clock, &c, sizeof c);
  merger_.push(clock, CLOCK_SIZE);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return true;
}

void BpfReader::stop() {
  if (!started_) return;
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
  started_ = false;
}

int BpfReader::on_record(void* ctx, void* data, size_t size) {
  auto* c = static_cast<CpuCtx*>(ctx);
  c->self->handle(c->cpu, static_cast<const uint8_t*>(data), size);
  return 0;
}

void BpfReader::handle(uint32_t cpu, const uint8_t* data, size_t size) {
  records_++;
  RecordHeader h;
  if (size < sizeof h) {
    malformed_++;
    return;
  }
  std::memcpy(&h, data, sizeof h);
  if (h.size > size || h.size < HEADER_SIZE || (h.size & 7) != 0) {
    malformed_++;
    return;
  }
  // Gaps are checked in the CPU's own order, before the merge reorders.
  uint64_t missing = gaps_.check(cpu, h.cpuSeq);
  if (missing > 0) {
    lost_ += missing;
    lost_by_cpu_[cpu] += missing;
    LostRecord lost{};
    lost.header.type = REC_LOST;
    lost.header.size = LOST_SIZE;
    lost.header.cpu = cpu;
    lost.header.time = h.time;
    lost.count = uint32_t(missing > 0xffffffffu ? 0xffffffffu : missing);
    uint8_t buf[LOST_SIZE] = {};
    std::memcpy(buf, &lost, sizeof lost);
    merger_.push(buf, LOST_SIZE);
  }
  merger_.push(data, h.size);
}

void BpfReader::run() {
  pthread_setname_np(pthread_self(), "fl-bpf-reader");  // named in /proc/<pid>/task/*/comm
  // Two modes (docs/capture.md, "Latency budget"):
  // - ticking, while records come: the programs submit with
  //   BPF_RB_NO_WAKEUP (the kernel wakes this thread only when a ring fills
  //   past its threshold) and the thread sleeps one tick (on this project's
  //   VM a timed wake-up alone costs 15-30 us of CPU: one per tick, never one
  //   per record or per due record). Each wake-up drains every ring,
  //   releases what left the reorder window and publishes once,
  //   so its wake-ups (and the JS consumer's they cause) follow the ticks,
  //   not the records.
  // - asleep, after kIdleTicks ticks found nothing: the programs wake it at
  //   the first record; it blocks in epoll meanwhile (kIdleWaitMs at most,
  //   to notice stop()).
  // Going to sleep: the flag is cleared first, then one more tick drains the
  // rings: a program that read the flag before it changed has committed its
  // record by then (programs run with preemption off, in microseconds).
  constexpr int kIdleTicks = 2, kIdleWaitMs = 100;
  const int tick_ms = int((tick_ns_ + 999999) / 1000000);
  bool ticking = false;
  int quiet = 0;  // ticks in a row that found nothing
  while (!stopping_.load(std::memory_order_acquire)) {
    int timeout = ticking || quiet == 0 ? tick_ms : kIdleWaitMs;
    int r = ring_buffer__poll(rb_, timeout);
    if (r < 0 && r != -EINTR) break;
    wakeups_++;
    int n = ring_buffer__consume(rb_);  // the rings no wake-up named
    if (n < 0 && n != -EINTR) break;
    bool found = r > 0 || n > 0;
    if (found) {
      quiet = 0;
      if (!ticking) progs_->set_reader_ticking(ticking = true);
    } else if (merger_.empty() && ++quiet >= kIdleTicks && ticking) {
      progs_->set_reader_ticking(ticking = false);
      quiet = 0;  // one more tick, then asleep
    }
    merger_.release_until(boottime_ns());
    out_->publish();
    publish_counters();
  }
  progs_->set_reader_ticking(false);
  ring_buffer__consume(rb_);
  merger_.release_all();
  out_->publish();
  publish_counters();
}

void BpfReader::publish_counters() {
  a_records_.store(records_, std::memory_order_relaxed);
  a_emitted_.store(merger_.emitted(), std::memory_order_relaxed);
  a_lost_.store(lost_, std::memory_order_relaxed);
  a_inversions_.store(merger_.inversions(), std::memory_order_relaxed);
  a_ring_full_.store(merger_.ring_full(), std::memory_order_relaxed);
  a_malformed_.store(malformed_, std::memory_order_relaxed);
  a_wakeups_.store(wakeups_, std::memory_order_relaxed);
  for (size_t i = 0; i < lost_by_cpu_.size(); i++) a_lost_by_cpu_[i].store(lost_by_cpu_[i], std::memory_order_relaxed);
  // Release: a JS thread that sees this time also sees the records written before it (published above).
  a_released_.store(merger_.released_up_to(), std::memory_order_release);
}

BpfReaderCounters BpfReader::counters() const {
  BpfReaderCounters c;
  c.records = a_records_.load(std::memory_order_relaxed);
  c.emitted = a_emitted_.load(std::memory_order_relaxed);
  c.lost = a_lost_.load(std::memory_order_relaxed);
  c.inversions = a_inversions_.load(std::memory_order_relaxed);
  c.ring_full = a_ring_full_.load(std::memory_order_relaxed);
  c.malformed = a_malformed_.load(std::memory_order_relaxed);
  c.wakeups = a_wakeups_.load(std::memory_order_relaxed);
  c.released_up_to = a_released_.load(std::memory_order_acquire);
  for (auto& v : a_lost_by_cpu_) c.lost_by_cpu.push_back(v.load(std::memory_order_relaxed));
  return c;
}

}  // namespace forkline
