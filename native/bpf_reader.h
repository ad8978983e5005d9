// native/bpf_reader.h: the reader thread of the BPF source. It drains every
// per-CPU BPF ring buffer, counts the gaps in each CPU's sequence numbers
// (kernel-side losses), merges the CPUs in time order (time_merge.h) and
// writes the records to one RecordWriter (the capture ring JS reads). It
// never calls into JS.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "cpu_seq.h"
#include "record_writer.h"
#include "time_merge.h"

struct ring_buffer;

namespace forkline {

class BpfProgramSet;

struct BpfReaderCounters {
  uint64_t records = 0;     // records read from the CPU rings
  uint64_t emitted = 0;     // records (and LOST reports) written out
  uint64_t lost = 0;        // records missing from the CPU sequences (every cause)
  uint64_t inversions = 0;  // records that left the merge after a later one
  uint64_t ring_full = 0;   // records the capture ring refused
  uint64_t malformed = 0;   // CPU-ring records too short or badly sized (skipped)
  uint64_t released_up_to = 0;  // boottime ns: every record stamped before it was written
  uint64_t wakeups = 0;         // times the thread woke up (timer ticks and the kernel's forced wake-ups)
  std::vector<uint64_t> lost_by_cpu;
};

class BpfReader {
 public:
  // progs and out must outlive the reader. window_ns: the reorder window.
  // tick_ns: the longest the thread sleeps before it drains the rings again
  // (the kernel wakes it early only when a ring fills past its threshold).
  BpfReader(BpfProgramSet* progs, RecordWriter* out, uint64_t window_ns, uint64_t tick_ns);
  ~BpfReader();
  BpfReader(const BpfReader&) = delete;
  BpfReader& operator=(const BpfReader&) = delete;

  // Returns false (with errno-style message) when the rings cannot be opened.
  bool start(std::string* error);
  // Drains what the rings hold, writes every staged record, joins. Idempotent.
  void stop();
  BpfReaderCounters counters() const;

 private:
  struct CpuCtx {
    BpfReader* self;
    uint32_t cpu;
  };
  static int on_record(void* ctx, void* data, size_t size);
  void run();
  void handle(uint32_t cpu, const uint8_t* data, size_t size);
  void publish_counters();

  BpfProgramSet* progs_;
  RecordWriter* out_;
  TimeMerger merger_;
  uint64_t tick_ns_;
  CpuSeqGaps gaps_;
  ring_buffer* rb_ = nullptr;
  std::vector<CpuCtx> ctx_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  // Thread-private counts, published to the atomics below once per loop.
  uint64_t records_ = 0, lost_ = 0, malformed_ = 0, wakeups_ = 0;
  std::vector<uint64_t> lost_by_cpu_;
  std::atomic<uint64_t> a_records_{0}, a_emitted_{0}, a_lost_{0}, a_inversions_{0}, a_ring_full_{0},
      a_malformed_{0}, a_released_{0}, a_wakeups_{0};
  std::vector<std::atomic<uint64_t>> a_lost_by_cpu_;
};

// CLOCK_BOOTTIME in ns: the clock of record times (and of /proc start times).
uint64_t boottime_ns();

}  // namespace forkline
