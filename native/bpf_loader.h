// native/bpf_loader.h: loads dist/bpf/forkline.bpf.o (libbpf 1.1), creates
// one BPF ring buffer per possible CPU, stores them in the programs'
// `cpu_rings` map and attaches every program. No Node headers: plain C++17,
// link with -lbpf -lelf -lz. docs/bpf.md describes the programs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_link;

namespace forkline {

struct BpfOptions {
  std::string object_path;                 // dist/bpf/forkline.bpf.o
  uint32_t ring_bytes_per_cpu = 4u << 20;  // power of two, >= page size
  uint32_t argv_max_bytes = 4096;          // bytes of argv (and envp) per record: 1..8192
  bool capture_envs = false;               // FORK and EXEC carry envp
  // max_entries of script_image: processes running a script whose FORKs name
  // the script (~1.1 KiB of locked kernel memory each). 0..65536; 0 = never
  // remember scripts (the map is kept at 1 entry; FORKs of a script then give
  // path = the interpreter, no interp).
  uint32_t script_images = 4096;
  std::string verifier_log_path;           // when a program is rejected, the verifier log is written here
  // Batched wake-ups (docs/bpf.md): a record wakes the reader only when its
  // ring then holds more than ring_bytes_per_cpu / 4; the reader must then
  // poll the rings on a timer (BpfReader does). false: every record may wake it.
  bool batch_wakeups = true;
};

// code: ERR_BPF_PRIVILEGE, ERR_BPF_BTF, ERR_BPF_OBJECT, ERR_BPF_REJECTED,
// ERR_BPF_ATTACH, ERR_BPF_OPTIONS (message says what and what to do).
struct BpfError {
  std::string code;
  std::string message;
};

// The loaded and attached programs. The destructor detaches them and closes
// every fd it owns (rings, maps, programs).
class BpfProgramSet {
 public:
  // Loads, fills cpu_rings and attaches every program before returning (the
  // caller can snapshot /proc right after). nullptr and *err on failure.
  static std::unique_ptr<BpfProgramSet> load(const BpfOptions& opts, BpfError* err);
  ~BpfProgramSet();
  BpfProgramSet(const BpfProgramSet&) = delete;
  BpfProgramSet& operator=(const BpfProgramSet&) = delete;

  // Number of possible CPUs = number of rings; ring i gets the records of CPU i.
  int cpu_count() const;
  // The RINGBUF map fd of a CPU (for ring_buffer__new/ring_buffer__add); -1 when out of range.
  int ring_fd(int cpu) const;
  // Records of a CPU that could not be written (ring full or missing); each is also a cpuSeq gap.
  uint64_t reserve_failures(int cpu) const;
  // Tells the programs whether the reader drains the rings on a timer
  // (records then do not wake it, below the threshold) or sleeps until
  // woken (every record wakes it). One syscall: call it on a change only.
  void set_reader_ticking(bool ticking);

 private:
  BpfProgramSet() = default;

  struct ObjectCloser {
    void operator()(bpf_object* obj) const;
  };
  struct LinkDestroyer {
    void operator()(bpf_link* link) const;
  };
  std::unique_ptr<bpf_object, ObjectCloser> obj_;
  std::vector<int> ring_fds_;  // owned
  std::vector<std::unique_ptr<bpf_link, LinkDestroyer>> links_;
  int failures_fd_ = -1;  // reserve_failures map (owned by obj_)
  int ticking_fd_ = -1;   // reader_ticking map (owned by obj_)
  int cpus_ = 0;
};

}  // namespace forkline
