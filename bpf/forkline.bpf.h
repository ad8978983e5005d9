/* SPDX-License-Identifier: Apache-2.0 */
/* bpf/forkline.bpf.h: what the per-concern programs (fork, exec, exit,
 * rename, creds) share: the maps, the run-time options, the record emitter
 * and the helpers that fill a FORK/EXEC body (credentials, paths walked in
 * the kernel, argv/envp, tty/container/cgroup context).
 *
 * Every object includes this file; the maps and options are __weak so that
 * `bpftool gen object` merges the identical definitions into one. Loops are
 * bpf_loop() callbacks: the verifier checks a callback body once, whatever
 * the iteration count.
 *
 * Records follow docs/record-format.md exactly (src/record/record.bpf.h is
 * generated from the same spec as src/record/record.h).
 */
#ifndef FORKLINE_BPF_H
#define FORKLINE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "record/record.bpf.h" /* src/record/record.bpf.h, generated (include path: src/) */

#define PF_KTHREAD 0x00200000
#define SIGNAL_GROUP_EXIT 0x00000004

/* Compiled bounds of what one record may carry (the run-time argv_max is at
 * most FL_ARGV_MAX). The largest FORK/EXEC built here is
 * FORK_VAR (148) + 4096 + 15 + 2 * 8192 + FL_CTX_MAX + 4096 < FL_REC_MAX. */
#define FL_ARGV_MAX 8192
#define FL_PATH_MAX 4096 /* = MAX_PATH_BYTES = MAX_INTERP_BYTES */
#define FL_NAME_MAX 255  /* a path component (NAME_MAX) */
#define FL_TTY_MAX 64    /* tty_struct.name */
#define FL_CID_LEN 64    /* a container id: 64 hex digits */
#define FL_PATH_DEPTH 64 /* components (and mount crossings) walked */
#define FL_CGROUP_DEPTH 64
#define FL_REC_MAX 32768 /* records are built below this offset... */
#define FL_OFF_MASK (FL_REC_MAX - 1)
#define FL_REC_AREA (2 * FL_REC_MAX) /* ...and written at most FL_REC_MAX past it */

_Static_assert(FORK_VAR + FL_PATH_MAX + MAX_COMM_BYTES + 2 * FL_ARGV_MAX +
		       (FL_TTY_MAX + 1 + FL_CID_LEN + 1 + FL_PATH_MAX) + FL_PATH_MAX + 8 <
		       FL_REC_MAX,
	       "records fit the scratch area");
_Static_assert(FL_ARGV_MAX <= MAX_ARGV_BYTES, "argv bound");
_Static_assert(FL_TTY_MAX + 1 + FL_CID_LEN + 1 + FL_PATH_MAX <= MAX_CTX_BYTES, "ctx bound");

/* ---- run-time options (rodata, set by the loader before load) ---------- */

/* Bytes of argv (and of envp) copied into a record; at most FL_ARGV_MAX. */
const volatile __u32 argv_max __weak = 4096;
/* Non-zero: FORK and EXEC carry envp. */
const volatile __u32 capture_envs __weak = 0;
/* Batched wake-ups: a record wakes the reader thread only when its ring
 * then holds more than this many bytes (0: every record may wake it, the
 * kernel's default). Below it the reader's timer tick picks records up, so
 * the cost follows the events, not one wake-up per record. */
const volatile __u32 wakeup_bytes __weak = 0;
/* Zero: script_image is never written (the loader's script_images = 0; the
 * map is then 1 entry): every FORK of a script falls back to mm->exe_file. */
const volatile __u32 script_images_on __weak = 1;

/* ---- maps ---------------------------------------------------------------- */

/* Inner template of cpu_rings: the loader sets max_entries to the ring size
 * and creates one ring per possible CPU with bpf_map_create. */
struct fl_cpu_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 1024);
};

