// native/ring.h: the producer side of a shard ring (docs/ring-protocol.md),
// for a capture thread writing into a SharedArrayBuffer that JS made with
// ShardRing.create(). Hand-written because the ring protocol is ours: no
// library speaks it. The JS consumer is src/ring/shard-ring.ts.
#pragma once

#include <cstdint>
#include <cstring>

#include "record_writer.h"

namespace forkline::ring {

constexpr uint32_t kMagic = 0x47524b46, kVersion = 1, kControlBytes = 512;
enum Word : uint32_t {
  MAGIC = 0, VERSION = 1, CAPACITY = 2, DATA_OFFSET = 3, ON_FULL = 4, BLOCK_TIMEOUT_MS = 5, MAX_RECORD = 6,
  HEAD = 16, CLOSED = 17, WRITTEN = 18, DROPPED_FULL = 21, DROPPED_TIMEOUT = 24,
  TAIL = 32, READ = 33,
  CONSUMER_SLEEPING = 48, DATA_SIGNAL = 49, PRODUCER_SLEEPING = 64, SPACE_SIGNAL = 65,
};
constexpr uint16_t kPadType = 0;

// Used by one thread at a time (the capture thread). Always the drop policy:
// blocking the capture thread would stall the kernel rings behind it.
class Producer final : public RecordWriter {
 public:
  // base: start of the SharedArrayBuffer (its control block); bytes: its length.
  Producer(uint8_t* base, size_t bytes) : w_(reinterpret_cast<uint32_t*>(base)) {
    ok_ = bytes >= kControlBytes && load(MAGIC, __ATOMIC_ACQUIRE) == kMagic && w_[VERSION] == kVersion;
    if (!ok_) return;
    cap_ = w_[CAPACITY];
    ok_ = cap_ >= 64 && (cap_ & (cap_ - 1)) == 0 && w_[DATA_OFFSET] == kControlBytes &&
          size_t(kControlBytes) + cap_ <= bytes && load(CLOSED, __ATOMIC_ACQUIRE) == 0;
    if (!ok_) return;
    data_ = base + kControlBytes;
    mask_ = cap_ - 1;
    head_ = published_ = load(HEAD, __ATOMIC_RELAXED);  // we are HEAD's only writer
    tail_ = load(TAIL, __ATOMIC_ACQUIRE);
  }

  bool ok() const { return ok_; }

  bool write(const void* rec, uint32_t len) override {
    uint8_t* p = reserve(len);
    if (!p) {
      add_counter(DROPPED_FULL, 1);
      return false;
    }
    std::memcpy(p, rec, len);
    head_ += len;
    ++pending_;
    return true;
  }

  void publish() override {
    if (head_ == published_) return;
    published_ = head_;
    // seq_cst, not just release: the load of CONSUMER_SLEEPING below must
    // not move before this store (store-load ordering, Dekker with the
    // consumer's sleep protocol).
    __atomic_store_n(&w_[HEAD], head_, __ATOMIC_SEQ_CST);
    add_counter(WRITTEN, pending_);
    pending_ = 0;
    if (load(CONSUMER_SLEEPING, __ATOMIC_SEQ_CST) == 1) {
      uint32_t one = 1;
      if (__atomic_compare_exchange_n(&w_[CONSUMER_SLEEPING], &one, 0u, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED)) {
        // Makes a consumer between its check and Atomics.wait return at
        // once; one already waiting wakes at its bounded timeout (a native
        // thread cannot notify a JS waiter).
        __atomic_fetch_add(&w_[DATA_SIGNAL], 1u, __ATOMIC_SEQ_CST);
        woke_ = true;
      }
    }
  }

  // True once after a publish that found the consumer asleep (the caller may
  // then ask JS to notify it).
  bool take_woke() {
    bool w = woke_;
    woke_ = false;
    return w;
  }

  void close() {
    if (!ok_) return;
    publish();
    __atomic_store_n(&w_[CLOSED], 1u, __ATOMIC_SEQ_CST);  // after the final HEAD
    __atomic_fetch_add(&w_[DATA_SIGNAL], 1u, __ATOMIC_SEQ_CST);
  }

 private:
  // Where a record of len bytes goes, or nullptr when it does not fit now.
  uint8_t* reserve(uint32_t len) {
    if (!ok_ || len < 8 || (len & 7) != 0 || len > cap_ / 2) return nullptr;
    uint32_t pos = head_ & mask_, to_end = cap_ - pos;
    uint32_t need = len <= to_end ? len : to_end + len;
    if (need > cap_ - (head_ - tail_)) {
      tail_ = load(TAIL, __ATOMIC_ACQUIRE);  // pairs with the consumer's release of TAIL
      if (need > cap_ - (head_ - tail_)) return nullptr;
    }
    if (len > to_end) {  // PAD to the end of the data area, the record at 0
      uint32_t pad[2] = {kPadType, to_end};  // type | flags << 16, size
      std::memcpy(data_ + pos, pad, sizeof pad);
      head_ += to_end;
      pos = 0;
    }
    return data_ + pos;
  }

  uint32_t load(uint32_t i, int order) const { return __atomic_load_n(&w_[i], order); }

  // u64 counter as LO, HI, HI2 (docs/ring-protocol.md); we are its only writer.
  void add_counter(uint32_t base, uint32_t delta) {
    if (delta == 0) return;
    uint32_t lo = load(base, __ATOMIC_RELAXED), nlo = lo + delta;
    if (nlo >= lo) {
      __atomic_store_n(&w_[base], nlo, __ATOMIC_RELEASE);
      return;
    }
    uint32_t hi = load(base + 1, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&w_[base + 2], hi, __ATOMIC_RELEASE);
    __atomic_store_n(&w_[base], nlo, __ATOMIC_RELEASE);
    __atomic_store_n(&w_[base + 1], hi, __ATOMIC_RELEASE);
  }

  uint32_t* w_;
  uint8_t* data_ = nullptr;
  uint32_t cap_ = 0, mask_ = 0;
  uint32_t head_ = 0, published_ = 0, tail_ = 0, pending_ = 0;
  bool ok_ = false, woke_ = false;
};

}  // namespace forkline::ring
