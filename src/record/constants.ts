// The record format's constants, as literals for the hot paths: header
// offsets (H_*), type codes (REC_*), flag bits (FLAG_*), `given` bits
// (GIVEN_*), variable-field indexes (VAR_*), bounds (MAX_*), credential
// bits and words (CRED_*), and the offsets and sizes of each record type
// (FORK_*, EXEC_*, ...). Each one is named here and nowhere else in
// TypeScript; the values are derived from RECORD_SPEC (spec.ts), and
// test/record/record.test.ts checks that every export of this file is exactly
// the derived value. The C side has the same names in the generated headers.

export const RECORD_ALIGN = 8;
export const HEADER_SIZE = 40;
export const PAD_MIN_SIZE = 8;
export const MAX_RECORD_SIZE = 147456;

export const H_TYPE = 0;
export const H_FLAGS = 2;
export const H_SIZE = 4;
export const H_CPU = 8;
export const H_PIDNS = 12;
export const H_TIME = 16;
export const H_CPU_SEQ = 24;
export const H_GSEQ = 32;

export const REC_PAD = 0;
export const REC_FORK = 1;
export const REC_EXEC = 2;
export const REC_EXIT = 3;
export const REC_CREDS = 4;
export const REC_RENAME = 5;
export const REC_LOST = 6;
export const REC_FLUSH = 7;
export const REC_DELETE = 8;
export const REC_REPARENT = 9;
export const REC_LINK = 10;
export const REC_UNLINK = 11;
export const REC_CLOCK = 12;
export const REC_TYPE_COUNT = 13;

export const FLAG_KERNEL_THREAD = 1;
export const FLAG_ARGS_TRUNCATED = 2;
export const FLAG_ENVS_TRUNCATED = 4;
export const FLAG_SNAPSHOT = 8;
export const FLAG_PATH_TRUNCATED = 16;

export const GIVEN_PATH = 1;
export const GIVEN_COMM = 2;
export const GIVEN_ARGV = 4;
export const GIVEN_ENVP = 8;
export const GIVEN_CTX = 16;
export const GIVEN_INTERP = 32;
export const GIVEN_CTX_TTY = 64;
export const GIVEN_CTX_CONTAINER = 128;
export const GIVEN_CTX_CGROUP = 256;
export const GIVEN_CTX_PARTS_SHIFT = 6;

export const VAR_PATH = 0;
export const VAR_COMM = 1;
export const VAR_ARGV = 2;
export const VAR_ENVP = 3;
export const VAR_CTX = 4;
export const VAR_INTERP = 5;
export const VAR_COUNT = 6;

export const MAX_PATH_BYTES = 4096;
export const MAX_COMM_BYTES = 15;
export const MAX_ARGV_BYTES = 65535;
export const MAX_ENVP_BYTES = 65535;
export const MAX_CTX_BYTES = 4352;
export const MAX_INTERP_BYTES = 4096;

export const CRED_UID = 1;
export const CRED_GID = 2;
export const CRED_EUID = 4;
export const CRED_EGID = 8;
export const CRED_FSUID = 16;
export const CRED_FSGID = 32;
export const CRED_AUID = 64;
export const CRED_CAP_EFFECTIVE = 128;
export const CRED_CAP_PERMITTED = 256;
export const CRED_MASK_ALL = 511;
export const CRED_WORD_COUNT = 11;
export const CRED_WORD_UID = 0;
export const CRED_WORD_GID = 1;
export const CRED_WORD_EUID = 2;
export const CRED_WORD_EGID = 3;
export const CRED_WORD_FSUID = 4;
export const CRED_WORD_FSGID = 5;
export const CRED_WORD_AUID = 6;
export const CRED_WORD_CAP_EFFECTIVE = 7;
export const CRED_WORD_CAP_PERMITTED = 9;

export const FORK_PID = 40;
export const FORK_PPID = 44;
export const FORK_INODE = 48;
export const FORK_EXEC_TIME = 56;
export const FORK_CREDS = 64;
export const FORK_CREDS_MASK = 108;
export const FORK_GIVEN = 110;
export const FORK_MOUNT_ID = 112;
export const FORK_NS_PID = 116;
export const FORK_PIDNS_INODE = 120;
export const FORK_RESERVED = 124;
export const FORK_CGROUP_ID = 128;
export const FORK_LENS = 136;
export const FORK_VAR = 148;
export const FORK_MIN_SIZE = 152;

export const EXEC_PID = 40;
export const EXEC_PPID = 44;
export const EXEC_INODE = 48;
export const EXEC_PREV_INODE = 56;
export const EXEC_CREDS = 64;
export const EXEC_CREDS_MASK = 108;
export const EXEC_GIVEN = 110;
export const EXEC_MOUNT_ID = 112;
export const EXEC_NS_PID = 116;
export const EXEC_PIDNS_INODE = 120;
export const EXEC_RESERVED = 124;
export const EXEC_CGROUP_ID = 128;
export const EXEC_LENS = 136;
export const EXEC_VAR = 148;
export const EXEC_MIN_SIZE = 152;

export const EXIT_PID = 40;
export const EXIT_EXIT_CODE = 44;
export const EXIT_SIZE = 48;

export const CREDS_PID = 40;
export const CREDS_CREDS_MASK = 44;
export const CREDS_CREDS = 48;
export const CREDS_SIZE = 96;

export const RENAME_PID = 40;
export const RENAME_LENS = 44;
export const RENAME_VAR = 46;
export const RENAME_MIN_SIZE = 48;

export const LOST_COUNT = 40;
export const LOST_SIZE = 48;

export const FLUSH_SIZE = 40;

export const DELETE_PID = 40;
export const DELETE_SIZE = 48;

export const REPARENT_PID = 40;
export const REPARENT_PPID = 44;
export const REPARENT_SIZE = 48;

export const LINK_PPID = 40;
export const LINK_RESERVED = 44;
export const LINK_INODE = 48;
export const LINK_FORK_TIME = 56;
export const LINK_SIZE = 64;

export const UNLINK_PPID = 40;
export const UNLINK_RESERVED = 44;
export const UNLINK_FORK_TIME = 48;
export const UNLINK_SIZE = 56;

export const CLOCK_WALL_TIME = 40;
export const CLOCK_SIZE = 48;
