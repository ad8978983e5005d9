// native/time_merge.h: the bounded-delay time merge of the per-CPU streams
// (docs/architecture.md, invariant 1). Records from every CPU ring are staged here and
// leave in kernel-time order once they are older than the reorder window:
// a record committed late on one CPU (its timestamp was taken before a slow
// reserve, or it is a FORK stamped with the child's start time) still goes
// out before later records of other CPUs. A record that arrives after a
// later one already left cannot be put back in order: it goes out at once
// and is counted as an inversion, never dropped silently.
//
// Hand-written: the window, the inversion count and the record copies are
// specific to this pipeline; std::priority_queue does the ordering.
#pragma once

#include <cstdint>
#include <cstring>
#include <queue>
#include <vector>

#include "record/record.h"  // src/record/record.h, generated (include path: src/)
#include "record_writer.h"

namespace forkline {

class TimeMerger {
 public:
  // max_staged_bytes bounds memory: past it the oldest records leave early.
  TimeMerger(RecordWriter* out, uint64_t window_ns, size_t max_staged_bytes = 64u << 20)
      : out_(out), window_ns_(window_ns), max_staged_(max_staged_bytes) {}

  // Stages one record (header time read from it). len: its size.
  void push(const void* rec, uint32_t len) {
    uint64_t time;
    std::memcpy(&time, static_cast<const uint8_t*>(rec) + record::H_TIME, sizeof time);
    std::vector<uint8_t> bytes = take_buffer();
    bytes.assign(static_cast<const uint8_t*>(rec), static_cast<const uint8_t*>(rec) + len);
    staged_bytes_ += len;
    heap_.push(Staged{time, order_++, std::move(bytes)});
    while (staged_bytes_ > max_staged_ && !heap_.empty()) emit_top();
  }

  // Writes every staged record with time <= now_ns - window, oldest first.
  void release_until(uint64_t now_ns) {
    uint64_t limit = now_ns > window_ns_ ? now_ns - window_ns_ : 0;
    while (!heap_.empty() && heap_.top().time <= limit) emit_top();
    if (limit > released_up_to_) released_up_to_ = limit;
  }

  // Writes everything staged (shutdown).
  void release_all() {
    while (!heap_.empty()) emit_top();
  }

  bool empty() const { return heap_.empty(); }
  uint64_t inversions() const { return inversions_; }
  uint64_t emitted() const { return emitted_; }
  uint64_t ring_full() const { return ring_full_; }
  // Every record stamped at or before this time has been written (or counted as ring-full).
  uint64_t released_up_to() const { return released_up_to_; }

 private:
  struct Staged {
    uint64_t time;
    uint64_t order;  // arrival order: ties keep it (stable)
    std::vector<uint8_t> bytes;
  };
  struct Later {
    bool operator()(const Staged& a, const Staged& b) const {
      return a.time != b.time ? a.time > b.time : a.order > b.order;
    }
  };

  void emit_top() {
    // priority_queue::top() is const: move out through a const_cast, which is
    // safe because pop() follows at once and never reads the moved-from bytes.
    Staged& top = const_cast<Staged&>(heap_.top());
    if (top.time < last_time_) ++inversions_;
    else last_time_ = top.time;
    if (!out_->write(top.bytes.data(), uint32_t(top.bytes.size()))) ++ring_full_;
    ++emitted_;
    staged_bytes_ -= top.bytes.size();
    std::vector<uint8_t> buf = std::move(top.bytes);
    heap_.pop();
    if (free_.size() < 1024) free_.push_back(std::move(buf));
  }

  std::vector<uint8_t> take_buffer() {
    if (free_.empty()) return {};
    std::vector<uint8_t> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  RecordWriter* out_;
  uint64_t window_ns_;
  size_t max_staged_;
  size_t staged_bytes_ = 0;
  uint64_t order_ = 0, last_time_ = 0, inversions_ = 0, emitted_ = 0, ring_full_ = 0, released_up_to_ = 0;
  std::priority_queue<Staged, std::vector<Staged>, Later> heap_;
  std::vector<std::vector<uint8_t>> free_;
};

}  // namespace forkline