/* One BPF ring per CPU, indexed by CPU id: a CPU's records are in
 * cpuSeq order in its ring. max_entries is set to the possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct fl_cpu_ring);
} cpu_rings SEC(".maps") __weak;

/* Per-CPU sequence number of the last record attempt (the header's cpuSeq). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_seq SEC(".maps") __weak;

/* Per-CPU count of records that could not be written (ring full, ring or
 * scratch missing): each is also a gap in that CPU's cpuSeq. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} reserve_failures SEC(".maps") __weak;

/* 1 while the reader thread drains the rings on its timer tick (it sets and
 * clears it): a record then wakes it only past wakeup_bytes. 0 (the reader
 * sleeps until woken, or was never told): every record wakes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} reader_ticking SEC(".maps") __weak;

/* Inode of the image a thread ran when it entered execve/execveat, keyed by
 * thread id, taken back (and deleted) at sched_process_exec. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} exec_prev_inode SEC(".maps") __weak;

/* The image a process runs is a script: what its EXEC record said (path =
 * the script, inode = the interpreter's), keyed by tgid. Set at a script
 * exec, deleted at any other exec and at process exit, copied to the child
 * at fork, so that a FORK of a script names the script (path) and its
 * interpreter (interp, = mm->exe_file) without the parent's entry in the
 * cache. An LRU: when full, the least recently used entry is evicted and
 * that process's forks fall back to path = mm->exe_file, no interp. A
 * script path longer than FL_SCRIPT_PATH_MAX is not remembered (its entry
 * is deleted: same fallback). The map is preallocated: FL_SCRIPT_ENTRIES
 * (the loader's script_images option) elements of 1040-byte value + key +
 * element header, and the buckets: memlock 4555648 bytes (~4.3 MiB) at
 * 4096 entries, see docs/bpf.md. */
#define FL_SCRIPT_ENTRIES 4096   /* default max_entries; the loader sets it */
#define FL_SCRIPT_PATH_MAX 1024  /* bytes of script path an entry holds */
struct fl_script {
	__u64 inode;     /* of mm->exe_file (the interpreter) at the exec: checked at fork */
	__u32 len;       /* bytes of path[] used, 1..FL_SCRIPT_PATH_MAX */
	__u32 truncated; /* the path was cut (FLAG_PATH_TRUNCATED of the EXEC) */
	__u8 path[FL_SCRIPT_PATH_MAX]; /* the EXEC record's path bytes (no NUL) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_SCRIPT_ENTRIES);
	__type(key, __u32);
	__type(value, struct fl_script);
} script_image SEC(".maps") __weak;

/* Where FORK and EXEC records are assembled: one slot per CPU (an ARRAY
 * indexed by CPU id, not a PERCPU_ARRAY, whose values are capped at 32 KiB;
 * the loader sets max_entries to the possible CPUs). The programs run with
 * preemption disabled, so a CPU's slot has one user at a time. */
struct fl_scratch {
	__u8 rec[FL_REC_AREA];
	/* a path built backwards: it ends at path[FL_PATH_MAX] */
	__u8 path[FL_PATH_MAX + FL_NAME_MAX + 1];
	__u8 name[FL_NAME_MAX + 1]; /* one cgroup component / the tty name */
	__u8 cid[FL_CID_LEN];       /* container id found so far */
	__u8 cand[FL_CID_LEN];      /* "docker/<id>" candidate: <id> seen, "docker" not yet */
	struct fl_script script;    /* a script_image value being built or copied */
	/* State of the bpf_loop() walks. It lives here rather than on the stack
	 * on purpose: the verifier does not track map memory, so every iteration
	 * of a callback looks the same to it and the loop is verified at once
	 * (a bounded position on the stack makes it explore each iteration). */
	struct {
		__u64 node;   /* struct dentry * or struct kernfs_node * */
		__u64 mnt;    /* struct mount * */
		__u32 pos;    /* first byte of what is built so far in path[] */
		__u32 truncated;
		__u32 found;  /* cid holds the innermost container id */
		__u32 cand;   /* cand holds a 64-hex component: a container if its parent is "docker" */
		__u32 hex_at; /* fl_hex64: where the digits start in name[] */
		__u32 hex_ok;
	} walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_scratch);
} scratch SEC(".maps") __weak;

