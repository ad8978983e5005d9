// SPDX-License-Identifier: Apache-2.0
/* bpf/exec.bpf.c: EXEC records. The inode of the image a thread ran before
 * is taken when it enters execve/execveat (exec_prev_inode, by thread id) and
 * read back at sched_process_exec with old_pid. The path of the new image is
 * walked in the kernel from bprm->file; for a script (bprm->interp differs
 * from bprm->filename) path is the script as exec was given it (relative
 * names prefixed with the cwd) and interp the interpreter's absolute path;
 * the script's path is then remembered by tgid (script_image) for the FORKs
 * of that process (when it fits FL_SCRIPT_PATH_MAX), and forgotten at any
 * other exec. */
#include "forkline.bpf.h"

static __always_inline int fl_remember_image(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = BPF_CORE_READ(task, pid);
	__u64 ino = fl_file_inode(BPF_CORE_READ(task, mm, exe_file));

	bpf_map_update_elem(&exec_prev_inode, &tid, &ino, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int fl_enter_execve(void *ctx)
{
	return fl_remember_image();
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int fl_enter_execveat(void *ctx)
{
	return fl_remember_image();
}

/* path of a script: bprm->filename, prefixed with the cwd when relative
 * (a leading "./" is dropped; nothing else is normalized). Returns its
 * length; *truncated is set when the cwd walk gave up or the whole did not
 * fit FL_PATH_MAX. */
static __always_inline __u32 fl_script_path(struct fl_scratch *s, __u32 off, struct task_struct *task,
					    const char *filename, __u32 *truncated)
{
	__u64 len = 0, room;
	__u32 trunc = 0;
	char c = 0;
	long n;

	*truncated = 0;
	bpf_probe_read_kernel(&c, 1, filename);
	if (c != '/') {
		char dot[2] = {};

		bpf_probe_read_kernel(dot, 2, filename);
		if (dot[0] == '.' && dot[1] == '/')
			filename += 2; /* "./x" -> "<cwd>/x" */
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		__u32 pos = fl_walk_path(s, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), &trunc);

		len = fl_put_path(s, off, pos);
		*truncated = trunc;
		if (len > 1 && len < FL_PATH_MAX) { /* not "/" */
			*FL_AT(s->rec, off + len, FL_OFF_MASK) = '/';
			len += 1;
		}
	}
	room = FL_PATH_MAX - len;
	barrier_var(room);
	if (room > FL_PATH_MAX)
		return len;
	n = bpf_probe_read_kernel_str(FL_AT(s->rec, off + len, FL_OFF_MASK), room, filename);
	if (n > 1)
		len += n - 1;
	if (n > 0 && (__u64)n >= room) /* the name filled what was left: cut */
		*truncated = 1;
	return len;
}

/* Remembers that process tgid now runs a script: the path just written to
 * rec at off (len bytes) and the interpreter's inode, for its FORKs
 * (script_image). A path longer than FL_SCRIPT_PATH_MAX (or empty) is not
 * remembered: the entry an earlier exec may have left is deleted, and the
 * process's FORKs fall back to mm->exe_file. Nothing when script_images_on
 * is 0. */
static __always_inline void fl_remember_script(struct fl_scratch *s, __u32 tgid, __u64 inode, __u32 off,
					       __u64 len, __u32 truncated)
{
	if (!script_images_on)
		return;
	/* 64-bit, kept from clang: the check is the bound the verifier sees */
	barrier_var(len);
	if (len == 0 || len > FL_SCRIPT_PATH_MAX) {
		bpf_map_delete_elem(&script_image, &tgid);
		return;
	}
	s->script.inode = inode;
	s->script.len = len;
	s->script.truncated = truncated;
	bpf_probe_read_kernel(s->script.path, len, FL_AT(s->rec, off, FL_OFF_MASK));
	bpf_map_update_elem(&script_image, &tgid, &s->script, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fl_scratch *s;
	struct ForkRecord *r; /* ExecRecord has the same layout from offset 48 on */
	struct ExecRecord *x;
	struct file *file = BPF_CORE_READ(bprm, file);
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	__u32 off = EXEC_VAR, len, trunc, tid = old_pid;
	__u64 *prev;
	__u16 flags = 0;

	s = fl_scratch();
	if (!s) {
		fl_drop();
		return 0;
	}
	fl_zero_body(s);
	r = (struct ForkRecord *)s->rec;
	x = (struct ExecRecord *)s->rec;
	x->pid = BPF_CORE_READ(task, tgid);
	x->ppid = BPF_CORE_READ(task, real_parent, tgid);
	x->inode = fl_file_inode(file);
	prev = bpf_map_lookup_elem(&exec_prev_inode, &tid);
	if (prev) {
		x->prevInode = *prev;
		bpf_map_delete_elem(&exec_prev_inode, &tid);
	}
	fl_creds(x->creds, task);
	x->credsMask = CRED_MASK_ALL;

	if (interp != filename) {
		len = fl_script_path(s, off, task, filename, &trunc);
		fl_remember_script(s, x->pid, x->inode, off, len, trunc);
	} else {
		len = fl_file_path(s, off, file, &trunc);
		if (script_images_on)
			bpf_map_delete_elem(&script_image, &x->pid); /* no longer a script */
	}
	r->lens[VAR_PATH] = len;
	r->given |= GIVEN_PATH;
	off += len;
	if (trunc)
		flags |= FLAG_PATH_TRUNCATED;
	/* task is current here: its cgroup from the helper */
	fl_put_namespaces(r, task, file, bpf_get_current_cgroup_id());

	off = fl_put_tail(s, r, off, task, BPF_CORE_READ(task, mm), &flags);

	/* a script: interp = the interpreter, bprm->file */
	fl_send_image(s, r, off, interp != filename ? file : NULL, REC_EXEC, flags, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
