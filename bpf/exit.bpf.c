// SPDX-License-Identifier: Apache-2.0
/* bpf/exit.bpf.c: EXIT records, one per process, when the last thread of
 * the group exits. exitCode is the wait status: the group exit code when a
 * group exit (exit_group, fatal signal) is in progress, else the task's own
 * exit code. The process's script_image entry, if any, is deleted. */
#include "forkline.bpf.h"

SEC("tp_btf/sched_process_exit")
int BPF_PROG(fl_exit, struct task_struct *task, bool group_dead)
{
	struct ExitRecord e = {};
	struct signal_struct *sig;
	__u32 code;

	if (!group_dead)
		return 0; /* other threads of the group are still alive */
	sig = BPF_CORE_READ(task, signal);
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(sig, group_exit_code);
	else
		code = BPF_CORE_READ(task, exit_code);

	fl_header(&e.header, REC_EXIT, 0, EXIT_SIZE, bpf_ktime_get_boot_ns());
	e.pid = BPF_CORE_READ(task, tgid);
	e.exitCode = code;
	fl_output(&e.header, EXIT_SIZE);
	if (script_images_on)
		bpf_map_delete_elem(&script_image, &e.pid); /* it ran a script: forget it */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
