// native/procfs_reader.h: completes a process event from /proc/<pid>, for the
// netlink capture (the proc connector gives pids only). The same rules as the
// TypeScript /proc reader (src/procfs/): exe link with
// " (deleted)" removed, comm, cmdline, Uid/Gid/CapEff/CapPrm of status,
// loginuid, tty from stat's tty_nr, the cgroup path and the container id in it;
// and where the process lives: the last NSpid value of status, the ns/pid
// link's inode, the cgroup v2 id (inode of the cgroup's directory in the
// cgroup2 mount) and the mount id of the executable (statx STATX_MNT_ID of
// the exe link).
//
// Every file is opened relative to one fd of the /proc/<pid> directory, so a
// pid that dies and is reused between two reads is never mixed up: the old
// directory fd answers ENOENT/ESRCH, it does not read the new process.
//
// One reader per thread; its buffers are reused from call to call.
#pragma once

#include <cstdint>
#include <string>

namespace forkline {

// What one read found. A `have_*` false means "not known" (the record must
// not give the field), which differs from known and empty.
struct ProcDetails {
  bool exists = false;         // /proc/<pid> opened and its stat parsed
  bool gone = false;           // vanished, a zombie, or a reused pid: details not (all) read
  bool pid_reused = false;     // /proc/<pid> is a process started after the event (nothing read)
  uint64_t start_ns = 0;       // stat starttime, ns since boot (tick precision)
  bool kernel_thread = false;  // PF_KTHREAD, kthreadd, or a child of kthreadd
  char state = 0;              // stat field 3
  int32_t ppid = -1;           // stat field 4; -1 unknown
  uint32_t tty_nr = 0;         // stat field 7

  bool have_path = false;
  bool path_truncated = false; // the link was longer than MAX_PATH_BYTES: cut
  std::string path;            // exe link, absolute, " (deleted)" removed, at most MAX_PATH_BYTES
  uint64_t inode = 0;          // st_ino of the exe link's target; 0 unknown
  uint32_t mount_id = 0;       // mount id of the exe link's target (statx STATX_MNT_ID); 0 unknown

  uint32_t ns_pid = 0;         // last NSpid value of status: the pid in its own pid namespace; 0 unknown
  uint32_t pidns_inode = 0;    // inode of ns/pid ("pid:[N]"); 0 unknown
  uint64_t cgroup_id = 0;      // inode of the cgroup v2 directory (= kernfs node id); 0 unknown

  bool have_comm = false;
  std::string comm;            // at most MAX_COMM_BYTES, no newline

  bool have_argv = false;
  bool argv_truncated = false;
  std::string argv;            // NUL-terminated items ("a\0b\0"), at most the argv bound

  bool have_envp = false;
  bool envp_truncated = false;
  std::string envp;            // same format, only when envs are read

  uint32_t creds[11] = {};     // src/record/record.h credential tuple
  uint32_t creds_mask = 0;     // CRED_* bits of the words read

  bool have_tty = false;       // stat was read (tty "" = no terminal)
  std::string tty;
  bool have_cgroup = false;    // cgroup file was read
  std::string cgroup;
  std::string container_id;

  void clear();
};

class ProcfsReader {
 public:
  enum What : unsigned {
    READ_IMAGE = 1,  // stat, exe, comm, cmdline (environ when envs), status, loginuid, cgroup
    READ_CREDS = 2,  // stat, status, loginuid only
  };

  // argv_max: the argv/envp bound in bytes (at most MAX_ARGV_BYTES); 0 = do not read them.
  // cgroup_root: where cgroups are mounted; "" = /sys/fs/cgroup for "/proc", else
  // <proc_root>/../sys/fs/cgroup. cgroup v2 is there or in its "unified" directory.
  ProcfsReader(std::string proc_root, uint32_t argv_max, bool envs, std::string cgroup_root = "");

  // Reads /proc/<pid> into *out (cleared first). Never throws; a file that
  // cannot be read leaves its fields unknown. started_by_ns (CLOCK_BOOTTIME
  // ns; 0 = no check): the process must have started by then, else the pid
  // was reused since the event and nothing is read (gone, pid_reused).
  void read(int32_t pid, unsigned what, uint64_t started_by_ns, ProcDetails* out);

 private:
  std::string root_;
  uint32_t argv_max_;
  bool envs_;
  uint64_t ns_per_tick_;
  std::string cgroup2_;  // the cgroup v2 mount ("" when there is none)
  std::string text_;  // scratch for stat, status, cgroup
  std::string scratch_;  // the cgroup directory being stat'ed
};

// Pure helpers, shared with the tests (same results as src/procfs/parse.ts).

// stat's tty_nr (new_encode_dev form) to a name: "pts/3", "tty1", "ttyS0", "tty", "major:minor", "" for none.
std::string ttyNameFromNr(uint32_t tty_nr);
// The 64-hex container id in a cgroup path (docker-, cri-containerd-, crio-, libpod-, docker/); the innermost; "" when none.
std::string containerIdFromCgroup(const std::string& path);
// /proc/<pid>/cgroup contents to a path: the "0::" line, else the first line's path.
std::string cgroupPathFromFile(const std::string& text);
// The path of the "0::" (cgroup v2) line; false when there is none.
bool cgroupV2PathFromFile(const std::string& text, std::string* path);
// Where cgroup v2 is mounted under a cgroups root: the root itself or root/unified (the one with
// cgroup.controllers); "" when neither.
std::string cgroup2MountOf(const std::string& root);
// "pid:[4026531836]" -> 4026531836; 0 when it does not parse or does not fit 32 bits.
uint32_t nsLinkInode(const char* link, size_t len);
// Cuts a NUL-separated list (cmdline, environ; at most max + 1 bytes read, eof
// true when the whole file fit) to at most `max` bytes ending with a NUL.
// Returns true when something was cut.
bool boundNulList(std::string* list, uint32_t max, bool eof);

}  // namespace forkline
