// test/native/netlink_capture_test.cc: drives NetlinkCapture (native/) on the
// live kernel and prints what it recorded as JSON lines, for
// test/native/netlink.test.ts, which checks them. Built with
//   g++ -std=c++17 -O1 -pthread -I native <this> native/netlink_capture.cc native/procfs_reader.cc
// Usage: netlink_capture_test <raw-records-file>
//   stdout: one JSON object per line ({"type": ...}); the raw record bytes go
//   to the file, for the TypeScript validator.
// Runs as root. Exits 0 after printing {"type":"error",...} when open() fails.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "netlink_capture.h"
#include "procfs_reader.h"
#include "record/record.h"  // src/record/record.h, generated (include path: src/)

using namespace forkline;
using namespace forkline::record;

namespace {

// ---------------------------------------------------------------- writer

class VectorWriter : public RecordWriter {
 public:
  bool write(const void* record, uint32_t len) override {
    std::lock_guard<std::mutex> g(mu_);
    const uint8_t* p = static_cast<const uint8_t*>(record);
    bytes_.insert(bytes_.end(), p, p + len);
    ++writes_;
    return true;
  }
  void publish() override {
    std::lock_guard<std::mutex> g(mu_);
    published_ = bytes_.size();
    ++publishes_;
  }
  std::vector<uint8_t> published() {
    std::lock_guard<std::mutex> g(mu_);
    return std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + static_cast<long>(published_));
  }
  std::vector<uint8_t> all() {
    std::lock_guard<std::mutex> g(mu_);
    return bytes_;
  }
  uint64_t writes() {
    std::lock_guard<std::mutex> g(mu_);
    return writes_;
  }
  uint64_t publishes() {
    std::lock_guard<std::mutex> g(mu_);
    return publishes_;
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t> bytes_;
  size_t published_ = 0;
  uint64_t writes_ = 0, publishes_ = 0;
};

// ---------------------------------------------------------------- decoding (independent of the capture's encoder)

template <class T>
T get(const uint8_t* p, uint32_t off) {
  T v;
  memcpy(&v, p + off, sizeof v);
  return v;
}

struct Rec {
  uint16_t type = 0, flags = 0;
  uint32_t size = 0, cpu = 0, pidns = 0;
  uint64_t time = 0, cpu_seq = 0, gseq = 0;
  uint32_t pid = 0;
  int64_t ppid = 0;
  uint64_t inode = 0, inode2 = 0;
  uint32_t creds[CRED_WORD_COUNT] = {};
  uint32_t creds_mask = 0;
  uint16_t given = 0;
  std::string vars[VAR_COUNT];
  uint32_t exit_code = 0, count = 0;
  std::string comm;  // RENAME
  std::string problem;  // non-empty when a rule of the format is broken
};

std::vector<Rec> decodeAll(const std::vector<uint8_t>& bytes) {
  std::vector<Rec> out;
  size_t off = 0;
  while (off + HEADER_SIZE <= bytes.size()) {
    const uint8_t* p = bytes.data() + off;
    Rec r;
    r.type = get<uint16_t>(p, H_TYPE);
    r.flags = get<uint16_t>(p, H_FLAGS);
    r.size = get<uint32_t>(p, H_SIZE);
    r.cpu = get<uint32_t>(p, H_CPU);
    r.pidns = get<uint32_t>(p, H_PIDNS);
    r.time = get<uint64_t>(p, H_TIME);
    r.cpu_seq = get<uint64_t>(p, H_CPU_SEQ);
    r.gseq = get<uint64_t>(p, H_GSEQ);
    if (r.size < HEADER_SIZE || r.size % 8 != 0 || off + r.size > bytes.size()) {
      r.problem = "bad size";
      out.push_back(r);
      return out;
    }
    uint32_t end = 0;  // end of the meaningful bytes; the rest must be zero
    switch (r.type) {
      case REC_FORK:
      case REC_EXEC: {
        r.pid = get<uint32_t>(p, FORK_PID);
        r.ppid = r.type == REC_FORK ? static_cast<int64_t>(get<uint32_t>(p, FORK_PPID))
                                    : static_cast<int64_t>(get<int32_t>(p, EXEC_PPID));
        r.inode = get<uint64_t>(p, FORK_INODE);
        r.inode2 = get<uint64_t>(p, FORK_EXEC_TIME);
        for (uint32_t w = 0; w < CRED_WORD_COUNT; ++w) r.creds[w] = get<uint32_t>(p, FORK_CREDS + 4 * w);
        r.creds_mask = get<uint16_t>(p, FORK_CREDS_MASK);
        r.given = get<uint16_t>(p, FORK_GIVEN);
        uint32_t at = FORK_VAR;
        for (uint32_t i = 0; i < VAR_COUNT; ++i) {
          uint16_t n = get<uint16_t>(p, FORK_LENS + 2 * i);
          if (at + n > r.size) {
            r.problem = "var past size";
            break;
          }
          r.vars[i].assign(reinterpret_cast<const char*>(p + at), n);
          at += n;
        }
        end = at;
        if (align8(end) != r.size) r.problem = "size is not align8(end of vars)";
        break;
      }
      case REC_EXIT:
        r.pid = get<uint32_t>(p, EXIT_PID);
        r.exit_code = get<uint32_t>(p, EXIT_EXIT_CODE);
        end = EXIT_SIZE;
        if (r.size != EXIT_SIZE) r.problem = "EXIT size";
        break;
      case REC_CREDS:
        r.pid = get<uint32_t>(p, CREDS_PID);
        r.creds_mask = get<uint32_t>(p, CREDS_CREDS_MASK);
        for (uint32_t w = 0; w < CRED_WORD_COUNT; ++w) r.creds[w] = get<uint32_t>(p, CREDS_CREDS + 4 * w);
        end = CREDS_CREDS + 4 * CRED_WORD_COUNT;
        if (r.size != CREDS_SIZE) r.problem = "CREDS size";
        break;
      case REC_RENAME: {
        r.pid = get<uint32_t>(p, RENAME_PID);
        uint16_t n = get<uint16_t>(p, RENAME_LENS);
        if (RENAME_VAR + n > r.size) {
          r.problem = "RENAME comm past size";
          break;
        }
        r.comm.assign(reinterpret_cast<const char*>(p + RENAME_VAR), n);
        end = RENAME_VAR + n;
        if (align8(end) != r.size) r.problem = "RENAME size";
        break;
      }
      case REC_LOST:
        r.count = get<uint32_t>(p, LOST_COUNT);
        end = LOST_COUNT + 4;
        if (r.size != LOST_SIZE) r.problem = "LOST size";
        break;
      default:
        r.problem = "unexpected record type";
        end = r.size;
    }
    for (uint32_t i = end; i < r.size && r.problem.empty(); ++i) {
      if (p[i] != 0) r.problem = "non-zero padding";
    }
    out.push_back(r);
    off += r.size;
  }
  return out;
}

// ---------------------------------------------------------------- JSON

std::string js(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += static_cast<char>(ch);
    } else if (ch < 0x20 || ch >= 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", ch);
      o += b;
    } else {
      o += static_cast<char>(ch);
    }
  }
  return o + "\"";
}