/* &arr[(idx) & mask], with the mask kept: clang drops a mask it can prove
 * useless, and the verifier, which tracks less than clang, then sees an
 * unbounded index. barrier_var hides the value from clang. */
#define FL_AT(arr, idx, mask)                       \
	({                                          \
		__u64 __i = (idx);                  \
		barrier_var(__i);                   \
		&(arr)[__i & (mask)];               \
	})

/* ---- emitting ------------------------------------------------------------ */

static __always_inline struct fl_scratch *fl_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

static __always_inline void fl_count_failure(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&reserve_failures, &zero);

	if (n)
		*n += 1;
}

/* The next cpuSeq of this CPU (from 1): every attempt takes one, so a record
 * that is not written leaves a gap. */
static __always_inline __u64 fl_next_seq(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&cpu_seq, &zero);

	if (!seq)
		return 0;
	*seq += 1;
	return *seq;
}

static __always_inline void fl_header(struct RecordHeader *h, __u16 type, __u16 flags, __u32 size,
				      __u64 time)
{
	h->type = type;
	h->flags = flags;
	h->size = size;
	h->cpu = bpf_get_smp_processor_id();
	h->pidns = 0; /* bodies carry host pids */
	h->time = time;
	h->cpuSeq = 0;
	h->gseq = 0;
}

/* Stamps cpuSeq and writes the record (size bytes, a multiple of 8) to this
 * CPU's ring. A failure is counted. */
static __always_inline void fl_output(struct RecordHeader *h, __u64 size)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring;

	__u32 zero = 0, *ticking = bpf_map_lookup_elem(&reader_ticking, &zero);
	__u64 flags = 0;

	h->cpuSeq = fl_next_seq();
	ring = bpf_map_lookup_elem(&cpu_rings, &cpu);
	/* batched wake-ups (docs/bpf.md): the ticking reader comes by itself */
	if (ring && wakeup_bytes && ticking && *ticking)
		flags = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) > wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										 : BPF_RB_NO_WAKEUP;
	if (!ring || bpf_ringbuf_output(ring, h, size, flags) != 0)
		fl_count_failure();
}

/* A record attempt that could not even be built (no scratch slot). */
static __always_inline void fl_drop(void)
{
	fl_next_seq();
	fl_count_failure();
}

/* ---- credentials ---------------------------------------------------------- */

/* The 11-word credential tuple of a task (objective credentials). */
static __always_inline void fl_creds(__u32 *w, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	__u64 cap_eff = 0, cap_prm = 0;
	__u32 auid = 0xffffffff;

	w[CRED_WORD_UID] = BPF_CORE_READ(cred, uid.val);
	w[CRED_WORD_GID] = BPF_CORE_READ(cred, gid.val);
	w[CRED_WORD_EUID] = BPF_CORE_READ(cred, euid.val);
	w[CRED_WORD_EGID] = BPF_CORE_READ(cred, egid.val);
	w[CRED_WORD_FSUID] = BPF_CORE_READ(cred, fsuid.val);
	w[CRED_WORD_FSGID] = BPF_CORE_READ(cred, fsgid.val);
	if (bpf_core_field_exists(task->loginuid))
		auid = BPF_CORE_READ(task, loginuid.val);
	w[CRED_WORD_AUID] = auid;
	/* kernel_cap_t is a u64 (6.3+) or u32[2]: 8 little-endian bytes either way */
	bpf_probe_read_kernel(&cap_eff, sizeof(cap_eff), __builtin_preserve_access_index(&cred->cap_effective));
	bpf_probe_read_kernel(&cap_prm, sizeof(cap_prm), __builtin_preserve_access_index(&cred->cap_permitted));
	w[CRED_WORD_CAP_EFFECTIVE] = (__u32)cap_eff;
	w[CRED_WORD_CAP_EFFECTIVE + 1] = (__u32)(cap_eff >> 32);
	w[CRED_WORD_CAP_PERMITTED] = (__u32)cap_prm;
	w[CRED_WORD_CAP_PERMITTED + 1] = (__u32)(cap_prm >> 32);
}

