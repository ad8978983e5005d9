// SPDX-License-Identifier: Apache-2.0
/* bpf/rename.bpf.c: RENAME records when a process's comm changes
 * (prctl PR_SET_NAME, /proc/<pid>/comm), for the group leader only. The
 * rename that exec does itself is skipped: the EXEC record carries comm. */
#include "forkline.bpf.h"

#define RENAME_BUF FORKLINE_ALIGN8(RENAME_VAR + MAX_COMM_BYTES)

SEC("tp_btf/task_rename")
int BPF_PROG(fl_rename, struct task_struct *task, const char *comm)
{
	__u8 buf[RENAME_BUF] = {};
	struct RenameRecord *r = (struct RenameRecord *)buf;
	__u32 len, size;
	long n;

	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(task, in_execve))
		return 0;
	n = bpf_probe_read_kernel_str(&buf[RENAME_VAR], MAX_COMM_BYTES + 1, comm);
	len = n > 0 ? n - 1 : 0;
	if (len > MAX_COMM_BYTES)
		len = MAX_COMM_BYTES;
	buf[RENAME_VAR + len] = 0; /* padding is zero (the NUL of the copy) */
	size = FORKLINE_ALIGN8(RENAME_VAR + len);
	if (size > RENAME_BUF)
		return 0;

	fl_header(&r->header, REC_RENAME, 0, size, bpf_ktime_get_boot_ns());
	r->pid = BPF_CORE_READ(task, tgid);
	r->lens[0] = len;
	fl_output(&r->header, size);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
