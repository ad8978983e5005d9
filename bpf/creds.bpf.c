// SPDX-License-Identifier: Apache-2.0
/* bpf/creds.bpf.c: CREDS records after a successful set*id or capset
 * syscall, with the whole credential tuple of the calling task. setfsuid and
 * setfsgid return the previous id rather than an error: a record is written
 * when the id changed. */
#include "forkline.bpf.h"

static __always_inline int fl_emit_creds(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct CredsRecord c = {};
	__u8 buf[CREDS_SIZE] = {};

	c.pid = BPF_CORE_READ(task, tgid);
	c.credsMask = CRED_MASK_ALL;
	fl_creds(c.creds, task);
	fl_header(&c.header, REC_CREDS, 0, CREDS_SIZE, bpf_ktime_get_boot_ns());
	__builtin_memcpy(buf, &c, sizeof(c)); /* the tail stays zero padding */
	fl_output((struct RecordHeader *)buf, CREDS_SIZE);
	return 0;
}

#define FL_ON_SUCCESS(sys)                                                   \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                            \
	int fl_exit_##sys(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                    \
		if (ctx->ret != 0)                                           \
			return 0;                                            \
		return fl_emit_creds();                                      \
	}

FL_ON_SUCCESS(setuid)
FL_ON_SUCCESS(setgid)
FL_ON_SUCCESS(setreuid)
FL_ON_SUCCESS(setregid)
FL_ON_SUCCESS(setresuid)
FL_ON_SUCCESS(setresgid)
FL_ON_SUCCESS(capset)

SEC("tracepoint/syscalls/sys_exit_setfsuid")
int fl_exit_setfsuid(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if ((__u32)ctx->ret == BPF_CORE_READ(task, real_cred, fsuid.val))
		return 0; /* unchanged (or refused) */
	return fl_emit_creds();
}

SEC("tracepoint/syscalls/sys_exit_setfsgid")
int fl_exit_setfsgid(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if ((__u32)ctx->ret == BPF_CORE_READ(task, real_cred, fsgid.val))
		return 0;
	return fl_emit_creds();
}

char LICENSE[] SEC("license") = "GPL";