/* ---- paths, walked in the kernel ----------------------------------------- */

/* Walks dentries and mounts from (dentry, vfsmount) up to the root of the
 * mount tree, writing "/a/b/c" backwards so that it ends at
 * path[FL_PATH_MAX]. Bounded by FL_PATH_DEPTH steps and FL_PATH_MAX bytes. */
static long fl_path_step(__u32 i, void *unused)
{
	struct fl_scratch *s = fl_scratch();
	struct dentry *d, *parent, *mnt_root;
	struct mount *m, *mnt_parent;
	const unsigned char *name;
	__u32 len, pos;

	if (!s)
		return 1;
	d = (struct dentry *)s->walk.node;
	m = (struct mount *)s->walk.mnt;
	parent = BPF_CORE_READ(d, d_parent);
	mnt_root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == mnt_root || d == parent) {
		mnt_parent = BPF_CORE_READ(m, mnt_parent);
		if (d != mnt_root || mnt_parent == m || !mnt_parent) {
			s->walk.node = 0; /* done: the root of the mount tree (or of a detached tree) */
			return 1;
		}
		/* cross into the parent mount at the mountpoint */
		s->walk.node = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		s->walk.mnt = (__u64)mnt_parent;
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > FL_NAME_MAX)
		len = FL_NAME_MAX;
	pos = s->walk.pos;
	if (pos > FL_PATH_MAX || len + 1 > pos) {
		s->walk.truncated = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(FL_AT(s->path, pos, (FL_PATH_MAX - 1)), len, name);
	pos -= 1;
	*FL_AT(s->path, pos, (FL_PATH_MAX - 1)) = '/';
	s->walk.pos = pos;
	s->walk.node = (__u64)parent;
	return 0;
}

/* Builds the absolute path of a struct path into s->path; returns the
 * position of its first byte (the path ends at FL_PATH_MAX). *truncated is
 * set when components were left out (too deep or too long): the path is
 * then the deepest components, without a leading '/'. */
static __always_inline __u32 fl_walk_path(struct fl_scratch *s, struct dentry *dentry,
					  struct vfsmount *vfsmnt, __u32 *truncated)
{
	__u32 pos;

	s->walk.node = (__u64)dentry;
	s->walk.mnt = (__u64)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	s->walk.pos = FL_PATH_MAX;
	s->walk.truncated = 0;
	bpf_loop(FL_PATH_DEPTH, fl_path_step, NULL, 0);
	/* the walk did not reach the root within its bound */
	*truncated = s->walk.truncated || s->walk.node != 0;
	pos = s->walk.pos;
	if (pos >= FL_PATH_MAX) { /* the root itself */
		pos = FL_PATH_MAX - 1;
		s->path[FL_PATH_MAX - 1] = '/';
	} else if (*truncated && pos < FL_PATH_MAX - 1) {
		pos += 1; /* "c/d/e" for a cut path: its leading part is missing, it must not look absolute */
	}
	return pos;
}

/* Copies s->path[pos..FL_PATH_MAX) to rec at off; returns its length. */
static __always_inline __u32 fl_put_path(struct fl_scratch *s, __u32 off, __u32 pos)
{
	__u32 len;

	if (pos > FL_PATH_MAX)
		return 0;
	len = FL_PATH_MAX - pos;
	if (len > FL_PATH_MAX)
		return 0;
	bpf_probe_read_kernel(FL_AT(s->rec, off, FL_OFF_MASK), len, FL_AT(s->path, pos, (FL_PATH_MAX - 1)));
	return len;
}

/* Writes the absolute path of a file to rec at off; returns its length (0
 * when the file is NULL). */
static __always_inline __u32 fl_file_path(struct fl_scratch *s, __u32 off, struct file *file,
					  __u32 *truncated)
{
	__u32 pos;

	*truncated = 0;
	if (!file)
		return 0;
	pos = fl_walk_path(s, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
			   truncated);
	return fl_put_path(s, off, pos);
}

static __always_inline __u64 fl_file_inode(struct file *file)
{
	return file ? BPF_CORE_READ(file, f_inode, i_ino) : 0;
}

