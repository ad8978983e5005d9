// native/netlink_capture.cc: see netlink_capture.h and docs/netlink.md.
//
// One capture thread: poll(socket, eventfd) -> recvmmsg a batch of connector
// messages -> per message: per-CPU sequence check (LOST record for a gap),
// /proc completion, one record -> RecordWriter::write; publish() once per batch.
#include "netlink_capture.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_seq.h"
#include "procfs_reader.h"
#include "record/record.h"  // src/record/record.h, generated (include path: src/)

namespace forkline {

namespace {

using namespace record;

// proc_event::what (an enum nested in the uapi struct).
constexpr uint32_t EV_NONE = 0x00000000;
constexpr uint32_t EV_FORK = 0x00000001;
constexpr uint32_t EV_EXEC = 0x00000002;
constexpr uint32_t EV_UID = 0x00000004;
constexpr uint32_t EV_GID = 0x00000040;
constexpr uint32_t EV_COMM = 0x00000200;
constexpr uint32_t EV_EXIT = 0x80000000u;

constexpr size_t kEventHead = offsetof(proc_event, event_data);
constexpr int kRcvBufBytes = 8 << 20;
constexpr unsigned kBatch = 64;       // datagrams per recvmmsg
constexpr size_t kSlotBytes = 1024;   // one connector message is ~80 bytes
constexpr int kAckTimeoutMs = 1000;
constexpr size_t kPendingMaxBytes = 4 << 20;
constexpr uint32_t kMaxCpus = 1u << 16;  // sanity bound on proc_event.cpu
constexpr int64_t kOffsetJumpNs = 1000000;  // re-base BOOTTIME-MONOTONIC only when it moved (a suspend)
// Inodes of the initial namespaces (PROC_*_INIT_INO in the kernel).
constexpr unsigned long long kInitPidNs = 0xEFFFFFFCull;
constexpr unsigned long long kInitUserNs = 0xEFFFFFFDull;

std::string errnoText(int e) {
  const char* name = strerrorname_np(e);
  const char* desc = strerrordesc_np(e);
  std::string s = name ? name : "errno " + std::to_string(e);
  if (desc) {
    s += " (";
    s += desc;
    s += ")";
  }
  return s;
}

void setError(NetlinkError* err, const char* code, std::string message) {
  if (!err) return;
  err->code = code;
  err->message = std::move(message);
}

// "pid:[4026531836]" of <proc_root>/self/ns/<name>; 0 when unreadable.
unsigned long long nsInode(const std::string& proc_root, const char* name, std::string* link_text) {
  std::string path = proc_root + "/self/ns/" + name;
  char buf[128];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  if (link_text) *link_text = buf;
  const char* open = strchr(buf, '[');
  return open ? strtoull(open + 1, nullptr, 10) : 0;
}

int64_t nsOf(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// BOOTTIME - MONOTONIC now (the time asleep in suspend).
int64_t measureBootOffset() {
  timespec m1, b, m2;
  clock_gettime(CLOCK_MONOTONIC, &m1);
  clock_gettime(CLOCK_BOOTTIME, &b);
  clock_gettime(CLOCK_MONOTONIC, &m2);
  return nsOf(b) - (nsOf(m1) + (nsOf(m2) - nsOf(m1)) / 2);
}

template <class T>
void put(uint8_t* rec, uint32_t off, T v) {
  memcpy(rec + off, &v, sizeof v);
}

struct Var {
  const void* data = nullptr;
  uint32_t len = 0;
};

struct Head {
  uint32_t cpu = 0;
  uint64_t time = 0;
  uint64_t cpu_seq = 0;
};

// The namespace fields of a FORK/EXEC (0 = unknown).
struct Where {
  uint32_t mount_id = 0;
  uint32_t ns_pid = 0;
  uint32_t pidns_inode = 0;
  uint64_t cgroup_id = 0;
};

// Encodes records per docs/record-format.md into one reused buffer of
// MAX_RECORD_SIZE bytes: exact sizes, zero padding, lens tables.
class RecordEncoder {
 public:
  RecordEncoder() : buf_(MAX_RECORD_SIZE) {}
  const uint8_t* data() const { return buf_.data(); }

  // FORK or EXEC. `ppid` is the u32 (FORK) or i32 (EXEC) word; `inode2` is
  // execTime (FORK) or prevInode (EXEC). A var whose given bit is clear must be empty.
  uint32_t image(uint16_t type, uint16_t flags, const Head& h, uint32_t pid, uint32_t ppid, uint64_t inode,
                 uint64_t inode2, const uint32_t creds[CRED_WORD_COUNT], uint16_t creds_mask, uint16_t given,
                 const Where& where, const Var vars[VAR_COUNT]) {
    static constexpr uint32_t kMax[VAR_COUNT] = {MAX_PATH_BYTES, MAX_COMM_BYTES, MAX_ARGV_BYTES,
                                                 MAX_ENVP_BYTES, MAX_CTX_BYTES, MAX_INTERP_BYTES};
    uint32_t end = FORK_VAR;
    for (uint32_t i = 0; i < VAR_COUNT; ++i) {
      // Bounds are kept by the callers; a field over its bound would make the record malformed.
      if (vars[i].len > kMax[i]) return 0;
      end += vars[i].len;
    }
    const uint32_t size = align8(end);
    uint8_t* r = buf_.data();
    memset(r, 0, size);
    header(type, flags, size, h);
    put<uint32_t>(r, FORK_PID, pid);
    put<uint32_t>(r, FORK_PPID, ppid);
    put<uint64_t>(r, FORK_INODE, inode);
    put<uint64_t>(r, FORK_EXEC_TIME, inode2);
    for (uint32_t w = 0; w < CRED_WORD_COUNT; ++w) {
      put<uint32_t>(r, FORK_CREDS + 4 * w, (creds_mask & credBitOfWord(w)) ? creds[w] : 0);
    }
    put<uint16_t>(r, FORK_CREDS_MASK, creds_mask);
    put<uint16_t>(r, FORK_GIVEN, given);
    put<uint32_t>(r, FORK_MOUNT_ID, where.mount_id);
    put<uint32_t>(r, FORK_NS_PID, where.ns_pid);
    put<uint32_t>(r, FORK_PIDNS_INODE, where.pidns_inode);
    put<uint32_t>(r, FORK_RESERVED, 0);
    put<uint64_t>(r, FORK_CGROUP_ID, where.cgroup_id);
    uint32_t at = FORK_VAR;
    for (uint32_t i = 0; i < VAR_COUNT; ++i) {
      put<uint16_t>(r, FORK_LENS + 2 * i, static_cast<uint16_t>(vars[i].len));
      if (vars[i].len) memcpy(r + at, vars[i].data, vars[i].len);
      at += vars[i].len;
    }
    return size;
  }

  uint32_t exit(const Head& h, uint32_t pid, uint32_t code) {
    uint8_t* r = fixed(REC_EXIT, EXIT_SIZE, h);
    put<uint32_t>(r, EXIT_PID, pid);
    put<uint32_t>(r, EXIT_EXIT_CODE, code);
    return EXIT_SIZE;
  }

  uint32_t creds(const Head& h, uint32_t pid, uint32_t mask, const uint32_t creds[CRED_WORD_COUNT]) {
    uint8_t* r = fixed(REC_CREDS, CREDS_SIZE, h);
    put<uint32_t>(r, CREDS_PID, pid);
    put<uint32_t>(r, CREDS_CREDS_MASK, mask);
    for (uint32_t w = 0; w < CRED_WORD_COUNT; ++w) {
      put<uint32_t>(r, CREDS_CREDS + 4 * w, (mask & credBitOfWord(w)) ? creds[w] : 0);
    }
    return CREDS_SIZE;
  }

  uint32_t rename(const Head& h, uint32_t pid, const char* comm, uint32_t len) {
    if (len > MAX_COMM_BYTES) len = MAX_COMM_BYTES;
    const uint32_t size = align8(RENAME_VAR + len);
    uint8_t* r = fixed(REC_RENAME, size, h);
    put<uint32_t>(r, RENAME_PID, pid);
    put<uint16_t>(r, RENAME_LENS, static_cast<uint16_t>(len));
    memcpy(r + RENAME_VAR, comm, len);
    return size;
  }

  uint32_t lost(const Head& h, uint32_t count) {
    uint8_t* r = fixed(REC_LOST, LOST_SIZE, h);
    put<uint32_t>(r, LOST_COUNT, count);
    return LOST_SIZE;
  }

 private:
  // The CRED_* bit of a credential word (the capability masks take two words).
  static uint32_t credBitOfWord(uint32_t w) {
    switch (w) {
      case CRED_WORD_UID: return CRED_UID;
      case CRED_WORD_GID: return CRED_GID;
      case CRED_WORD_EUID: return CRED_EUID;
      case CRED_WORD_EGID: return CRED_EGID;
      case CRED_WORD_FSUID: return CRED_FSUID;
      case CRED_WORD_FSGID: return CRED_FSGID;
      case CRED_WORD_AUID: return CRED_AUID;
      case CRED_WORD_CAP_EFFECTIVE:
      case CRED_WORD_CAP_EFFECTIVE + 1: return CRED_CAP_EFFECTIVE;
      default: return CRED_CAP_PERMITTED;
    }
  }

  void header(uint16_t type, uint16_t flags, uint32_t size, const Head& h) {
    RecordHeader hdr{};
    hdr.type = type;
    hdr.flags = flags;
    hdr.size = size;
    hdr.cpu = h.cpu;
    hdr.pidns = 0;  // host pids: the connector reports pids of the initial pid namespace
    hdr.time = h.time;
    hdr.cpuSeq = h.cpu_seq;
    hdr.gseq = 0;
    memcpy(buf_.data(), &hdr, sizeof hdr);
  }

  uint8_t* fixed(uint16_t type, uint32_t size, const Head& h) {
    memset(buf_.data(), 0, size);
    header(type, 0, size, h);
    return buf_.data();
  }

  std::vector<uint8_t> buf_;
};

// Calls f(cn_msg, proc_event, event bytes) for each proc connector message of
// a datagram. The event is copied into a zeroed proc_event, so fields past
// what an older kernel sends read as 0.
template <class F>
void forEachProcEvent(const uint8_t* data, size_t len, F&& f) {
  size_t off = 0;
  while (len - off >= NLMSG_HDRLEN) {
    nlmsghdr nl;
    memcpy(&nl, data + off, sizeof nl);
    if (nl.nlmsg_len < NLMSG_HDRLEN || nl.nlmsg_len > len - off) return;
    if (nl.nlmsg_type != NLMSG_NOOP && nl.nlmsg_type != NLMSG_ERROR && nl.nlmsg_type != NLMSG_OVERRUN) {
      const uint8_t* p = data + off + NLMSG_HDRLEN;
      size_t plen = nl.nlmsg_len - NLMSG_HDRLEN;
      if (plen >= sizeof(cn_msg)) {
        cn_msg cn;
        memcpy(&cn, p, sizeof cn);
        if (cn.id.idx == CN_IDX_PROC && cn.id.val == CN_VAL_PROC && cn.len <= plen - sizeof cn &&
            cn.len >= kEventHead) {
          proc_event ev;
          memset(&ev, 0, sizeof ev);
          memcpy(&ev, p + sizeof cn, std::min<size_t>(cn.len, sizeof ev));
          f(cn, ev, static_cast<size_t>(cn.len));
        }
      }
    }
    off += NLMSG_ALIGN(nl.nlmsg_len);
    if (off > len) return;
  }
}

void bump(std::atomic<uint64_t>& a, uint64_t n = 1) {
  // One writer (the capture thread; open() before it starts): no read-modify-write needed.
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

struct NetlinkCapture::Impl {
  explicit Impl(const NetlinkOptions& o)
      : opts(o),
        gaps(static_cast<uint32_t>(std::max(1, get_nprocs_conf()))),
        reader(o.proc_root, std::min(o.argv_max_bytes, MAX_ARGV_BYTES), o.capture_envs),
        rbuf(kBatch * kSlotBytes) {}

  ~Impl() { closeFds(); }

  // ---- lifecycle (open/start/stop, under life_mu)
  NetlinkOptions opts;
  int sock = -1;
  int efd = -1;
  uint32_t portid = 0;
  uint32_t next_seq = 1;
  bool listening = false;
  std::mutex life_mu;
  std::thread thread;
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stop_requested{false};
  RecordWriter* out = nullptr;

  struct Counters {
    std::atomic<uint64_t> messages{0}, fork{0}, exec{0}, exit{0}, uid{0}, gid{0}, comm{0}, threads_skipped{0},
        proc_gone{0}, lost{0}, overruns{0}, ring_full{0};
  } c;

  // ---- capture thread state
  struct SeqState {
    bool seen = false;
    uint32_t last32 = 0;
    uint64_t high = 0;  // wraps of the kernel's u32 counter, << 32
  };
  CpuSeqGaps gaps;
  std::vector<SeqState> seq_state;
  ProcfsReader reader;
  ProcDetails details;
  RecordEncoder enc;
  std::string ctx;
  int64_t boot_offset = 0;
  bool wrote = false;
  std::vector<std::vector<uint8_t>> pending;  // datagrams read in open() while waiting for the ack
  size_t pending_bytes = 0;
  std::vector<uint8_t> rbuf;
  mmsghdr mm[kBatch];
  iovec iov[kBatch];
  sockaddr_nl from[kBatch];

  void closeFds() {
    if (sock >= 0) ::close(sock);
    if (efd >= 0) ::close(efd);
    sock = efd = -1;
  }

  int sendOp(uint32_t op, uint32_t ack) {
    alignas(NLMSG_ALIGNTO) uint8_t buf[NLMSG_SPACE(sizeof(cn_msg) + sizeof(uint32_t))] = {};
    nlmsghdr nl{};
    nl.nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(uint32_t));
    nl.nlmsg_type = NLMSG_DONE;
    nl.nlmsg_seq = next_seq;
    nl.nlmsg_pid = portid;
    cn_msg cn;
    memset(&cn, 0, sizeof cn);
    cn.id.idx = CN_IDX_PROC;
    cn.id.val = CN_VAL_PROC;
    cn.seq = next_seq++;
    cn.ack = ack;
    cn.len = sizeof(uint32_t);
    memcpy(buf, &nl, sizeof nl);
    memcpy(buf + NLMSG_HDRLEN, &cn, sizeof cn);
    memcpy(buf + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
    sockaddr_nl dst{};
    dst.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
    for (;;) {
      ssize_t n = ::sendto(sock, buf, nl.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
      if (n >= 0) return 0;
      if (errno != EINTR) return errno;
    }
  }

  // Waits for the kernel's ack of our LISTEN (a PROC_EVENT_NONE whose cn_msg
  // ack is ours + 1; the kernel multicasts it, so other listeners' acks go by
  // too). Everything read meanwhile is kept for the capture thread. Returns
  // 0 (ok), the errno the kernel acked, or -1 (no ack: silently ignored).
  int waitAck(uint32_t ack) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAckTimeoutMs);
    std::vector<uint8_t> buf(kSlotBytes * 8);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return -1;
      pollfd p{sock, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) return -1;
      if (r <= 0) continue;
      sockaddr_nl src{};
      socklen_t slen = sizeof src;
      ssize_t n = ::recvfrom(sock, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&src), &slen);
      if (n < 0) {
        if (errno == ENOBUFS) bump(c.overruns);
        continue;
      }
      if (src.nl_pid != 0) continue;
      int result = -2;
      forEachProcEvent(buf.data(), static_cast<size_t>(n), [&](const cn_msg& cn, const proc_event& ev, size_t) {
        if (static_cast<uint32_t>(ev.what) == EV_NONE && cn.ack == ack + 1) result = static_cast<int>(ev.event_data.ack.err);
      });
      // Kept whole, the ack included: it took a per-CPU sequence number too.
      if (pending_bytes + static_cast<size_t>(n) <= kPendingMaxBytes) {
        pending.emplace_back(buf.begin(), buf.begin() + n);
        pending_bytes += static_cast<size_t>(n);
      } else {
        bump(c.overruns);  // its loss shows up as a sequence gap
      }
      if (result != -2) return result;
    }
  }