std::string jsList(const std::string& blob) {
  // NUL-terminated items -> JSON array; a final item without NUL is shown too.
  std::string o = "[";
  size_t start = 0;
  bool first = true;
  for (size_t i = 0; i <= blob.size(); ++i) {
    if (i == blob.size() && start == blob.size()) break;
    if (i == blob.size() || blob[i] == '\0') {
      if (!first) o += ",";
      o += js(blob.substr(start, i - start));
      first = false;
      start = i + 1;
    }
  }
  return o + "]";
}

const char* typeName(uint16_t t) {
  switch (t) {
    case REC_FORK: return "fork";
    case REC_EXEC: return "exec";
    case REC_EXIT: return "exit";
    case REC_CREDS: return "creds";
    case REC_RENAME: return "rename";
    case REC_LOST: return "lost";
    default: return "other";
  }
}

std::string credsJson(const Rec& r) {
  struct {
    const char* name;
    uint32_t bit, word;
  } f[] = {{"uid", CRED_UID, CRED_WORD_UID},       {"gid", CRED_GID, CRED_WORD_GID},
           {"euid", CRED_EUID, CRED_WORD_EUID},    {"egid", CRED_EGID, CRED_WORD_EGID},
           {"fsuid", CRED_FSUID, CRED_WORD_FSUID}, {"fsgid", CRED_FSGID, CRED_WORD_FSGID},
           {"auid", CRED_AUID, CRED_WORD_AUID}};
  std::string o = "{";
  bool first = true;
  auto sep = [&] {
    if (!first) o += ",";
    first = false;
  };
  for (auto& x : f) {
    if (r.creds_mask & x.bit) {
      sep();
      o += "\"" + std::string(x.name) + "\":" + std::to_string(r.creds[x.word]);
    }
  }
  auto cap = [&](const char* name, uint32_t bit, uint32_t w) {
    if (!(r.creds_mask & bit)) return;
    sep();
    uint64_t v = r.creds[w] | (static_cast<uint64_t>(r.creds[w + 1]) << 32);
    o += "\"" + std::string(name) + "\":\"" + std::to_string(v) + "\"";
  };
  cap("capEffective", CRED_CAP_EFFECTIVE, CRED_WORD_CAP_EFFECTIVE);
  cap("capPermitted", CRED_CAP_PERMITTED, CRED_WORD_CAP_PERMITTED);
  return o + "}";
}