/* ---- namespaces, mount and cgroup ----------------------------------------- */

/* Mount id of the mount a file is on: real_mount(file->f_path.mnt)->mnt_id
 * (the vfsmount is embedded in struct mount: container_of by the CO-RE
 * offset). 0 when the file is NULL. */
static __always_inline __u32 fl_file_mount_id(struct file *file)
{
	struct vfsmount *vfsmnt;
	struct mount *m;

	if (!file)
		return 0;
	vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	if (!vfsmnt)
		return 0;
	m = (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	return BPF_CORE_READ(m, mnt_id);
}

/* The task's pid in its active pid namespace (thread_pid->numbers[level],
 * task_active_pid_ns) and that namespace's inode (ns.inum, as
 * /proc/<pid>/ns/pid shows it). Both 0 when unreadable. */
static __always_inline void fl_ns_pid(struct task_struct *task, __u32 *ns_pid, __u32 *pidns_inode)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct pid_namespace *ns;
	struct upid up = {};
	__u32 level;

	*ns_pid = 0;
	*pidns_inode = 0;
	if (!pid)
		return;
	level = BPF_CORE_READ(pid, level);
	if (level > 32) /* MAX_PID_NS_LEVEL */
		return;
	if (bpf_probe_read_kernel(&up, sizeof(up),
				  (void *)pid + bpf_core_field_offset(struct pid, numbers) +
					  level * bpf_core_type_size(struct upid)) != 0)
		return;
	ns = up.ns;
	*ns_pid = up.nr;
	*pidns_inode = ns ? BPF_CORE_READ(ns, ns.inum) : 0;
}

/* Fills the namespace fields of a FORK/EXEC body (same offsets: r may point
 * at either) for task, whose image is exe. cgroup_id: the task's cgroup v2
 * id, the caller's (bpf_get_current_cgroup_id() for current, the kernfs
 * node id of cgroups->dfl_cgrp otherwise). */
static __always_inline void fl_put_namespaces(struct ForkRecord *r, struct task_struct *task, struct file *exe,
					      __u64 cgroup_id)
{
	__u32 ns_pid, pidns_inode;

	fl_ns_pid(task, &ns_pid, &pidns_inode);
	r->mountId = fl_file_mount_id(exe);
	r->nsPid = ns_pid;
	r->pidnsInode = pidns_inode;
	r->reserved = 0;
	r->cgroupId = cgroup_id;
}

/* The cgroup v2 id of a task that is not current: its default cgroup's
 * kernfs node id (= the inode of its directory in the cgroup2 mount). */
static __always_inline __u64 fl_task_cgroup_id(struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);

	return kn ? BPF_CORE_READ(kn, id) : 0;
}

/* ---- argv / envp ------------------------------------------------------------ */

/* Copies [start, end) of the current task's memory (NUL-terminated items) to
 * rec at off, at most cap bytes; the copy always ends with a NUL. Returns the
 * length, or -1 when the memory could not be read (the field is then not
 * given). *truncated is set when cut at cap. */
static __always_inline int fl_put_list(struct fl_scratch *s, __u32 off, __u64 start, __u64 end,
				       __u32 cap, __u32 *truncated)
{
	__u64 len;

	*truncated = 0;
	if (!start || end < start)
		return -1;
	len = end - start;
	if (cap > FL_ARGV_MAX)
		cap = FL_ARGV_MAX;
	if (len > cap) {
		len = cap;
		*truncated = 1;
	}
	if (len == 0)
		return 0;
	if (len > FL_ARGV_MAX)
		return -1;
	if (bpf_probe_read_user(FL_AT(s->rec, off, FL_OFF_MASK), len, (const void *)start) != 0)
		return -1;
	*FL_AT(s->rec, off + len - 1, FL_OFF_MASK) = 0; /* the last item stays NUL-terminated */
	return len;
}

/* ---- context: tty, container id, cgroup ------------------------------------ */

struct kernfs_node___old {
	struct kernfs_node___old *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *fl_kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___old, parent))
		return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	return BPF_CORE_READ(kn, __parent);
}

