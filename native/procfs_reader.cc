// native/procfs_reader.cc: see procfs_reader.h.
#include "procfs_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "record/record.h"  // src/record/record.h, generated (include path: src/)

namespace forkline {

namespace {

constexpr uint32_t PF_KTHREAD = 0x00200000;
constexpr int32_t KTHREADD_PID = 2;
constexpr char DELETED_SUFFIX[] = " (deleted)";
constexpr size_t DELETED_LEN = sizeof(DELETED_SUFFIX) - 1;

bool isGoneErrno(int e) { return e == ENOENT || e == ESRCH; }

// The kernel's struct statx (include/uapi/linux/stat.h): glibc's copy of it
// predates stx_mnt_id (Linux 5.8), which sits where glibc has padding.
struct KernelStatx {
  uint32_t stx_mask;
  uint32_t stx_blksize;
  uint64_t stx_attributes;
  uint32_t stx_nlink;
  uint32_t stx_uid;
  uint32_t stx_gid;
  uint16_t stx_mode;
  uint16_t pad1;
  uint64_t stx_ino;
  uint8_t between[0x90 - 0x28];  // size, blocks, attributes_mask, times, rdev, dev
  uint64_t stx_mnt_id;
  uint8_t rest[0x100 - 0x98];
};
static_assert(offsetof(KernelStatx, stx_ino) == 0x20, "statx stx_ino");
static_assert(offsetof(KernelStatx, stx_mnt_id) == 0x90, "statx stx_mnt_id");
static_assert(sizeof(KernelStatx) == 0x100, "struct statx");
constexpr unsigned kStatxIno = 0x100U;     // STATX_INO
constexpr unsigned kStatxMntId = 0x1000U;  // STATX_MNT_ID

// Reads a file of the /proc/<pid> directory into *out, at most `max` bytes.
// Returns 0, or the errno. *eof is set when the whole file was read.
int readFileAt(int dirfd, const char* name, std::string* out, size_t max, bool* eof = nullptr) {
  out->clear();
  if (eof) *eof = false;
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t chunk = 4096;
  for (;;) {
    if (out->size() >= max) break;
    size_t want = std::min(chunk, max - out->size());
    size_t at = out->size();
    out->resize(at + want);
    ssize_t n = ::read(fd, &(*out)[at], want);
    if (n < 0) {
      int e = errno;
      out->resize(at);
      if (e == EINTR) continue;
      ::close(fd);
      return e;
    }
    out->resize(at + static_cast<size_t>(n));
    if (n == 0) {
      if (eof) *eof = true;
      break;
    }
  }
  ::close(fd);
  return 0;
}

// Parses a decimal number at *p (optionally negative), advancing *p.
bool parseInt(const char** p, const char* end, int64_t* v) {
  const char* s = *p;
  bool neg = false;
  if (s < end && *s == '-') {
    neg = true;
    ++s;
  }
  if (s >= end || *s < '0' || *s > '9') return false;
  int64_t x = 0;
  while (s < end && *s >= '0' && *s <= '9') {
    x = x * 10 + (*s - '0');
    ++s;
  }
  *v = neg ? -x : x;
  *p = s;
  return true;
}

bool parseHex64(const char* s, const char* end, uint64_t* v) {
  uint64_t x = 0;
  int digits = 0;
  for (; s < end; ++s) {
    char c = *s;
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    x = (x << 4) | static_cast<uint64_t>(d);
    ++digits;
  }
  if (digits == 0 || digits > 16) return false;
  *v = x;
  return true;
}

struct StatFields {
  std::string comm;
  char state = 0;
  int32_t ppid = -1;
  uint32_t tty_nr = 0;
  uint32_t flags = 0;
  uint64_t start_ticks = 0;  // field 22: clock ticks since boot (CLOCK_BOOTTIME)
};

// The comm (field 2) is in parentheses and may hold spaces and ')': the
// numeric fields are those after the LAST ')'.
bool parseStat(const std::string& text, StatFields* f) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  f->comm.assign(text, open + 1, close - open - 1);
  const char* p = text.data() + close + 1;
  const char* end = text.data() + text.size();
  // " S ppid pgrp session tty_nr tpgid flags"
  if (p + 2 >= end || p[0] != ' ') return false;
  f->state = p[1];
  p += 2;
  int64_t v[6];  // ppid pgrp session tty_nr tpgid flags
  for (int i = 0; i < 6; ++i) {
    if (p >= end || *p != ' ') return false;
    ++p;
    if (!parseInt(&p, end, &v[i])) return false;
  }
  f->ppid = static_cast<int32_t>(v[0]);
  f->tty_nr = static_cast<uint32_t>(v[3]);
  f->flags = static_cast<uint32_t>(v[5]);
  // Fields 10..21, then 22 = starttime.
  int64_t x = 0;
  for (int field = 10; field <= 22; ++field) {
    if (p >= end || *p != ' ') return false;
    ++p;
    if (!parseInt(&p, end, &x)) return false;
  }
  f->start_ticks = static_cast<uint64_t>(x);
  return true;
}

// "Uid:\treal\teffective\tsaved\tfs" (same for Gid).
bool parseIdLine(const char* p, const char* end, uint32_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    int64_t v;
    if (!parseInt(&p, end, &v) || v < 0 || v > 0xffffffffLL) return false;
    out[i] = static_cast<uint32_t>(v);
  }
  return true;
}