std::string recJson(const Rec& r, size_t index) {
  std::string o = "{\"type\":\"record\",\"index\":" + std::to_string(index) + ",\"rec\":" + js(typeName(r.type)) +
                  ",\"flags\":" + std::to_string(r.flags) + ",\"size\":" + std::to_string(r.size) +
                  ",\"cpu\":" + std::to_string(r.cpu) + ",\"pidns\":" + std::to_string(r.pidns) + ",\"time\":\"" +
                  std::to_string(r.time) + "\",\"cpuSeq\":\"" + std::to_string(r.cpu_seq) + "\",\"gseq\":\"" +
                  std::to_string(r.gseq) + "\"";
  if (!r.problem.empty()) o += ",\"problem\":" + js(r.problem);
  switch (r.type) {
    case REC_FORK:
    case REC_EXEC: {
      o += ",\"pid\":" + std::to_string(r.pid) + ",\"ppid\":" + std::to_string(r.ppid) + ",\"inode\":" +
           std::to_string(r.inode) + ",\"" + (r.type == REC_FORK ? "execTime" : "prevInode") + "\":" +
           std::to_string(r.inode2) + ",\"credsMask\":" + std::to_string(r.creds_mask) +
           ",\"given\":" + std::to_string(r.given) + ",\"creds\":" + credsJson(r);
      if (r.given & GIVEN_PATH) o += ",\"path\":" + js(r.vars[VAR_PATH]);
      if (r.given & GIVEN_COMM) o += ",\"comm\":" + js(r.vars[VAR_COMM]);
      if (r.given & GIVEN_ARGV) o += ",\"argv\":" + jsList(r.vars[VAR_ARGV]);
      if (r.given & GIVEN_ENVP) o += ",\"envp\":" + jsList(r.vars[VAR_ENVP]);
      if (r.given & (GIVEN_CTX | (7u << GIVEN_CTX_PARTS_SHIFT))) {
        const std::string& c = r.vars[VAR_CTX];
        std::string parts[3];
        int nuls = 0;
        for (char ch : c) {
          if (ch == '\0') ++nuls;
          else if (nuls < 3) parts[nuls] += ch;
        }
        // Only the parts the record gives (a process whose cgroup could not be read gives its tty alone).
        const uint32_t parts_given = (r.given & GIVEN_CTX) ? 7u : (r.given >> GIVEN_CTX_PARTS_SHIFT) & 7u;
        o += ",\"ctxNuls\":" + std::to_string(nuls);
        if (parts_given & 1u) o += ",\"tty\":" + js(parts[0]);
        if (parts_given & 2u) o += ",\"containerId\":" + js(parts[1]);
        if (parts_given & 4u) o += ",\"cgroup\":" + js(parts[2]);
      }
      break;
    }
    case REC_EXIT:
      o += ",\"pid\":" + std::to_string(r.pid) + ",\"exitCode\":" + std::to_string(r.exit_code);
      break;
    case REC_CREDS:
      o += ",\"pid\":" + std::to_string(r.pid) + ",\"credsMask\":" + std::to_string(r.creds_mask) +
           ",\"creds\":" + credsJson(r);
      break;
    case REC_RENAME:
      o += ",\"pid\":" + std::to_string(r.pid) + ",\"comm\":" + js(r.comm);
      break;
    case REC_LOST:
      o += ",\"count\":" + std::to_string(r.count);
      break;
  }
  return o + "}";
}