  bool openSocket(NetlinkError* err) {
    sock = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (sock < 0) {
      int e = errno;
      if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT) {
        setError(err, "ERR_NETLINK_UNSUPPORTED",
                 "socket(AF_NETLINK, NETLINK_CONNECTOR) failed with " + errnoText(e) +
                     ": this kernel has no netlink connector (CONFIG_CONNECTOR, CONFIG_PROC_EVENTS)");
      } else if (e == EPERM || e == EACCES) {
        setError(err, "ERR_NETLINK_PRIVILEGE",
                 "socket(AF_NETLINK, NETLINK_CONNECTOR) failed with " + errnoText(e) +
                     ": the proc connector needs root or CAP_NET_ADMIN");
      } else {
        setError(err, "ERR_NETLINK_SOCKET", "socket(AF_NETLINK, NETLINK_CONNECTOR) failed with " + errnoText(e));
      }
      return false;
    }
    // A large buffer absorbs bursts while the thread reads /proc; SO_RCVBUFFORCE
    // goes past net.core.rmem_max but needs CAP_NET_ADMIN.
    int rcv = kRcvBufBytes;
    if (::setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0) {
      (void)::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = CN_IDX_PROC;
    if (::bind(sock, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int e = errno;
      if (e == EPERM || e == EACCES) {
        setError(err, "ERR_NETLINK_PRIVILEGE",
                 "joining the proc connector's multicast group (bind to CN_IDX_PROC) failed with " + errnoText(e) +
                     ": it needs root or CAP_NET_ADMIN (run as root, or grant CAP_NET_ADMIN, e.g. "
                     "AmbientCapabilities=CAP_NET_ADMIN)");
      } else if (e == ENOENT || e == EPROTONOSUPPORT) {
        setError(err, "ERR_NETLINK_UNSUPPORTED",
                 "bind to the proc connector (CN_IDX_PROC) failed with " + errnoText(e) +
                     ": the netlink connector is not available in this kernel (CONFIG_CONNECTOR)");
      } else {
        setError(err, "ERR_NETLINK_SOCKET", "bind to the proc connector (CN_IDX_PROC) failed with " + errnoText(e));
      }
      return false;
    }
    sockaddr_nl me{};
    socklen_t mlen = sizeof me;
    if (::getsockname(sock, reinterpret_cast<sockaddr*>(&me), &mlen) == 0) portid = me.nl_pid;
    efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
      setError(err, "ERR_NETLINK_SOCKET", "eventfd failed with " + errnoText(errno));
      return false;
    }

    // An ack cookie other listeners are unlikely to use.
    const uint32_t ack = static_cast<uint32_t>(::getpid()) * 2654435761u ^
                         static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    int e = sendOp(PROC_CN_MCAST_LISTEN, ack);
    if (e != 0) {
      if (e == ECONNREFUSED) {
        std::string link;
        nsInode(opts.proc_root, "net", &link);
        setError(err, "ERR_NETLINK_UNSUPPORTED",
                 "sending PROC_CN_MCAST_LISTEN failed with " + errnoText(e) +
                     ": the proc connector exists only in the initial network namespace, and this process is in "
                     "another one" + (link.empty() ? std::string() : " (" + link + ")") +
                     "; run forkline in the host network namespace");
      } else if (e == EPERM || e == EACCES) {
        setError(err, "ERR_NETLINK_PRIVILEGE",
                 "sending PROC_CN_MCAST_LISTEN failed with " + errnoText(e) + ": it needs root or CAP_NET_ADMIN");
      } else {
        setError(err, "ERR_NETLINK_SOCKET", "sending PROC_CN_MCAST_LISTEN failed with " + errnoText(e));
      }
      return false;
    }
    listening = true;
    int acked = waitAck(ack);
    if (acked == 0) return true;
    if (acked > 0) {
      if (acked == EPERM || acked == EACCES) {
        setError(err, "ERR_NETLINK_PRIVILEGE",
                 "the kernel refused PROC_CN_MCAST_LISTEN with " + errnoText(acked) +
                     ": it needs CAP_NET_ADMIN in the initial user namespace (run as root on the host)");
      } else {
        setError(err, "ERR_NETLINK_SOCKET", "the kernel refused PROC_CN_MCAST_LISTEN with " + errnoText(acked));
      }
      return false;
    }
    // No ack: the kernel ignores requests from other pid/user namespaces, and
    // a kernel without CONFIG_PROC_EVENTS has nobody to answer.
    std::string link;
    unsigned long long pidns = nsInode(opts.proc_root, "pid", &link);
    if (pidns != 0 && pidns != kInitPidNs) {
      setError(err, "ERR_NETLINK_UNSUPPORTED",
               "the kernel did not answer PROC_CN_MCAST_LISTEN: it ignores requests from outside the initial pid "
               "namespace, and this process is in " + link + "; run forkline in the host pid namespace");
      return false;
    }
    unsigned long long userns = nsInode(opts.proc_root, "user", &link);
    if (userns != 0 && userns != kInitUserNs) {
      setError(err, "ERR_NETLINK_UNSUPPORTED",
               "the kernel did not answer PROC_CN_MCAST_LISTEN: it ignores requests from outside the initial user "
               "namespace, and this process is in " + link + "; run forkline in the host user namespace");
      return false;
    }
    setError(err, "ERR_NETLINK_UNSUPPORTED",
             "the kernel did not answer PROC_CN_MCAST_LISTEN within " + std::to_string(kAckTimeoutMs) +
                 " ms: it was probably built without CONFIG_PROC_EVENTS (process events connector)");
    return false;
  }