void setCap(uint32_t* creds, uint32_t word, uint64_t v) {
  creds[word] = static_cast<uint32_t>(v);
  creds[word + 1] = static_cast<uint32_t>(v >> 32);
}

void parseStatus(const std::string& text, ProcDetails* d) {
  using namespace record;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* eol = nl ? nl : end;
    const char* colon = static_cast<const char*>(memchr(p, ':', static_cast<size_t>(eol - p)));
    if (colon) {
      size_t klen = static_cast<size_t>(colon - p);
      const char* v = colon + 1;
      uint32_t ids[4];
      if (klen == 3 && memcmp(p, "Uid", 3) == 0) {
        if (parseIdLine(v, eol, ids)) {
          d->creds[CRED_WORD_UID] = ids[0];
          d->creds[CRED_WORD_EUID] = ids[1];
          d->creds[CRED_WORD_FSUID] = ids[3];
          d->creds_mask |= CRED_UID | CRED_EUID | CRED_FSUID;
        }
      } else if (klen == 3 && memcmp(p, "Gid", 3) == 0) {
        if (parseIdLine(v, eol, ids)) {
          d->creds[CRED_WORD_GID] = ids[0];
          d->creds[CRED_WORD_EGID] = ids[1];
          d->creds[CRED_WORD_FSGID] = ids[3];
          d->creds_mask |= CRED_GID | CRED_EGID | CRED_FSGID;
        }
      } else if (klen == 5 && memcmp(p, "NSpid", 5) == 0) {
        // "NSpid:\t300\t5": the host's view first, the process's own namespace last
        int64_t last = 0, x;
        const char* q = v;
        for (;;) {
          while (q < eol && (*q == ' ' || *q == '\t')) ++q;
          if (!parseInt(&q, eol, &x)) break;
          last = x;
        }
        if (last > 0 && last <= 0xffffffffLL) d->ns_pid = static_cast<uint32_t>(last);
      } else if (klen == 6 && (memcmp(p, "CapEff", 6) == 0 || memcmp(p, "CapPrm", 6) == 0)) {
        while (v < eol && (*v == ' ' || *v == '\t')) ++v;
        uint64_t cap;
        if (parseHex64(v, eol, &cap)) {
          bool eff = p[3] == 'E';
          setCap(d->creds, eff ? CRED_WORD_CAP_EFFECTIVE : CRED_WORD_CAP_PERMITTED, cap);
          d->creds_mask |= eff ? CRED_CAP_EFFECTIVE : CRED_CAP_PERMITTED;
        }
      }
    }
    p = eol + 1;
  }
}