/* One step of a 64-hex-digit check of name[walk.hex_at ...]: clears
 * walk.hex_ok at the first byte that is not a lower-case hex digit. A
 * bpf_loop() callback, not an open loop: the verifier checks it once. */
static long fl_hex_step(__u32 i, void *unused)
{
	struct fl_scratch *s = fl_scratch();
	__u8 c;

	if (!s)
		return 1;
	c = *FL_AT(s->name, s->walk.hex_at + i, FL_NAME_MAX);
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
		return 0;
	s->walk.hex_ok = 0;
	return 1;
}

/* 64 lower-case hex digits at name[at]? */
static __always_inline int fl_hex64(struct fl_scratch *s, __u32 at)
{
	s->walk.hex_at = at;
	s->walk.hex_ok = 1;
	bpf_loop(FL_CID_LEN, fl_hex_step, NULL, 0);
	return s->walk.hex_ok;
}

/* Eight bytes as a little-endian u64 (string prefixes compared as words). */
#define FL_W(a, b, c, d, e, f, g, h)                                                           \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 | \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define FL_MASK(n) ((n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1)

/* Where the id starts in a component named docker-<id>.scope,
 * cri-containerd-<id>.scope, crio-<id>(.scope), libpod-<id>(.scope); -1 if
 * it is none of these. */
static __always_inline int fl_cid_start(struct fl_scratch *s, __u32 len)
{
	__u64 w0, w1;
	int scope;

	if (len != 69 && len != 71 && len != 75 && len != 77 && len != 85)
		return -1;
	__builtin_memcpy(&w0, &s->name[0], 8);
	__builtin_memcpy(&w1, &s->name[8], 8);
	scope = *FL_AT(s->name, len - 6, FL_NAME_MAX) == '.' && *FL_AT(s->name, len - 5, FL_NAME_MAX) == 's' &&
		*FL_AT(s->name, len - 4, FL_NAME_MAX) == 'c' && *FL_AT(s->name, len - 3, FL_NAME_MAX) == 'o' &&
		*FL_AT(s->name, len - 2, FL_NAME_MAX) == 'p' && *FL_AT(s->name, len - 1, FL_NAME_MAX) == 'e';

	if (len == 7 + 64 + 6 && scope && (w0 & FL_MASK(7)) == FL_W('d', 'o', 'c', 'k', 'e', 'r', '-', 0))
		return 7;
	if (len == 15 + 64 + 6 && scope && w0 == FL_W('c', 'r', 'i', '-', 'c', 'o', 'n', 't') &&
	    (w1 & FL_MASK(7)) == FL_W('a', 'i', 'n', 'e', 'r', 'd', '-', 0))
		return 15;
	if ((len == 5 + 64 || (len == 5 + 64 + 6 && scope)) &&
	    (w0 & FL_MASK(5)) == FL_W('c', 'r', 'i', 'o', '-', 0, 0, 0))
		return 5;
	if ((len == 7 + 64 || (len == 7 + 64 + 6 && scope)) &&
	    (w0 & FL_MASK(7)) == FL_W('l', 'i', 'b', 'p', 'o', 'd', '-', 0))
		return 7;
	return -1;
}