  // ---- capture thread

  void run() {
    boot_offset = measureBootOffset();
    for (auto& d : pending) handleDatagram(d.data(), d.size());
    pending.clear();
    pending.shrink_to_fit();
    flushBatch();
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i].iov_base = rbuf.data() + i * kSlotBytes;
      iov[i].iov_len = kSlotBytes;
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
      mm[i].msg_hdr.msg_name = &from[i];
    }
    pollfd fds[2] = {{sock, POLLIN, 0}, {efd, POLLIN, 0}};
    while (!stop_requested.load(std::memory_order_acquire)) {
      int r = ::poll(fds, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;  // EFAULT/EINVAL/ENOMEM: nothing sensible left to do
      }
      if (fds[1].revents) break;
      if (fds[0].revents & (POLLIN | POLLERR)) drain();
      if (fds[0].revents & POLLNVAL) break;
    }
  }

  void drain() {
    // Bounded, so that a stop request is seen even under a storm.
    for (int round = 0; round < 64 && !stop_requested.load(std::memory_order_relaxed); ++round) {
      for (unsigned i = 0; i < kBatch; ++i) {
        mm[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
        mm[i].msg_hdr.msg_flags = 0;
        mm[i].msg_len = 0;
      }
      int n = ::recvmmsg(sock, mm, kBatch, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          // The socket buffer overflowed: messages were dropped; the per-CPU
          // sequence gaps count them (LOST records). Keep reading.
          bump(c.overruns);
          continue;
        }
        return;  // EAGAIN: drained
      }
      int64_t off = measureBootOffset();
      if (off - boot_offset > kOffsetJumpNs || boot_offset - off > kOffsetJumpNs) boot_offset = off;
      for (int i = 0; i < n; ++i) {
        if (from[i].nl_pid != 0) continue;  // only the kernel speaks for the connector
        handleDatagram(rbuf.data() + static_cast<size_t>(i) * kSlotBytes, mm[i].msg_len);
      }
      flushBatch();
      if (static_cast<unsigned>(n) < kBatch) return;
    }
  }

  void flushBatch() {
    if (wrote) out->publish();
    wrote = false;
  }

  void emit(uint32_t size) {
    if (size == 0) return;
    if (!out->write(enc.data(), size)) bump(c.ring_full);
    wrote = true;
  }

  void handleDatagram(const uint8_t* data, size_t len) {
    forEachProcEvent(data, len, [this](const cn_msg& cn, const proc_event& ev, size_t evlen) {
      onEvent(cn, ev, evlen);
    });
  }

  // The latest start time /proc/<pid> may show for the process of an event
  // (stat's starttime is cut down to clock ticks; 1 ms of slack for the clock
  // offset): a later one is a reused pid.
  static uint64_t startedBy(const Head& h) { return h.time + 1000000; }

  // The kernel's u32 per-CPU counter, widened to 64 bits across wraps.
  uint64_t widenSeq(uint32_t cpu, uint32_t seq32, bool* first) {
    if (cpu >= seq_state.size()) seq_state.resize(cpu + 1);
    SeqState& s = seq_state[cpu];
    *first = !s.seen;
    if (s.seen && seq32 < s.last32 && s.last32 - seq32 > 0x80000000u) s.high += 1ull << 32;
    s.seen = true;
    s.last32 = seq32;
    return s.high | seq32;
  }

  void onEvent(const cn_msg& cn, const proc_event& ev, size_t evlen) {
    bump(c.messages);
    Head h;
    h.time = ev.timestamp_ns + static_cast<uint64_t>(boot_offset);
    if (ev.cpu < kMaxCpus) {
      h.cpu = ev.cpu;
      bool first;
      // The connector counts from 0 per CPU; records count from 1.
      h.cpu_seq = widenSeq(ev.cpu, cn.seq, &first) + 1;
      uint64_t gap = gaps.check(ev.cpu, h.cpu_seq);
      // The first message of a CPU sets the base: the counter ran before we listened.
      if (gap > 0 && !first) {
        bump(c.lost, gap);
        while (gap > 0) {
          uint32_t n = gap > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(gap);
          Head lh{h.cpu, h.time, 0};
          emit(enc.lost(lh, n));
          gap -= n;
        }
      }
    } else {
      // An ack from an old kernel (cpu = -1, not counted per CPU).
      h.cpu = 0;
      h.cpu_seq = 0;
    }

    switch (static_cast<uint32_t>(ev.what)) {
      case EV_FORK: {
        if (evlen < kEventHead + sizeof(ev.event_data.fork)) return;
        const auto& f = ev.event_data.fork;
        if (f.child_pid != f.child_tgid) {
          bump(c.threads_skipped);
          return;
        }
        bump(c.fork);
        reader.read(f.child_tgid, ProcfsReader::READ_IMAGE, startedBy(h), &details);
        if (details.gone) bump(c.proc_gone);
        uint16_t flags = 0;
        if (details.kernel_thread || (!details.exists && (f.parent_tgid == 2 || f.child_tgid == 2))) {
          flags |= FLAG_KERNEL_THREAD;
        }
        emitImage(REC_FORK, flags, h, static_cast<uint32_t>(f.child_tgid), static_cast<uint32_t>(f.parent_tgid));
        return;
      }
      case EV_EXEC: {
        if (evlen < kEventHead + sizeof(ev.event_data.exec)) return;
        const int32_t pid = ev.event_data.exec.process_tgid;
        bump(c.exec);
        reader.read(pid, ProcfsReader::READ_IMAGE, startedBy(h), &details);
        if (details.gone) bump(c.proc_gone);
        const int32_t ppid = details.exists ? details.ppid : -1;
        emitImage(REC_EXEC, 0, h, static_cast<uint32_t>(pid), static_cast<uint32_t>(ppid));
        return;
      }
      case EV_EXIT: {
        if (evlen < kEventHead + 3 * sizeof(uint32_t)) return;
        const auto& x = ev.event_data.exit;
        if (x.process_pid != x.process_tgid) return;  // a thread's exit
        bump(c.exit);
        emit(enc.exit(h, static_cast<uint32_t>(x.process_tgid), x.exit_code));
        return;
      }
      case EV_UID:
      case EV_GID: {
        if (evlen < kEventHead + sizeof(ev.event_data.id)) return;
        const auto& id = ev.event_data.id;
        // Credentials are per thread; glibc changes every thread's, the leader's stands for the process.
        if (id.process_pid != id.process_tgid) return;
        const bool is_uid = static_cast<uint32_t>(ev.what) == EV_UID;
        bump(is_uid ? c.uid : c.gid);
        reader.read(id.process_tgid, ProcfsReader::READ_CREDS, startedBy(h), &details);
        if (details.gone) bump(c.proc_gone);
        uint32_t creds[CRED_WORD_COUNT];
        memcpy(creds, details.creds, sizeof creds);
        uint32_t mask = details.creds_mask;
        // The event's own values are those of the change itself: they win over /proc, read later.
        if (is_uid) {
          creds[CRED_WORD_UID] = id.r.ruid;
          creds[CRED_WORD_EUID] = id.e.euid;
          mask |= CRED_UID | CRED_EUID;
        } else {
          creds[CRED_WORD_GID] = id.r.rgid;
          creds[CRED_WORD_EGID] = id.e.egid;
          mask |= CRED_GID | CRED_EGID;
        }
        emit(enc.creds(h, static_cast<uint32_t>(id.process_tgid), mask, creds));
        return;
      }
      case EV_COMM: {
        if (evlen < kEventHead + sizeof(ev.event_data.comm)) return;
        const auto& cm = ev.event_data.comm;
        if (cm.process_pid != cm.process_tgid) return;  // a thread's name: not the process's comm
        bump(c.comm);
        uint32_t len = static_cast<uint32_t>(strnlen(cm.comm, sizeof cm.comm));
        emit(enc.rename(h, static_cast<uint32_t>(cm.process_tgid), cm.comm, std::min(len, MAX_COMM_BYTES)));
        return;
      }
      default:
        return;  // acks, sid, ptrace, coredump: counted in messages only
    }
  }

  // A FORK or EXEC with what /proc gave (in `details`); only what was read is given.
  void emitImage(uint16_t type, uint16_t flags, const Head& h, uint32_t pid, uint32_t ppid) {
    const ProcDetails& d = details;
    Var vars[VAR_COUNT];
    uint16_t given = 0;
    if (d.have_path) {
      given |= GIVEN_PATH;
      vars[VAR_PATH] = {d.path.data(), static_cast<uint32_t>(std::min<size_t>(d.path.size(), MAX_PATH_BYTES))};
      if (d.path_truncated) flags |= FLAG_PATH_TRUNCATED;
    }
    if (d.have_comm) {
      given |= GIVEN_COMM;
      vars[VAR_COMM] = {d.comm.data(), static_cast<uint32_t>(std::min<size_t>(d.comm.size(), MAX_COMM_BYTES))};
    }
    if (d.have_argv) {
      given |= GIVEN_ARGV;
      vars[VAR_ARGV] = {d.argv.data(), static_cast<uint32_t>(d.argv.size())};
      if (d.argv_truncated) flags |= FLAG_ARGS_TRUNCATED;
    }
    if (d.have_envp) {
      given |= GIVEN_ENVP;
      vars[VAR_ENVP] = {d.envp.data(), static_cast<uint32_t>(d.envp.size())};
      if (d.envp_truncated) flags |= FLAG_ENVS_TRUNCATED;
    }
    if (d.have_tty || d.have_cgroup) {
      if (d.have_tty && d.have_cgroup) given |= GIVEN_CTX;
      else if (d.have_tty) given |= GIVEN_CTX_TTY;
      else given |= GIVEN_CTX_CONTAINER | GIVEN_CTX_CGROUP;
      ctx.clear();
      if (!d.tty.empty() || !d.container_id.empty() || !d.cgroup.empty()) {
        // "tty\0containerId\0cgroup": the cgroup path gives way when the three overflow the bound.
        ctx.append(d.tty).push_back('\0');
        ctx.append(d.container_id).push_back('\0');
        size_t room = ctx.size() < MAX_CTX_BYTES ? MAX_CTX_BYTES - ctx.size() : 0;
        ctx.append(d.cgroup, 0, std::min(room, d.cgroup.size()));
        if (ctx.size() > MAX_CTX_BYTES) ctx.clear();  // tty and id alone never get there
      }
      vars[VAR_CTX] = {ctx.data(), static_cast<uint32_t>(ctx.size())};
    }
    Where where;
    where.mount_id = d.have_path ? d.mount_id : 0;  // the mount of the image it gives
    where.ns_pid = d.pidns_inode != 0 ? d.ns_pid : 0;  // a pid in an unknown namespace says nothing
    where.pidns_inode = d.pidns_inode;
    where.cgroup_id = d.cgroup_id;
    emit(enc.image(type, flags, h, pid, ppid, d.inode, 0, d.creds, static_cast<uint16_t>(d.creds_mask), given,
                   where, vars));
  }
};