void readCreds(int dirfd, std::string* text, ProcDetails* d) {
  using namespace record;
  if (readFileAt(dirfd, "status", text, 16384) == 0) parseStatus(*text, d);
  if (readFileAt(dirfd, "loginuid", text, 64) == 0) {
    const char* p = text->data();
    int64_t v;
    if (parseInt(&p, text->data() + text->size(), &v) && v >= 0 && v <= 0xffffffffLL) {
      d->creds[CRED_WORD_AUID] = static_cast<uint32_t>(v);
      d->creds_mask |= CRED_AUID;
    }
  }
}

}  // namespace

void ProcDetails::clear() {
  exists = gone = pid_reused = kernel_thread = false;
  start_ns = 0;
  state = 0;
  ppid = -1;
  tty_nr = 0;
  have_path = have_comm = have_argv = have_envp = have_tty = have_cgroup = false;
  argv_truncated = envp_truncated = false;
  path.clear();
  path_truncated = false;
  inode = 0;
  mount_id = 0;
  ns_pid = 0;
  pidns_inode = 0;
  cgroup_id = 0;
  comm.clear();
  argv.clear();
  envp.clear();
  memset(creds, 0, sizeof creds);
  creds_mask = 0;
  tty.clear();
  cgroup.clear();
  container_id.clear();
}

ProcfsReader::ProcfsReader(std::string proc_root, uint32_t argv_max, bool envs, std::string cgroup_root)
    : root_(std::move(proc_root)),
      argv_max_(argv_max > record::MAX_ARGV_BYTES ? record::MAX_ARGV_BYTES : argv_max),
      envs_(envs) {
  long tck = ::sysconf(_SC_CLK_TCK);
  ns_per_tick_ = tck > 0 ? 1000000000ull / static_cast<uint64_t>(tck) : 10000000ull;
  if (cgroup_root.empty()) cgroup_root = root_ == "/proc" ? "/sys/fs/cgroup" : root_ + "/../sys/fs/cgroup";
  cgroup2_ = cgroup2MountOf(cgroup_root);
}