static long fl_cgroup_step(__u32 i, void *unused)
{
	struct fl_scratch *s = fl_scratch();
	struct kernfs_node *kn, *parent;
	long n;
	__u32 len, pos;
	__u64 w0;
	int at;

	if (!s)
		return 1;
	kn = (struct kernfs_node *)s->walk.node;
	parent = fl_kn_parent(kn);
	if (!parent) {
		s->walk.node = 0; /* the root: its name is not part of the path */
		return 1;
	}
	n = bpf_probe_read_kernel_str(s->name, sizeof(s->name), BPF_CORE_READ(kn, name));
	if (n <= 0 || n > FL_NAME_MAX + 1)
		return 1;
	len = n - 1;
	pos = s->walk.pos;
	if (pos > FL_PATH_MAX || len + 1 > pos) {
		s->walk.truncated = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(FL_AT(s->path, pos, (FL_PATH_MAX - 1)), len & FL_NAME_MAX, s->name);
	pos -= 1;
	*FL_AT(s->path, pos, (FL_PATH_MAX - 1)) = '/';
	s->walk.pos = pos;
	s->walk.node = (__u64)parent;

	if (s->walk.found)
		return 0;
	__builtin_memcpy(&w0, &s->name[0], 8);
	if (s->walk.cand && len == 6 && (w0 & FL_MASK(6)) == FL_W('d', 'o', 'c', 'k', 'e', 'r', 0, 0)) {
		__builtin_memcpy(s->cid, s->cand, FL_CID_LEN);
		s->walk.found = 1;
		return 0;
	}
	s->walk.cand = 0;
	at = fl_cid_start(s, len);
	if (at >= 0 && fl_hex64(s, at)) {
		bpf_probe_read_kernel(s->cid, FL_CID_LEN, FL_AT(s->name, at, 31));
		s->walk.found = 1;
	} else if (len == FL_CID_LEN && fl_hex64(s, 0)) {
		__builtin_memcpy(s->cand, s->name, FL_CID_LEN);
		s->walk.cand = 1;
	}
	return 0;
}

/* Writes "tty\0containerId\0cgroup" to rec at off (nothing when all three
 * are empty); returns its length. The tty is "pts/N" for a pseudo-terminal,
 * else the tty's name ("tty1", "ttyS0"); the cgroup is the task's cgroup v2
 * path ("/" for the root); the container id the innermost one found in it. */
static __always_inline __u32 fl_put_ctx(struct fl_scratch *s, __u32 off, struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	__u32 start = off, tty_len = 0, cg_len = 0, found = 0, pos;
	long n;

	/* tty */
	if (tty) {
		n = bpf_probe_read_kernel_str(s->name, FL_TTY_MAX, __builtin_preserve_access_index(&tty->name));
		if (n > 1 && n <= FL_TTY_MAX) {
			tty_len = n - 1;
			if (tty_len > 3 && s->name[0] == 'p' && s->name[1] == 't' && s->name[2] == 's' &&
			    s->name[3] != '/') {
				/* "pts3" -> "pts/3", as /dev/pts/3 */
				*FL_AT(s->rec, off, FL_OFF_MASK) = 'p';
				*FL_AT(s->rec, off + 1, FL_OFF_MASK) = 't';
				*FL_AT(s->rec, off + 2, FL_OFF_MASK) = 's';
				*FL_AT(s->rec, off + 3, FL_OFF_MASK) = '/';
				bpf_probe_read_kernel(FL_AT(s->rec, off + 4, FL_OFF_MASK), (tty_len - 3) & (FL_TTY_MAX - 1),
						      &s->name[3]);
				tty_len += 1;
			} else {
				bpf_probe_read_kernel(FL_AT(s->rec, off, FL_OFF_MASK), tty_len & (FL_TTY_MAX - 1), s->name);
			}
		}
	}
	off += tty_len;
	*FL_AT(s->rec, off, FL_OFF_MASK) = 0;
	off += 1;

	/* cgroup (v2, default hierarchy), walked up; container id on the way */
	if (kn) {
		s->walk.node = (__u64)kn;
		s->walk.pos = FL_PATH_MAX;
		s->walk.truncated = 0;
		s->walk.found = 0;
		s->walk.cand = 0;
		bpf_loop(FL_CGROUP_DEPTH, fl_cgroup_step, NULL, 0);
		found = s->walk.found;
	}
	if (found) {
		bpf_probe_read_kernel(FL_AT(s->rec, off, FL_OFF_MASK), FL_CID_LEN, s->cid);
		off += FL_CID_LEN;
	}
	*FL_AT(s->rec, off, FL_OFF_MASK) = 0;
	off += 1;
	if (kn) {
		pos = s->walk.pos;
		if (pos >= FL_PATH_MAX) {
			pos = FL_PATH_MAX - 1;
			s->path[FL_PATH_MAX - 1] = '/';
		}
		cg_len = fl_put_path(s, off, pos);
	}
	off += cg_len;
	if (tty_len == 0 && !found && cg_len == 0)
		return 0;
	return off - start;
}

/* ---- FORK and EXEC bodies ------------------------------------------------ */

/* Zero bytes [end, align8(end)) and return align8(end). */
static __always_inline __u32 fl_finish(struct fl_scratch *s, __u32 end)
{
	for (int i = 0; i < 8; i++)
		*FL_AT(s->rec, end + i, FL_OFF_MASK) = 0;
	return FORKLINE_ALIGN8(end);
}

/* The fields after path, for FORK and EXEC (same layout from offset 48 on:
 * r may point at either): comm, argv and envp (from the current task's
 * memory, described by mm), ctx. Returns the offset after them. */
static __always_inline __u32 fl_put_tail(struct fl_scratch *s, struct ForkRecord *r, __u32 off,
					 struct task_struct *task, struct mm_struct *mm, __u16 *flags)
{
	__u64 start = 0, end = 0;
	__u32 trunc, len;
	int n;

	/* comm (15 bytes at most, no NUL) */
	n = bpf_probe_read_kernel_str(FL_AT(s->rec, off, FL_OFF_MASK), MAX_COMM_BYTES + 1,
				      __builtin_preserve_access_index(&task->comm));
	len = n > 0 ? n - 1 : 0;
	if (len > MAX_COMM_BYTES)
		len = MAX_COMM_BYTES;
	r->lens[VAR_COMM] = len;
	r->given |= GIVEN_COMM;
	off += len;

	/* argv, bounded by the run-time argv_max */
	if (mm) {
		start = BPF_CORE_READ(mm, arg_start);
		end = BPF_CORE_READ(mm, arg_end);
	}
	n = fl_put_list(s, off, start, end, argv_max, &trunc);
	if (n >= 0) {
		r->lens[VAR_ARGV] = n;
		r->given |= GIVEN_ARGV;
		off += n;
		if (trunc)
			*flags |= FLAG_ARGS_TRUNCATED;
	}

	/* envp, only when asked for, with the same bound */
	if (capture_envs && mm) {
		start = BPF_CORE_READ(mm, env_start);
		end = BPF_CORE_READ(mm, env_end);
		n = fl_put_list(s, off, start, end, argv_max, &trunc);
		if (n >= 0) {
			r->lens[VAR_ENVP] = n;
			r->given |= GIVEN_ENVP;
			off += n;
			if (trunc)
				*flags |= FLAG_ENVS_TRUNCATED;
		}
	}

	/* ctx: tty, container id, cgroup */
	len = fl_put_ctx(s, off, task);
	r->lens[VAR_CTX] = len;
	r->given |= GIVEN_CTX;
	return off + len;
}

/* The end of a FORK or EXEC (r may point at either): the interpreter, the
 * path of interp_file when it is not NULL; the zero padding; the header,
 * stamped `time` (0: now); out to this CPU's ring. */
static __always_inline void fl_send_image(struct fl_scratch *s, struct ForkRecord *r, __u32 off,
					  struct file *interp_file, __u16 type, __u16 flags, __u64 time)
{
	__u32 len, trunc;

	if (interp_file) {
		len = fl_file_path(s, off, interp_file, &trunc);
		r->lens[VAR_INTERP] = len;
		r->given |= GIVEN_INTERP;
		off += len;
	}
	len = fl_finish(s, off);
	if (len > FL_REC_MAX) {
		fl_drop();
		return;
	}
	fl_header(&r->header, type, flags, len, time ? time : bpf_ktime_get_boot_ns());
	barrier_var(len); /* keep the mask: it is the bound the verifier sees */
	fl_output(&r->header, len & (FL_REC_AREA - 1));
}

/* Zero the fixed part of a FORK/EXEC body (offsets 40..FORK_VAR). */
static __always_inline void fl_zero_body(struct fl_scratch *s)
{
	for (int i = HEADER_SIZE; i < FORK_VAR; i++)
		s->rec[i] = 0;
}

#endif /* FORKLINE_BPF_H */
