// native/bpf_loader.cc: see bpf_loader.h.
#include "bpf_loader.h"
#include "private_file.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace forkline {

namespace {

constexpr uint32_t kArgvMaxCompiled = 8192;  // FL_ARGV_MAX in bpf/forkline.bpf.h
constexpr uint32_t kScriptImagesMax = 65536;  // script_image entries: ~1.1 KiB of locked memory each
constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

bool fail(BpfError* err, const char* code, std::string message) {
  if (err) {
    err->code = code;
    err->message = std::move(message);
  }
  return false;
}

std::string errno_text(int e) {
  if (e < 0) e = -e;
  char buf[256];
  if (libbpf_strerror(e, buf, sizeof buf) != 0) std::snprintf(buf, sizeof buf, "%s", std::strerror(e));
  return std::string(buf) + " (errno " + std::to_string(e) + ")";
}

// libbpf's messages (the verifier log among them) during one load. libbpf's
// print callback is process-wide: loads are serialized by kLoadMutex.
std::mutex kLoadMutex;
std::string* g_log = nullptr;

int capture_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (!g_log || level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (static_cast<size_t>(n) < sizeof buf) {
    g_log->append(buf, n);
  } else {  // a verifier log is one long string: format it again, whole
    std::string big(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(&big[0], big.size(), fmt, args);
    big.resize(n);
    g_log->append(big);
  }
  return 0;
}

class PrintCapture {
 public:
  explicit PrintCapture(std::string* log) {
    g_log = log;
    prev_ = libbpf_set_print(capture_print);
  }
  ~PrintCapture() {
    libbpf_set_print(prev_);
    g_log = nullptr;
  }

 private:
  libbpf_print_fn_t prev_;
};

// Blocks every blockable signal in this thread while it lives.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    ok_ = pthread_sigmask(SIG_BLOCK, &all, &old_) == 0;
  }
  ~SignalsBlocked() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool ok_ = false;
};

// CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) in the effective set.
bool has_bpf_privilege() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return geteuid() == 0;
  auto eff = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
  constexpr int kSysAdmin = 21, kPerfmon = 38, kBpf = 39;
  return eff(kSysAdmin) || (eff(kBpf) && eff(kPerfmon));
}

// Sets a `const volatile` variable of .rodata before load.
bool set_rodata_u32(bpf_object* obj, const char* name, uint32_t value, BpfError* err) {
  bpf_map* map = bpf_object__find_map_by_name(obj, ".rodata");
  const btf* b = bpf_object__btf(obj);
  if (!map || !b) return fail(err, "ERR_BPF_OBJECT", std::string("the BPF object has no .rodata (looking for ") + name + "): rebuild it with npm run build");
  int sec_id = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (sec_id < 0) return fail(err, "ERR_BPF_OBJECT", "the BPF object has no BTF for .rodata");
  const btf_type* sec = btf__type_by_id(b, sec_id);
  const btf_var_secinfo* vs = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vs++) {
    const btf_type* var = btf__type_by_id(b, vs->type);
    if (std::strcmp(btf__name_by_offset(b, var->name_off), name) != 0) continue;
    if (vs->size != sizeof(uint32_t)) break;
    size_t size = 0;
    const void* init = bpf_map__initial_value(map, &size);
    if (!init || vs->offset + sizeof(uint32_t) > size) break;
    std::vector<char> data(static_cast<const char*>(init), static_cast<const char*>(init) + size);
    std::memcpy(data.data() + vs->offset, &value, sizeof value);
    if (bpf_map__set_initial_value(map, data.data(), size) != 0) break;
    return true;
  }
  return fail(err, "ERR_BPF_OBJECT", std::string("cannot set ") + name + " in the BPF object's .rodata: rebuild it with npm run build");
}

bool set_max_entries(bpf_object* obj, const char* name, uint32_t n, BpfError* err) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  if (!map || bpf_map__set_max_entries(map, n) != 0)
    return fail(err, "ERR_BPF_OBJECT", std::string("the BPF object has no map ") + name + ": rebuild it with npm run build");
  return true;
}

// The name of the program libbpf reports as rejected ("prog 'x': BPF program load failed").
std::string rejected_program(const std::string& log) {
  const std::string marker = "prog '";
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    size_t end = log.find('\'', at + marker.size());
    if (end == std::string::npos) break;
    if (log.compare(end, 28, "': BPF program load failed: ") == 0 || log.compare(end, 22, "': failed to load: ") == 0)
      return log.substr(at + marker.size(), end - at - marker.size());
  }
  return "";
}

}  // namespace