void ProcfsReader::read(int32_t pid, unsigned what, uint64_t started_by_ns, ProcDetails* d) {
  using namespace record;
  d->clear();
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/%d", root_.c_str(), pid);
  int dirfd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    d->gone = true;
    return;
  }

  StatFields st;
  int e = readFileAt(dirfd, "stat", &text_, 4096);
  if (e != 0 || !parseStat(text_, &st)) {
    // A stat that is gone, empty or torn only comes from a process being torn down.
    d->gone = true;
    ::close(dirfd);
    return;
  }
  d->start_ns = st.start_ticks * ns_per_tick_;
  if (started_by_ns != 0 && d->start_ns > started_by_ns) {
    // Started after the event it is read for: the pid was reused, this is another process.
    d->gone = d->pid_reused = true;
    ::close(dirfd);
    return;
  }
  d->exists = true;
  d->state = st.state;
  d->ppid = st.ppid;
  d->tty_nr = st.tty_nr;
  d->have_tty = true;
  d->tty = ttyNameFromNr(st.tty_nr);
  d->kernel_thread = (st.flags & PF_KTHREAD) != 0 || pid == KTHREADD_PID || st.ppid == KTHREADD_PID;
  // A zombie (or dead) task has no mm: no exe, an empty cmdline. Its details are lost.
  if (st.state == 'Z' || st.state == 'X' || st.state == 'x') d->gone = true;

  if (what & READ_CREDS) {
    readCreds(dirfd, &text_, d);
    ::close(dirfd);
    return;
  }

  // comm: the comm file, else stat's.
  if (readFileAt(dirfd, "comm", &d->comm, 64) == 0) {
    if (!d->comm.empty() && d->comm.back() == '\n') d->comm.pop_back();
  } else {
    d->comm = st.comm;
  }
  if (d->comm.size() > MAX_COMM_BYTES) d->comm.resize(MAX_COMM_BYTES);
  d->have_comm = true;

  if (d->kernel_thread) {
    // No image, no arguments: the cache rejects kernel threads anyway.
    ::close(dirfd);
    return;
  }

  if (!d->gone) {
    char link[MAX_PATH_BYTES + 64];
    ssize_t n = ::readlinkat(dirfd, "exe", link, sizeof link);
    if (n > 0) {
      size_t len = static_cast<size_t>(n);
      if (len >= DELETED_LEN && memcmp(link + len - DELETED_LEN, DELETED_SUFFIX, DELETED_LEN) == 0) len -= DELETED_LEN;
      if (len > MAX_PATH_BYTES || static_cast<size_t>(n) == sizeof link) {
        len = std::min<size_t>(len, MAX_PATH_BYTES);
        d->path_truncated = true;
      }
      d->path.assign(link, len);
      d->have_path = true;
      // Follows the magic link: works for a deleted executable too. One call for the inode and the mount id.
      KernelStatx sx;
      memset(&sx, 0, sizeof sx);
      if (::syscall(SYS_statx, dirfd, "exe", 0, kStatxIno | kStatxMntId, &sx) == 0) {
        if (sx.stx_mask & kStatxIno) d->inode = sx.stx_ino;
        if ((sx.stx_mask & kStatxMntId) && sx.stx_mnt_id <= 0xffffffffull) d->mount_id = static_cast<uint32_t>(sx.stx_mnt_id);
      } else {
        struct stat sb;
        if (::fstatat(dirfd, "exe", &sb, 0) == 0) d->inode = sb.st_ino;  // a kernel without statx
      }
    } else if (n < 0 && isGoneErrno(errno)) {
      d->gone = true;
    }
  }

  if (!d->gone && argv_max_ > 0) {
    bool eof = false;
    if (readFileAt(dirfd, "cmdline", &d->argv, argv_max_ + 1u, &eof) == 0) {
      // Empty: a zombie or a process on its way out; not known rather than "no arguments".
      if (!d->argv.empty()) {
        d->argv_truncated = boundNulList(&d->argv, argv_max_, eof);
        d->have_argv = true;
      }
    }
    if (envs_) {
      if (readFileAt(dirfd, "environ", &d->envp, argv_max_ + 1u, &eof) == 0) {
        // An empty environ is a real, empty environment.
        d->envp_truncated = boundNulList(&d->envp, argv_max_, eof);
        d->have_envp = true;
      }
    }
  }

  readCreds(dirfd, &text_, d);  // NSpid too

  char ns[64];
  ssize_t nn = ::readlinkat(dirfd, "ns/pid", ns, sizeof ns);
  if (nn > 0) d->pidns_inode = nsLinkInode(ns, static_cast<size_t>(nn));

  if (readFileAt(dirfd, "cgroup", &text_, 65536) == 0) {
    d->cgroup = cgroupPathFromFile(text_);
    d->container_id = containerIdFromCgroup(d->cgroup);
    d->have_cgroup = true;
    // the cgroup id: the inode of its cgroup v2 directory ("/.." leads out of our cgroup namespace)
    if (!cgroup2_.empty() && cgroupV2PathFromFile(text_, &scratch_) && !scratch_.empty() && scratch_[0] == '/' &&
        scratch_.find("/..") == std::string::npos) {
      scratch_.insert(0, cgroup2_);
      struct stat sb;
      if (::stat(scratch_.c_str(), &sb) == 0) d->cgroup_id = sb.st_ino;
    }
  }
  ::close(dirfd);
}

bool cgroupV2PathFromFile(const std::string& text, std::string* path) {
  size_t p = 0;
  while (p < text.size()) {
    size_t nl = text.find('\n', p);
    if (nl == std::string::npos) nl = text.size();
    if (text.compare(p, 3, "0::") == 0) {
      path->assign(text, p + 3, nl - p - 3);
      return true;
    }
    p = nl + 1;
  }
  return false;
}

std::string cgroup2MountOf(const std::string& root) {
  for (const std::string& dir : {root, root + "/unified"}) {
    if (::access((dir + "/cgroup.controllers").c_str(), F_OK) == 0) return dir;
  }
  return std::string();
}

