// native/netlink_capture.h: the netlink proc connector source (docs/architecture.md,
// "The other sources": the fallback when BPF cannot be loaded). One thread reads the
// kernel's process events (fork, exec, exit, uid, gid, comm), completes them
// from /proc/<pid> right away, and writes records in the format of src/record/record.h
// to a RecordWriter. Plain C++17 + pthreads: no Node headers, the N-API addon
// wraps it. Behaviour, races and limits: docs/netlink.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "record_writer.h"

namespace forkline {

struct NetlinkOptions {
  std::string proc_root = "/proc";
  // argv bound in bytes (at most record::MAX_ARGV_BYTES). A longer cmdline is
  // cut (mid-item when needed) with FLAG_ARGS_TRUNCATED, its last item
  // NUL-terminated. Also the bound of envp. 0 = argv is not read (not given).
  uint32_t argv_max_bytes = 4096;
  bool capture_envs = false;  // read /proc/<pid>/environ (FLAG_ENVS_TRUNCATED past the bound)
};

// code: ERR_NETLINK_PRIVILEGE (needs root or CAP_NET_ADMIN),
// ERR_NETLINK_UNSUPPORTED (no connector / CONFIG_PROC_EVENTS, or not the
// initial network / pid / user namespace), ERR_NETLINK_SOCKET (any other
// errno, named in the message).
struct NetlinkError {
  std::string code;
  std::string message;
};

// A snapshot of the counters; counters() may be called from any thread.
struct NetlinkCounters {
  uint64_t messages;         // proc connector messages received (every kind, acks included)
  uint64_t fork;             // process forks reported (FORK records)
  uint64_t exec;             // EXEC records
  uint64_t exit;             // process exits reported (EXIT records; thread exits are ignored)
  uint64_t uid;              // CREDS records from uid changes
  uint64_t gid;              // CREDS records from gid changes
  uint64_t comm;             // RENAME records
  uint64_t threads_skipped;  // forks of threads (child pid != child tgid), not reported
  uint64_t proc_gone;        // process vanished (or a zombie) before /proc could be read: details not completed
  uint64_t lost;             // messages missing from the per-CPU sequence numbers (sum of LOST counts)
  uint64_t overruns;         // ENOBUFS: the socket buffer overflowed (the losses show up in `lost`)
  uint64_t ring_full;        // RecordWriter::write returned false: record dropped
};

class NetlinkCapture {
 public:
  // Opens NETLINK_CONNECTOR, binds to CN_IDX_PROC, sets a large receive
  // buffer (SO_RCVBUFFORCE as root, else SO_RCVBUF), sends
  // PROC_CN_MCAST_LISTEN and waits for the kernel's acknowledgement: events
  // are queued from then on. nullptr and *err on failure.
  static std::unique_ptr<NetlinkCapture> open(const NetlinkOptions& opts, NetlinkError* err);

  // Starts the one capture thread, writing to `out` (which must outlive the
  // capture). The subscription is live already (since open). Once only;
  // a second call, or a call after stop(), does nothing.
  void start(RecordWriter* out);

  // Wakes and joins the thread (an eventfd, not the next event), sends
  // PROC_CN_MCAST_IGNORE, closes every fd. Idempotent; the destructor calls it.
  // Events still queued in the socket when it stops are not read.
  void stop();

  NetlinkCounters counters() const;

  ~NetlinkCapture();
  NetlinkCapture(const NetlinkCapture&) = delete;
  NetlinkCapture& operator=(const NetlinkCapture&) = delete;

  struct Impl;  // in netlink_capture.cc: the kernel headers stay out of this one

 private:
  explicit NetlinkCapture(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forkline