void BpfProgramSet::ObjectCloser::operator()(bpf_object* obj) const { bpf_object__close(obj); }
void BpfProgramSet::LinkDestroyer::operator()(bpf_link* link) const { bpf_link__destroy(link); }

std::unique_ptr<BpfProgramSet> BpfProgramSet::load(const BpfOptions& opts, BpfError* err) {
  long page = sysconf(_SC_PAGESIZE);
  uint32_t ring = opts.ring_bytes_per_cpu;
  if (ring == 0 || (ring & (ring - 1)) != 0 || ring < static_cast<uint32_t>(page)) {
    fail(err, "ERR_BPF_OPTIONS", "ring_bytes_per_cpu must be a power of two of at least the page size (" + std::to_string(page) + "), got " + std::to_string(ring));
    return nullptr;
  }
  if (opts.argv_max_bytes < 1 || opts.argv_max_bytes > kArgvMaxCompiled) {
    fail(err, "ERR_BPF_OPTIONS", "argv_max_bytes must be in 1.." + std::to_string(kArgvMaxCompiled) + ", got " + std::to_string(opts.argv_max_bytes));
    return nullptr;
  }
  if (opts.script_images > kScriptImagesMax) {
    fail(err, "ERR_BPF_OPTIONS", "script_images must be in 0.." + std::to_string(kScriptImagesMax) + " (processes running a script remembered at once, ~1.1 KiB of locked kernel memory each; 0 disables), got " + std::to_string(opts.script_images));
    return nullptr;
  }
  if (!has_bpf_privilege()) {
    fail(err, "ERR_BPF_PRIVILEGE", "loading BPF programs needs root, or CAP_BPF and CAP_PERFMON (euid " + std::to_string(geteuid()) + " has neither): run as root or grant the capabilities");
    return nullptr;
  }
  if (access(kKernelBtf, R_OK) != 0) {
    fail(err, "ERR_BPF_BTF", std::string(kKernelBtf) + " is missing: this kernel has no BTF (it needs CONFIG_DEBUG_INFO_BTF=y); use the netlink source instead");
    return nullptr;
  }
  if (opts.object_path.empty() || access(opts.object_path.c_str(), R_OK) != 0) {
    fail(err, "ERR_BPF_OBJECT", "BPF object " + (opts.object_path.empty() ? std::string("(no path)") : opts.object_path) + " is missing or unreadable (" + errno_text(errno) + "): run npm run build");
    return nullptr;
  }

  std::lock_guard<std::mutex> lock(kLoadMutex);
  std::string log;
  PrintCapture capture(&log);
  std::unique_ptr<BpfProgramSet> set(new BpfProgramSet());

  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    fail(err, "ERR_BPF_OBJECT", "cannot count the possible CPUs: " + errno_text(cpus));
    return nullptr;
  }
  set->cpus_ = cpus;

  // One ring per possible CPU (created here, stored at that CPU's index of
  // cpu_rings after load). Ring 0 also serves as cpu_rings' inner-map
  // template: libbpf 1.1 crashes when an inner map's max_entries is set.
  for (int cpu = 0; cpu < cpus; cpu++) {
    std::string name = "fl_ring" + std::to_string(cpu);
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name.c_str(), 0, 0, ring, nullptr);
    if (fd < 0) {
      int e = errno;
      fail(err, e == EPERM ? "ERR_BPF_PRIVILEGE" : "ERR_BPF_OBJECT", "cannot create the ring of CPU " + std::to_string(cpu) + " (" + std::to_string(ring) + " bytes): " + errno_text(e));
      return nullptr;
    }
    set->ring_fds_.push_back(fd);
  }

  // The verifier gives up with EAGAIN when a signal is pending (a child's
  // SIGCHLD; node --cpu-prof sends SIGPROF every ms, longer than fl_exec's
  // verification): that is no rejection. Signals are blocked in this thread
  // during the load (they stay pending and are delivered after), and an
  // EAGAIN that still comes is retried.
  SignalsBlocked quiet;
  constexpr int kLoadAttempts = 3;
  bpf_object* raw = nullptr;
  bpf_map* rings = nullptr;
  int rc = 0;
  for (int attempt = 1;; attempt++) {
    log.clear();
    set->obj_.reset();
    raw = bpf_object__open_file(opts.object_path.c_str(), nullptr);
    if (!raw) {
      fail(err, "ERR_BPF_OBJECT", "cannot open BPF object " + opts.object_path + ": " + errno_text(errno) + " (run npm run build)" + (log.empty() ? "" : "; libbpf: " + log));
      return nullptr;
    }
    set->obj_.reset(raw);
    rings = bpf_object__find_map_by_name(raw, "cpu_rings");
    if (!rings || bpf_map__set_inner_map_fd(rings, set->ring_fds_[0]) != 0) {
      fail(err, "ERR_BPF_OBJECT", "the BPF object has no cpu_rings map of rings: rebuild it with npm run build");
      return nullptr;
    }
    if (!set_max_entries(raw, "cpu_rings", cpus, err) || !set_max_entries(raw, "scratch", cpus, err) ||
        !set_rodata_u32(raw, "argv_max", opts.argv_max_bytes, err) ||
        !set_rodata_u32(raw, "capture_envs", opts.capture_envs ? 1 : 0, err) ||
        !set_rodata_u32(raw, "wakeup_bytes", opts.batch_wakeups ? ring / 4 : 0, err) ||
        // 0: the map stays (the programs reference it) at 1 entry and is never written
        !set_max_entries(raw, "script_image", opts.script_images ? opts.script_images : 1, err) ||
        !set_rodata_u32(raw, "script_images_on", opts.script_images ? 1 : 0, err))
      return nullptr;
    rc = bpf_object__load(raw);
    if (rc != -EAGAIN || attempt == kLoadAttempts) break;
  }
  if (rc != 0) {
    std::string prog = rejected_program(log);
    if (prog.empty()) {
      const char* code = (rc == -EPERM || rc == -EACCES) ? "ERR_BPF_PRIVILEGE" : "ERR_BPF_OBJECT";
      fail(err, code, "loading " + opts.object_path + " failed: " + errno_text(rc) + "; libbpf: " + log.substr(0, 2000));
      return nullptr;
    }
    std::string where;
    if (!opts.verifier_log_path.empty()) {
      std::string why;
      where = write_private_file(opts.verifier_log_path, log, &why)
                  ? "; log saved to " + opts.verifier_log_path
                  : "; could not write the log (" + why + "); log tail: " + log.substr(log.size() > 1500 ? log.size() - 1500 : 0);
    } else {
      where = "; log tail: " + log.substr(log.size() > 1500 ? log.size() - 1500 : 0);
    }
    fail(err, "ERR_BPF_REJECTED", "the verifier rejected program " + prog + " (" + errno_text(rc) + ")" + where);
    return nullptr;
  }

  int outer_fd = bpf_map__fd(rings);
  for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(cpus); cpu++) {
    int fd = set->ring_fds_[cpu];
    if (bpf_map_update_elem(outer_fd, &cpu, &fd, BPF_ANY) != 0) {
      fail(err, "ERR_BPF_OBJECT", "cannot store the ring of CPU " + std::to_string(cpu) + " in cpu_rings: " + errno_text(errno));
      return nullptr;
    }
  }
  bpf_map* failures = bpf_object__find_map_by_name(raw, "reserve_failures");
  set->failures_fd_ = failures ? bpf_map__fd(failures) : -1;
  bpf_map* ticking = bpf_object__find_map_by_name(raw, "reader_ticking");
  set->ticking_fd_ = ticking ? bpf_map__fd(ticking) : -1;

  bpf_program* prog;
  bpf_object__for_each_program(prog, raw) {
    bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      int e = errno;
      fail(err, "ERR_BPF_ATTACH", std::string("cannot attach program ") + bpf_program__name(prog) + " to tracepoint " + bpf_program__section_name(prog) + ": " + errno_text(e));
      return nullptr;
    }
    set->links_.emplace_back(link);
  }
  return set;
}

BpfProgramSet::~BpfProgramSet() {
  links_.clear();  // detach first: no program runs while its maps go away
  for (int fd : ring_fds_) close(fd);
  ring_fds_.clear();
  obj_.reset();
}

int BpfProgramSet::cpu_count() const { return cpus_; }

int BpfProgramSet::ring_fd(int cpu) const {
  if (cpu < 0 || static_cast<size_t>(cpu) >= ring_fds_.size()) return -1;
  return ring_fds_[cpu];
}

uint64_t BpfProgramSet::reserve_failures(int cpu) const {
  if (failures_fd_ < 0 || cpu < 0 || cpu >= cpus_) return 0;
  std::vector<uint64_t> values(cpus_);  // a per-CPU value is one u64 per possible CPU
  uint32_t key = 0;
  if (bpf_map_lookup_elem(failures_fd_, &key, values.data()) != 0) return 0;
  return values[cpu];
}

void BpfProgramSet::set_reader_ticking(bool ticking) {
  if (ticking_fd_ < 0) return;
  uint32_t key = 0, value = ticking ? 1 : 0;
  bpf_map_update_elem(ticking_fd_, &key, &value, BPF_ANY);
}

}  // namespace forkline