NetlinkCapture::NetlinkCapture(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetlinkCapture::~NetlinkCapture() { stop(); }

std::unique_ptr<NetlinkCapture> NetlinkCapture::open(const NetlinkOptions& opts, NetlinkError* err) {
  auto impl = std::make_unique<Impl>(opts);
  if (!impl->openSocket(err)) {
    if (impl->listening && impl->sock >= 0) impl->sendOp(PROC_CN_MCAST_IGNORE, 0);
    impl->closeFds();
    return nullptr;
  }
  return std::unique_ptr<NetlinkCapture>(new NetlinkCapture(std::move(impl)));
}

void NetlinkCapture::start(RecordWriter* out) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.life_mu);
  if (s.started || s.stopped || out == nullptr) return;
  s.out = out;
  // The thread takes no asynchronous signals (they go to the embedder's threads):
  // it inherits a full mask, set around its creation.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    s.thread = std::thread([&s] { s.run(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  s.started = true;
}

void NetlinkCapture::stop() {
  if (!impl_) return;
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.life_mu);
  if (s.stopped) return;
  s.stopped = true;
  s.stop_requested.store(true, std::memory_order_release);
  if (s.thread.joinable()) {
    uint64_t one = 1;
    // The eventfd wakes poll() without waiting for the next process event.
    while (::write(s.efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    s.thread.join();
  }
  if (s.sock >= 0 && s.listening) s.sendOp(PROC_CN_MCAST_IGNORE, 0);
  s.listening = false;
  s.closeFds();
}

NetlinkCounters NetlinkCapture::counters() const {
  const auto& c = impl_->c;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  NetlinkCounters r;
  r.messages = ld(c.messages);
  r.fork = ld(c.fork);
  r.exec = ld(c.exec);
  r.exit = ld(c.exit);
  r.uid = ld(c.uid);
  r.gid = ld(c.gid);
  r.comm = ld(c.comm);
  r.threads_skipped = ld(c.threads_skipped);
  r.proc_gone = ld(c.proc_gone);
  r.lost = ld(c.lost);
  r.overruns = ld(c.overruns);
  r.ring_full = ld(c.ring_full);
  return r;
}

}  // namespace forkline
