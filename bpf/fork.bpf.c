// SPDX-License-Identifier: Apache-2.0
/* bpf/fork.bpf.c: FORK records, one per new process (threads and kernel
 * threads are skipped). The child inherits everything the record carries:
 * the image (inode, absolute path of mm->exe_file), credentials, comm, argv
 * (read from the parent, which is current here, and whose argv the child
 * shares) and context. Header time is the child's start_boottime, the clock
 * of /proc/<pid>/stat's starttime.
 *
 * When the parent runs a script (its script_image entry, set by its EXEC),
 * the FORK is self-contained about it too: path = the script, interp = the
 * interpreter (mm->exe_file), and the child gets a copy of the entry. A
 * script whose path did not fit FL_SCRIPT_PATH_MAX has no entry: its FORKs
 * carry path = mm->exe_file (the interpreter) and no interp. */
#include "forkline.bpf.h"

/* Copies the script_image entry of process tgid to s->script; true when
 * there is one and it is about the image the child runs (same inode: an
 * entry left by a reused pid, or an exe_file changed by prctl, is ignored).
 * Always false when script_images_on is 0 (the map is never written). */
static __always_inline int fl_script_of(struct fl_scratch *s, __u32 tgid, __u64 inode)
{
	struct fl_script *v;
	__u64 len;

	if (!script_images_on)
		return 0;
	v = bpf_map_lookup_elem(&script_image, &tgid);
	if (!v)
		return 0;
	/* copied first: the entry may be evicted and reused meanwhile */
	s->script.inode = v->inode;
	len = v->len;
	barrier_var(len);
	if (len > FL_SCRIPT_PATH_MAX)
		return 0;
	s->script.len = len;
	s->script.truncated = v->truncated;
	if (bpf_probe_read_kernel(s->script.path, len, v->path) != 0)
		return 0;
	return len > 0 && s->script.inode == inode;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fl_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fl_scratch *s;
	struct ForkRecord *r;
	struct file *exe;
	__u32 off = FORK_VAR, len, trunc;
	__u16 flags = 0;
	__u64 slen;
	int script;

	if (BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a new thread, not a process */

	s = fl_scratch();
	if (!s) {
		fl_drop();
		return 0;
	}
	fl_zero_body(s);
	r = (struct ForkRecord *)s->rec;
	r->pid = BPF_CORE_READ(child, tgid);
	r->ppid = BPF_CORE_READ(child, real_parent, tgid);
	r->execTime = 0; /* not known here */
	fl_creds(r->creds, child);
	r->credsMask = CRED_MASK_ALL;

	exe = BPF_CORE_READ(child, mm, exe_file);
	r->inode = fl_file_inode(exe);
	script = exe && fl_script_of(s, BPF_CORE_READ(parent, tgid), r->inode);
	if (script) {
		/* the parent runs a script: so does the child, until it execs */
		slen = s->script.len; /* 64-bit, kept from clang: the clamp is the verifier's bound */
		barrier_var(slen);
		if (slen > FL_SCRIPT_PATH_MAX)
			slen = FL_SCRIPT_PATH_MAX;
		bpf_probe_read_kernel(FL_AT(s->rec, off, FL_OFF_MASK), slen, s->script.path);
		len = slen;
		r->lens[VAR_PATH] = len;
		r->given |= GIVEN_PATH;
		off += len;
		if (s->script.truncated)
			flags |= FLAG_PATH_TRUNCATED;
		bpf_map_update_elem(&script_image, &r->pid, &s->script, BPF_ANY);
	} else if (exe) {
		len = fl_file_path(s, off, exe, &trunc);
		r->lens[VAR_PATH] = len;
		r->given |= GIVEN_PATH;
		off += len;
		if (trunc)
			flags |= FLAG_PATH_TRUNCATED;
	}
	/* the child's pid in its own namespace, the mount of its image, its cgroup (not current's: the parent runs here) */
	fl_put_namespaces(r, child, exe, fl_task_cgroup_id(child));
	off = fl_put_tail(s, r, off, child, BPF_CORE_READ(parent, mm), &flags);

	/* a script: interp = the interpreter, mm->exe_file */
	fl_send_image(s, r, off, script ? exe : NULL, REC_FORK, flags, BPF_CORE_READ(child, start_boottime));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
