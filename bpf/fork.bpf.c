// SPDX-License-Identifier: Apache-2.0
/* bpf/fork.bpf.c: FORK records, one per new process (threads and kernel
 * threads are skipped). The child inherits everything the record carries:
 * the image (inode, absolute path of mm->exe_file), credentials, comm, argv
 * (read from the parent, which is current here, and whose argv the child
 * shares) and context. Header time is the child's start_boottime, the clock
 * of /proc/<pid>/stat's starttime. */
#include "forkline.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fl_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fl_scratch *s;
	struct ForkRecord *r;
	struct file *exe;
	__u32 off = FORK_VAR, len, trunc;
	__u16 flags = 0;

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
	if (exe) {
		len = fl_file_path(s, off, exe, &trunc);
		r->lens[VAR_PATH] = len;
		r->given |= GIVEN_PATH;
		off += len;
	}
	off = fl_put_tail(s, r, off, child, BPF_CORE_READ(parent, mm), &flags);

	len = fl_finish(s, off);
	if (len > FL_REC_MAX) {
		fl_drop();
		return 0;
	}
	fl_header(&r->header, REC_FORK, flags, len, BPF_CORE_READ(child, start_boottime));
	barrier_var(len); /* keep the mask: it is the bound the verifier sees */
	fl_output(&r->header, len & (FL_REC_AREA - 1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
