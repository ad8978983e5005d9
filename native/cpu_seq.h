// native/cpu_seq.h: per-CPU sequence gap detection (docs/architecture.md, invariant 3:
// a gap in a CPU's sequence numbers is a counted drop). Used by every
// capture thread on records in the order their CPU produced them, before
// any merge reorders them.
#pragma once

#include <cstdint>
#include <vector>

namespace forkline {

class CpuSeqGaps {
 public:
  explicit CpuSeqGaps(uint32_t cpus) : last_(cpus, 0) {}

  // Records missing before `seq` on `cpu` (0 when none). seq counts from 1;
  // a seq at or below the last one seen (a CPU counter restarted, or a
  // duplicate) is not a gap: it resets the expectation.
  uint64_t check(uint32_t cpu, uint64_t seq) {
    if (cpu >= last_.size()) last_.resize(cpu + 1, 0);
    uint64_t prev = last_[cpu];
    last_[cpu] = seq;
    if (seq <= prev) return 0;
    return seq - prev - 1;
  }

 private:
  std::vector<uint64_t> last_;
};

}  // namespace forkline