uint32_t nsLinkInode(const char* link, size_t len) {
  // "pid:[N]"
  if (len < 3 || link[len - 1] != ']') return 0;
  const char* open = static_cast<const char*>(memchr(link, '[', len));
  if (!open) return 0;
  const char* p = open + 1;
  int64_t v;
  if (!parseInt(&p, link + len - 1, &v) || p != link + len - 1 || v <= 0 || v > 0xffffffffLL) return 0;
  return static_cast<uint32_t>(v);
}

std::string ttyNameFromNr(uint32_t tty_nr) {
  if (tty_nr == 0) return std::string();
  uint32_t major = (tty_nr >> 8) & 0xfff;
  uint32_t minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
  char buf[32];
  if (major >= 136 && major <= 143) {
    snprintf(buf, sizeof buf, "pts/%u", minor);
  } else if (major == 4) {
    if (minor < 64) snprintf(buf, sizeof buf, "tty%u", minor);
    else snprintf(buf, sizeof buf, "ttyS%u", minor - 64);
  } else if (major == 5 && minor == 0) {
    return "tty";
  } else {
    snprintf(buf, sizeof buf, "%u:%u", major, minor);
  }
  return buf;
}

std::string containerIdFromCgroup(const std::string& path) {
  // The rule of src/procfs/parse.ts: at the start or after a '/', one of the prefixes,
  // 64 lowercase hex digits, then ".scope", '/' or the end. The last match wins.
  static const char* const kPrefixes[] = {"docker-", "cri-containerd-", "crio-", "libpod-", "docker/"};
  std::string id;
  const size_t n = path.size();
  size_t i = 0;
  while (i < n) {
    if (i != 0 && path[i - 1] != '/') {
      ++i;
      continue;
    }
    size_t matched_end = 0;
    for (const char* pre : kPrefixes) {
      size_t plen = strlen(pre);
      if (path.compare(i, plen, pre) != 0) continue;
      size_t h = i + plen;
      if (h + 64 > n) continue;
      size_t k = 0;
      for (; k < 64; ++k) {
        char c = path[h + k];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) break;
      }
      if (k != 64) continue;
      size_t after = h + 64;
      if (after == n || path[after] == '/' || path.compare(after, 6, ".scope") == 0) {
        id.assign(path, h, 64);
        matched_end = after;
        break;
      }
    }
    // Matches do not overlap: continue after this one (its end is a '/' boundary or not).
    i = matched_end ? matched_end : i + 1;
  }
  return id;
}

std::string cgroupPathFromFile(const std::string& text) {
  std::string first;
  bool have_first = false;
  size_t p = 0;
  while (p < text.size()) {
    size_t nl = text.find('\n', p);
    if (nl == std::string::npos) nl = text.size();
    if (nl > p) {
      if (text.compare(p, 3, "0::") == 0) return text.substr(p + 3, nl - p - 3);
      // "id:controllers:path"; the path itself may contain ':'.
      size_t a = text.find(':', p);
      size_t b = (a == std::string::npos || a >= nl) ? std::string::npos : text.find(':', a + 1);
      if (!have_first && b != std::string::npos && b < nl) {
        first = text.substr(b + 1, nl - b - 1);
        have_first = true;
      }
    }
    p = nl + 1;
  }
  return first;
}

bool boundNulList(std::string* list, uint32_t max, bool eof) {
  if (list->empty()) return false;
  bool ends_nul = list->back() == '\0';
  if (eof && list->size() <= max && ends_nul) return false;
  if (eof && list->size() < max) {
    // A process that rewrote its argument area may leave no final NUL.
    list->push_back('\0');
    return false;
  }
  if (max == 0) {
    list->clear();
    return true;
  }
  // More than `max` bytes (or exactly max with no room for the NUL): cut,
  // mid-item when needed, and terminate the last item.
  if ((*list)[max - 1] == '\0') {
    list->resize(max);
  } else {
    list->resize(max - 1);
    list->push_back('\0');
  }
  return true;
}

}  // namespace forkline
