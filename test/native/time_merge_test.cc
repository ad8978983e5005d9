// Drives native/time_merge.h and native/cpu_seq.h with scripted input and
// prints what came out as JSON lines; test/native/time-merge.test.ts checks them.
#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu_seq.h"
#include "time_merge.h"

using namespace forkline;
using namespace forkline::record;

struct VectorWriter : RecordWriter {
  std::vector<std::vector<uint8_t>> records;
  size_t capacity = 1000000;
  bool write(const void* rec, uint32_t len) override {
    if (records.size() >= capacity) return false;
    records.emplace_back(static_cast<const uint8_t*>(rec), static_cast<const uint8_t*>(rec) + len);
    return true;
  }
  void publish() override {}
};

static std::vector<uint8_t> exit_record(uint32_t cpu, uint64_t time, uint32_t pid) {
  ExitRecord r{};
  r.header.type = REC_EXIT;
  r.header.size = EXIT_SIZE;
  r.header.cpu = cpu;
  r.header.time = time;
  r.pid = pid;
  std::vector<uint8_t> b(EXIT_SIZE, 0);
  std::memcpy(b.data(), &r, sizeof r);
  return b;
}

static void dump(const char* name, const VectorWriter& w, const TimeMerger& m) {
  std::printf("{\"case\":\"%s\",\"pids\":[", name);
  for (size_t i = 0; i < w.records.size(); i++) {
    ExitRecord r;
    std::memcpy(&r, w.records[i].data(), sizeof r);
    std::printf("%s%u", i ? "," : "", r.pid);
  }
  std::printf("],\"inversions\":%llu,\"ringFull\":%llu,\"releasedUpTo\":%llu}\n", (unsigned long long)m.inversions(),
              (unsigned long long)m.ring_full(), (unsigned long long)m.released_up_to());
}

int main() {
  {  // two CPUs, interleaved arrival, all inside the window: out in time order
    VectorWriter w;
    TimeMerger m(&w, 1000);
    for (auto& r : {exit_record(0, 100, 1), exit_record(0, 300, 3), exit_record(1, 200, 2), exit_record(1, 400, 4)})
      m.push(r.data(), uint32_t(r.size()));
    m.release_until(1350);  // limit 350: 100, 200, 300
    dump("window", w, m);
    m.release_until(100000);
    dump("window-rest", w, m);
  }
  {  // a record older than what already left: emitted at once and counted
    VectorWriter w;
    TimeMerger m(&w, 10);
    auto a = exit_record(0, 500, 5), late = exit_record(1, 100, 1);
    m.push(a.data(), uint32_t(a.size()));
    m.release_until(1000);
    m.push(late.data(), uint32_t(late.size()));
    m.release_until(2000);
    dump("late", w, m);
  }
  {  // equal times keep arrival order
    VectorWriter w;
    TimeMerger m(&w, 0);
    for (uint32_t pid = 1; pid <= 5; pid++) {
      auto r = exit_record(pid % 2, 42, pid);
      m.push(r.data(), uint32_t(r.size()));
    }
    m.release_all();
    dump("ties", w, m);
  }
  {  // a full writer: counted, the rest still written
    VectorWriter w;
    w.capacity = 2;
    TimeMerger m(&w, 0);
    for (uint32_t pid = 1; pid <= 4; pid++) {
      auto r = exit_record(0, pid, pid);
      m.push(r.data(), uint32_t(r.size()));
    }
    m.release_all();
    dump("full", w, m);
  }
  {  // memory bound: past max_staged_bytes the oldest leave early
    VectorWriter w;
    TimeMerger m(&w, 1000000, 3 * EXIT_SIZE);
    for (uint32_t pid = 1; pid <= 5; pid++) {
      auto r = exit_record(0, pid * 10, pid);
      m.push(r.data(), uint32_t(r.size()));
    }
    dump("bounded", w, m);
  }
  {  // per-CPU gaps
    CpuSeqGaps g(2);
    unsigned long long a = g.check(0, 1), b = g.check(0, 2), c = g.check(0, 5), d = g.check(1, 3), e = g.check(1, 4),
                       f = g.check(0, 2), h = g.check(5, 2);
    std::printf("{\"case\":\"gaps\",\"missing\":[%llu,%llu,%llu,%llu,%llu,%llu,%llu]}\n", a, b, c, d, e, f, h);
  }
  return 0;
}