// ---------------------------------------------------------------- helpers

uint64_t nowNs(clockid_t clk) {
  timespec t;
  clock_gettime(clk, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int countDir(const char* path) {
  DIR* d = opendir(path);
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - (strcmp(path, "/proc/self/fd") == 0 ? 1 : 0);  // the DIR's own fd
}

// Polls the published records until pred finds what it waits for (or 5 s pass).
bool waitFor(VectorWriter& w, const std::function<bool(const std::vector<Rec>&)>& pred) {
  auto t0 = std::chrono::steady_clock::now();
  while (msSince(t0) < 5000) {
    if (pred(decodeAll(w.published()))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

const Rec* find(const std::vector<Rec>& rs, uint16_t type, uint32_t pid) {
  for (const Rec& r : rs) {
    if (r.type == type && r.pid == pid) return &r;
  }
  return nullptr;
}

pid_t spawnSh() {
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/sh", "/bin/sh", "-c", "/bin/true x y; exit 3", static_cast<char*>(nullptr));
    _exit(127);
  }
  return p;
}

// A child that runs `body`, then blocks until the parent closes `go`, then exits with `code`.
pid_t spawnHeld(int go_read, int go_write, const std::function<void()>& body, int code) {
  pid_t p = fork();
  if (p == 0) {
    close(go_write);
    body();
    char b;
    while (read(go_read, &b, 1) < 0) {
    }
    _exit(code);
  }
  return p;
}

void printHelpers() {
  // Inputs for the cross-check with src/procfs/parse.ts.
  const uint32_t ttys[] = {0, 0x8800, 0x8803, (136u << 8) | 0x10 | (0x3u << 12 << 8), 0x0401, 0x0440, 0x0441,
                           0x0500, 0x0a0b, 0x1234567};
  std::string o = "{\"type\":\"helpers\",\"tty\":[";
  for (size_t i = 0; i < sizeof ttys / sizeof ttys[0]; ++i) {
    if (i) o += ",";
    o += "[" + std::to_string(ttys[i]) + "," + js(ttyNameFromNr(ttys[i])) + "]";
  }
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string id2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  const std::string paths[] = {
      "/system.slice/docker-" + id + ".scope",
      "/kubepods/burstable/pod1/cri-containerd-" + id + ".scope/sub",
      "/docker/" + id,
      "/docker/" + id + "/docker/" + id2,
      "/machine.slice/libpod-conmon-" + id + ".scope",
      "/machine.slice/libpod-" + id + ".scope/container",
      "crio-" + id,
      "/x/crio-" + id + "x",
      "/x/docker-" + id.substr(0, 63) + ".scope",
      "/docker-" + id + ".scopeX",
      "/user.slice/user-0.slice/session-1.scope",
      "",
  };
  o += "],\"container\":[";
  bool first = true;
  for (const auto& p : paths) {
    if (!first) o += ",";
    first = false;
    o += "[" + js(p) + "," + js(containerIdFromCgroup(p)) + "]";
  }
  const std::string files[] = {"0::/user.slice/a\n", "12:cpu,cpuacct:/a:b\n0::/c\n", "5:memory:/m/x:y\n4:cpu:/z\n",
                               "", "garbage\n"};
  o += "],\"cgroupFile\":[";
  first = true;
  for (const auto& f : files) {
    if (!first) o += ",";
    first = false;
    o += "[" + js(f) + "," + js(cgroupPathFromFile(f)) + "]";
  }
  // boundNulList(list, max, eof): [input, max, eof, output, truncated]
  struct B {
    std::string in;
    uint32_t max;
    bool eof;
  } bs[] = {{std::string("ab\0cd\0", 6), 16, true},   {std::string("ab cd", 5), 16, true},
            {std::string("ab\0cd\0e", 7), 6, false},  {std::string("abcdefgh", 8), 5, false},
            {std::string("ab\0cd\0", 6), 6, true},    {std::string("abcdef", 6), 6, true}};
  o += "],\"bound\":[";
  first = true;
  for (auto& b : bs) {
    std::string s = b.in;
    bool cut = boundNulList(&s, b.max, b.eof);
    if (!first) o += ",";
    first = false;
    o += "[" + js(b.in) + "," + std::to_string(b.max) + "," + (b.eof ? "true" : "false") + "," + js(s) + "," +
         (cut ? "true" : "false") + "]";
  }
  puts((o + "]}").c_str());
}

// The /proc reader on a fake proc root: every file a live process would have,
// a zombie, a missing pid, and a pid reused after the event.
void writeFile(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return;
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
}

std::string detailsJson(const char* name, const ProcDetails& d) {
  Rec r;
  memcpy(r.creds, d.creds, sizeof r.creds);
  r.creds_mask = d.creds_mask;
  std::string o = std::string("{\"case\":") + js(name) + ",\"exists\":" + (d.exists ? "true" : "false") +
                  ",\"gone\":" + (d.gone ? "true" : "false") + ",\"pidReused\":" + (d.pid_reused ? "true" : "false") +
                  ",\"kernelThread\":" + (d.kernel_thread ? "true" : "false") + ",\"ppid\":" + std::to_string(d.ppid) +
                  ",\"startNs\":" + std::to_string(d.start_ns) + ",\"inode\":" + std::to_string(d.inode) +
                  ",\"creds\":" + credsJson(r);
  if (d.have_path) o += ",\"path\":" + js(d.path);
  if (d.have_comm) o += ",\"comm\":" + js(d.comm);
  if (d.have_argv) o += ",\"argv\":" + js(d.argv) + ",\"argvTruncated\":" + (d.argv_truncated ? "true" : "false");
  if (d.have_envp) o += ",\"envp\":" + js(d.envp) + ",\"envpTruncated\":" + (d.envp_truncated ? "true" : "false");
  if (d.have_tty) o += ",\"tty\":" + js(d.tty);
  if (d.have_cgroup) o += ",\"cgroup\":" + js(d.cgroup) + ",\"containerId\":" + js(d.container_id);
  o += ",\"where\":{\"nsPid\":" + std::to_string(d.ns_pid) + ",\"pidnsInode\":" + std::to_string(d.pidns_inode) +
       ",\"cgroupId\":\"" + std::to_string(d.cgroup_id) + "\",\"mountId\":" + std::to_string(d.mount_id) +
       ",\"pathTruncated\":" + (d.path_truncated ? "true" : "false") + "}";
  return o + "}";
}

void printFakeProc() {
  char tmpl[] = "/tmp/forkline-fakeproc-XXXXXX";
  if (!mkdtemp(tmpl)) return;
  const std::string root = tmpl;
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  // pid 4242: a live process; starttime 500 ticks (5 s at 100 Hz); comm with ") " inside.
  const std::string p = root + "/4242";
  mkdir(p.c_str(), 0755);
  writeFile(p + "/stat", "4242 (a) b) S 77 4242 4242 34817 4242 4194560 1 2 3 4 5 6 7 8 20 0 1 0 500 1000 50\n");
  writeFile(p + "/comm", "a-very-long-comm-name\n");
  writeFile(p + "/cmdline", std::string("prog\0--flag\0", 12) + std::string(100, 'x') + std::string(1, '\0'));
  writeFile(p + "/environ", std::string("A=1\0B=2\0", 8));
  writeFile(p + "/status", "Name:\ta\nUid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\n"
                           "NSpid:\t4242\t7\nCapPrm:\t00000000a80425fb\nCapEff:\t0000000000000400\n");
  writeFile(p + "/loginuid", "1000");
  writeFile(p + "/cgroup", "1:name=systemd:/x\n0::/system.slice/docker-" + id + ".scope\n");
  if (symlink("/opt/app/bin (deleted)", (p + "/exe").c_str()) != 0) return;
  mkdir((p + "/ns").c_str(), 0755);
  if (symlink("pid:[4026532777]", (p + "/ns/pid").c_str()) != 0) return;
  // a cgroup2 mount (hybrid layout: in "unified") with the process's cgroup directory
  const std::string cg = root + "/cgroupfs";
  const std::string cg2 = cg + "/unified";
  const std::string dirOf = cg2 + "/system.slice/docker-" + id + ".scope";
  mkdir(cg.c_str(), 0755);
  mkdir(cg2.c_str(), 0755);
  mkdir((cg2 + "/system.slice").c_str(), 0755);
  mkdir(dirOf.c_str(), 0755);
  writeFile(cg2 + "/cgroup.controllers", "cpu memory\n");
  struct stat cgst;
  if (stat(dirOf.c_str(), &cgst) != 0) return;
  // pid 4343: a zombie; pid 4444: a kernel thread (ppid 2).
  const std::string z = root + "/4343";
  mkdir(z.c_str(), 0755);
  writeFile(z + "/stat", "4343 (dead) Z 1 4343 4343 0 -1 4194316 0 0 0 0 0 0 0 0 20 0 1 0 400 0 0\n");
  writeFile(z + "/comm", "dead\n");
  writeFile(z + "/status", "Uid:\t5\t5\t5\t5\nGid:\t6\t6\t6\t6\n");
  const std::string k = root + "/4444";
  mkdir(k.c_str(), 0755);
  writeFile(k + "/stat", "4444 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n");
  writeFile(k + "/comm", "kworker/0:1\n");

  ProcfsReader reader(root, 32, true, cg);
  ProcDetails d;
  std::string o = "{\"type\":\"reader\",\"cgroupInode\":\"" + std::to_string(cgst.st_ino) + "\",\"cases\":[";
  reader.read(4242, ProcfsReader::READ_IMAGE, 6000000000ull, &d);
  o += detailsJson("live", d);
  reader.read(4242, ProcfsReader::READ_IMAGE, 4000000000ull, &d);
  o += "," + detailsJson("reused", d);
  reader.read(4242, ProcfsReader::READ_CREDS, 0, &d);
  o += "," + detailsJson("creds", d);
  reader.read(4343, ProcfsReader::READ_IMAGE, 0, &d);
  o += "," + detailsJson("zombie", d);
  reader.read(4444, ProcfsReader::READ_IMAGE, 0, &d);
  o += "," + detailsJson("kthread", d);
  reader.read(4545, ProcfsReader::READ_IMAGE, 0, &d);
  o += "," + detailsJson("missing", d);
  puts((o + "]}").c_str());
  std::string rm = "rm -rf '" + root + "'";
  if (system(rm.c_str()) != 0) fprintf(stderr, "could not remove %s\n", root.c_str());
}

std::string countersJson(const char* type, const NetlinkCounters& c) {
  char b[1024];
  snprintf(b, sizeof b,
           "{\"type\":\"%s\",\"messages\":%llu,\"fork\":%llu,\"exec\":%llu,\"exit\":%llu,\"uid\":%llu,\"gid\":%llu,"
           "\"comm\":%llu,\"threads_skipped\":%llu,\"proc_gone\":%llu,\"lost\":%llu,\"overruns\":%llu,"
           "\"ring_full\":%llu}",
           type, (unsigned long long)c.messages, (unsigned long long)c.fork, (unsigned long long)c.exec,
           (unsigned long long)c.exit, (unsigned long long)c.uid, (unsigned long long)c.gid,
           (unsigned long long)c.comm, (unsigned long long)c.threads_skipped, (unsigned long long)c.proc_gone,
           (unsigned long long)c.lost, (unsigned long long)c.overruns, (unsigned long long)c.ring_full);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <raw-records-file>\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, nullptr, _IOFBF, 1 << 20);
  printHelpers();
  printFakeProc();

  NetlinkOptions opts;
  NetlinkError err;
  auto cap = NetlinkCapture::open(opts, &err);
  if (!cap) {
    printf("{\"type\":\"error\",\"code\":%s,\"message\":%s}\n", js(err.code).c_str(), js(err.message).c_str());
    return 0;
  }
  VectorWriter w;
  cap->start(&w);
  // start() again is a no-op.
  cap->start(&w);

  // -- A. /bin/sh -c '/bin/true x y; exit 3'. The child of sh may be gone
  // before /proc is read (a counted, documented race): retried until complete.
  const uint64_t boot_before = nowNs(CLOCK_BOOTTIME);
  pid_t sh = -1, tru = -1;
  int sh_status = -1, attempts = 0;
  for (attempts = 1; attempts <= 8; ++attempts) {
    sh = spawnSh();
    waitpid(sh, &sh_status, 0);
    bool done = waitFor(w, [&](const std::vector<Rec>& rs) { return find(rs, REC_EXIT, static_cast<uint32_t>(sh)); });
    if (!done) break;
    auto rs = decodeAll(w.published());
    tru = -1;
    for (const Rec& r : rs) {
      if (r.type == REC_FORK && r.ppid == sh) tru = static_cast<pid_t>(r.pid);
    }
    const Rec* es = find(rs, REC_EXEC, static_cast<uint32_t>(sh));
    const Rec* et = tru > 0 ? find(rs, REC_EXEC, static_cast<uint32_t>(tru)) : nullptr;
    const uint32_t full = GIVEN_PATH | GIVEN_ARGV | GIVEN_COMM | GIVEN_CTX;
    if (es && et && (es->given & full) == full && (et->given & full) == full) break;
  }
  waitFor(w, [&](const std::vector<Rec>& rs) { return tru > 0 && find(rs, REC_EXIT, static_cast<uint32_t>(tru)); });
  const uint64_t boot_after = nowNs(CLOCK_BOOTTIME);
  printf("{\"type\":\"tree\",\"self\":%d,\"sh\":%d,\"true\":%d,\"status\":%d,\"attempts\":%d,\"bootBefore\":\"%llu\","
         "\"bootAfter\":\"%llu\"}\n",
         getpid(), sh, tru, sh_status, attempts, (unsigned long long)boot_before, (unsigned long long)boot_after);

  // -- B. A child that drops to 65534:65534 (setgid, then setuid), held alive
  // until its CREDS records are out, so that /proc completes them.
  {
    int go[2];
    if (pipe(go) != 0) return 1;
    pid_t p = spawnHeld(go[0], go[1], [] {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
    }, 0);
    close(go[0]);
    bool seen = waitFor(w, [&](const std::vector<Rec>& rs) {
      int n = 0;
      for (const Rec& r : rs) n += (r.type == REC_CREDS && r.pid == static_cast<uint32_t>(p)) ? 1 : 0;
      return n >= 2;
    });
    close(go[1]);
    int st = -1;
    waitpid(p, &st, 0);
    waitFor(w, [&](const std::vector<Rec>& rs) { return find(rs, REC_EXIT, static_cast<uint32_t>(p)); });
    printf("{\"type\":\"setuid\",\"pid\":%d,\"status\":%d,\"seen\":%s}\n", p, st, seen ? "true" : "false");
  }

  // -- C. A child renamed with prctl(PR_SET_NAME), exit 5.
  {
    int go[2];
    if (pipe(go) != 0) return 1;
    pid_t p = spawnHeld(go[0], go[1], [] { prctl(PR_SET_NAME, "fl-renamed", 0, 0, 0); }, 5);
    close(go[0]);
    bool seen = waitFor(w, [&](const std::vector<Rec>& rs) { return find(rs, REC_RENAME, static_cast<uint32_t>(p)); });
    close(go[1]);
    int st = -1;
    waitpid(p, &st, 0);
    waitFor(w, [&](const std::vector<Rec>& rs) { return find(rs, REC_EXIT, static_cast<uint32_t>(p)); });
    printf("{\"type\":\"rename\",\"pid\":%d,\"status\":%d,\"seen\":%s}\n", p, st, seen ? "true" : "false");
  }

  // -- D. Threads (named, so that they also change a comm): never forks, exits or renames.
  {
    std::vector<long> tids(4);
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
      ts.emplace_back([&tids, i] {
        tids[i] = syscall(SYS_gettid);
        pthread_setname_np(pthread_self(), "fl-thread");
      });
    }
    for (auto& t : ts) t.join();
    // A marker process after the threads: once its EXIT is out, the thread events were read.
    pid_t m = fork();
    if (m == 0) _exit(0);
    int st;
    waitpid(m, &st, 0);
    waitFor(w, [&](const std::vector<Rec>& rs) { return find(rs, REC_EXIT, static_cast<uint32_t>(m)); });
    std::string o = "{\"type\":\"threads\",\"marker\":" + std::to_string(m) + ",\"tids\":[";
    for (size_t i = 0; i < tids.size(); ++i) o += (i ? "," : "") + std::to_string(tids[i]);
    puts((o + "]}").c_str());
  }

  // -- Stop: prompt (woken by the eventfd), idempotent.
  const auto sw = std::chrono::steady_clock::now();
  cap->stop();
  const double stop_ms = msSince(sw);
  cap->stop();
  NetlinkCounters c = cap->counters();
  const uint64_t writes = w.writes(), publishes = w.publishes();
  std::vector<uint8_t> bytes = w.all();
  const size_t published = w.published().size();
  printf("{\"type\":\"stop\",\"ms\":%.3f,\"writes\":%llu,\"publishes\":%llu,\"bytes\":%zu,\"published\":%zu}\n",
         stop_ms, (unsigned long long)writes, (unsigned long long)publishes, bytes.size(), published);
  puts(countersJson("counters", c).c_str());
  cap.reset();

  FILE* f = fopen(argv[1], "wb");
  if (!f || fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || fclose(f) != 0) return 1;
  std::vector<Rec> rs = decodeAll(bytes);
  for (size_t i = 0; i < rs.size(); ++i) puts(recJson(rs[i], i).c_str());

  // -- 20 open/start/stop cycles: no fd or thread left behind, every stop prompt.
  {
    const int fds_before = countDir("/proc/self/fd");
    const int tasks_before = countDir("/proc/self/task");
    double max_stop = 0;
    int failures = 0;
    uint64_t records = 0;
    for (int i = 0; i < 20; ++i) {
      NetlinkError e;
      auto k = NetlinkCapture::open(opts, &e);
      if (!k) {
        ++failures;
        continue;
      }
      VectorWriter cw;
      if (i % 2 == 0) k->start(&cw);  // half of them never started: stop() and the destructor still clean up
      if (i % 4 == 0) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        int st;
        waitpid(p, &st, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      auto t0 = std::chrono::steady_clock::now();
      if (i % 3 != 0) k->stop();  // else left to the destructor
      k.reset();
      max_stop = std::max(max_stop, msSince(t0));
      records += cw.writes();
    }
    const int fds_after = countDir("/proc/self/fd");
    const int tasks_after = countDir("/proc/self/task");
    printf("{\"type\":\"cycles\",\"failures\":%d,\"fdsBefore\":%d,\"fdsAfter\":%d,\"tasksBefore\":%d,"
           "\"tasksAfter\":%d,\"maxStopMs\":%.3f,\"records\":%llu}\n",
           failures, fds_before, fds_after, tasks_before, tasks_after, max_stop, (unsigned long long)records);
  }
  fflush(stdout);
  return 0;
}
