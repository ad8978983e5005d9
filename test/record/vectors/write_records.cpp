// Test vectors, C++ -> TypeScript: writes one record of every type, built
// only with the structs and constants of src/record/record.h, to stdout (binary,
// back to back). test/record/record.test.ts decodes them with decodeEvent,
// compares the events with the ones it expects (same values as below, in the
// same order), and compares the bytes with what encodeEvent writes.
//
// Record i (PAD excluded) has cpuSeq = 7 + i and gseq = 99 + i.
//
// Build: g++ -std=c++17 -O1 -Wall -Wextra -I src test/record/vectors/write_records.cpp

#include "record/record.h"  // src/record/record.h, generated (include path: src/)

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

using namespace forkline::record;

namespace {

std::vector<uint8_t> out;
uint64_t seqIndex = 0;

constexpr uint32_t HOST_NS = 4026531836u;
constexpr uint64_t T0 = 1700000000000000000ull;

RecordHeader header(RecordType type, uint16_t flags, uint32_t cpu, uint32_t pidns, uint64_t time) {
  RecordHeader h;
  std::memset(&h, 0, sizeof h);
  h.type = type;
  h.flags = flags;
  h.size = 0;  // set by finish()
  h.cpu = cpu;
  h.pidns = pidns;
  h.time = time;
  h.cpuSeq = 7 + seqIndex;
  h.gseq = 99 + seqIndex;
  seqIndex++;
  return h;
}

// Appends the fixed part of a record; returns where the record starts.
template <class R>
size_t begin(const R& r) {
  size_t at = out.size();
  out.resize(at + sizeof(R));
  std::memcpy(&out[at], &r, sizeof(R));
  return at;
}

void append(const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }

// Zero padding to a multiple of 8, then the size in the header.
void finish(size_t at, uint32_t expectedSize) {
  while ((out.size() - at) % RECORD_ALIGN != 0) out.push_back(0);
  uint32_t size = static_cast<uint32_t>(out.size() - at);
  if (size != expectedSize) {
    std::fprintf(stderr, "record at %zu: size %u, expected %u\n", at, size, expectedSize);
    std::exit(1);
  }
  std::memcpy(&out[at + H_SIZE], &size, sizeof size);
}

// NUL-terminated items concatenated: the argv/envp blob.
std::string list(std::initializer_list<std::string> items) {
  std::string s;
  for (const auto& item : items) {
    s += item;
    s.push_back('\0');
  }
  return s;
}

std::string ctx(const std::string& tty, const std::string& container, const std::string& cgroup) {
  std::string s = tty;
  s.push_back('\0');
  s += container;
  s.push_back('\0');
  s += cgroup;
  return s;
}

// A capability mask is a u64 in two tuple words, lo first. (Takes the record,
// not &r.creds: a pointer to a packed member may be unaligned.)
template <class R>
void setCap(R& r, uint32_t word, uint64_t v) {
  r.creds[word] = static_cast<uint32_t>(v);
  r.creds[word + 1] = static_cast<uint32_t>(v >> 32);
}

// Appends the variable fields of a FORK/EXEC in lens order; `lens` gets their lengths.
template <class R>
void putImage(R& r, const std::string* vars[VAR_COUNT]) {
  uint32_t total = 0;
  for (uint32_t i = 0; i < VAR_COUNT; i++) {
    r.lens[i] = static_cast<uint16_t>(vars[i] ? vars[i]->size() : 0);
    total += r.lens[i];
  }
  size_t at = begin(r);
  for (uint32_t i = 0; i < VAR_COUNT; i++) if (vars[i]) append(*vars[i]);
  finish(at, align8(FORK_VAR + total));
}

void vecFork() {
  ForkRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_FORK, FLAG_KERNEL_THREAD | FLAG_ARGS_TRUNCATED | FLAG_ENVS_TRUNCATED | FLAG_PATH_TRUNCATED, 1, HOST_NS,
                    T0 + 123456789);
  r.pid = 4242;
  r.ppid = 1000;
  r.inode = 0x100000005ull;
  r.execTime = T0 - 1000000000;
  r.creds[CRED_WORD_UID] = 1000;
  r.creds[CRED_WORD_GID] = 1001;
  r.creds[CRED_WORD_EUID] = 0;
  r.creds[CRED_WORD_EGID] = 0;
  r.creds[CRED_WORD_FSUID] = 0;
  r.creds[CRED_WORD_FSGID] = 0;
  r.creds[CRED_WORD_AUID] = 4294967295u;
  setCap(r, CRED_WORD_CAP_EFFECTIVE, 0x000001ffffffffffull);
  setCap(r, CRED_WORD_CAP_PERMITTED, 0x0000000100000001ull);
  r.credsMask = CRED_MASK_ALL;
  r.given = GIVEN_PATH | GIVEN_COMM | GIVEN_ARGV | GIVEN_ENVP | GIVEN_CTX | GIVEN_INTERP;
  r.mountId = 29;
  r.nsPid = 1;
  r.pidnsInode = 4026532301u;
  r.cgroupId = 0x100000abcull;
  const std::string path = "/usr/bin/bash";
  const std::string comm = "bash";
  const std::string argv = list({"bash", "-c", "echo h\xc3\xa9llo", "\xff\xfe"});
  const std::string envp = list({"HOME=/root", "PATH=/usr/bin:/bin"});
  const std::string context = ctx("pts/0", "0123456789abcdef", "/system.slice/docker-0123456789abcdef.scope");
  const std::string interp = "/usr/bin/python3";
  const std::string* vars[VAR_COUNT] = {};
  vars[VAR_PATH] = &path;
  vars[VAR_COMM] = &comm;
  vars[VAR_ARGV] = &argv;
  vars[VAR_ENVP] = &envp;
  vars[VAR_CTX] = &context;
  vars[VAR_INTERP] = &interp;
  putImage(r, vars);
}

// ppid -1, partial credentials, empty argv, ctx given and all empty.
void vecExecPartialCreds() {
  ExecRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_EXEC, FLAG_ARGS_TRUNCATED, 0, 0, T0 + 200000000);
  r.pid = 4242;
  r.ppid = -1;
  r.inode = 1234567;
  r.prevInode = 0x100000005ull;
  r.creds[CRED_WORD_UID] = 1000;
  r.creds[CRED_WORD_EUID] = 0;
  setCap(r, CRED_WORD_CAP_EFFECTIVE, 0x3fffffffffull);
  r.credsMask = CRED_UID | CRED_EUID | CRED_CAP_EFFECTIVE;
  r.given = GIVEN_PATH | GIVEN_COMM | GIVEN_ARGV | GIVEN_CTX;
  const std::string path = "/usr/bin/sudo";
  const std::string comm = "sudo";
  const std::string empty;
  const std::string* vars[VAR_COUNT] = {};
  vars[VAR_PATH] = &path;
  vars[VAR_COMM] = &comm;
  vars[VAR_ARGV] = &empty;
  vars[VAR_CTX] = &empty;
  putImage(r, vars);
}

// Partial context: tty and cgroup given, containerId not; a cut path (none given); some namespace fields unknown.
void vecExecPartialCtx() {
  ExecRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_EXEC, FLAG_PATH_TRUNCATED, 1, HOST_NS, T0 + 250000000);
  r.pid = 4243;
  r.ppid = 4242;
  r.nsPid = 4243;
  r.pidnsInode = HOST_NS;
  r.cgroupId = 1;
  r.given = GIVEN_CTX_TTY | GIVEN_CTX_CGROUP;
  const std::string context = ctx("pts/1", "", "/user.slice");
  const std::string* vars[VAR_COUNT] = {};
  vars[VAR_CTX] = &context;
  putImage(r, vars);
}

void vecExit() {
  ExitRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_EXIT, 0, 1, HOST_NS, T0 + 300000000);
  r.pid = 4242;
  r.exitCode = 256;
  finish(begin(r), EXIT_SIZE);
}

void vecCreds() {
  CredsRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_CREDS, 0, 1, HOST_NS, T0 + 400000000);
  r.pid = 4242;
  r.credsMask = CRED_GID | CRED_EGID | CRED_FSGID | CRED_CAP_PERMITTED;
  r.creds[CRED_WORD_GID] = 27;
  r.creds[CRED_WORD_EGID] = 27;
  r.creds[CRED_WORD_FSGID] = 27;
  setCap(r, CRED_WORD_CAP_PERMITTED, 0xffffffffffffffffull);
  finish(begin(r), CREDS_SIZE);
}

void vecRename() {
  RenameRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_RENAME, 0, 1, HOST_NS, T0 + 500000000);
  r.pid = 4242;
  const std::string comm = "worker-thread-1";  // 15 bytes: the bound
  r.lens[0] = static_cast<uint16_t>(comm.size());
  size_t at = begin(r);
  append(comm);
  finish(at, align8(RENAME_VAR + comm.size()));
}

void vecLost() {
  LostRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_LOST, 0, 3, 0, T0 + 600000000);
  r.count = 12;
  finish(begin(r), LOST_SIZE);
}

void vecPad() {
  // a PAD carries only type, flags and size
  size_t at = out.size();
  out.resize(at + 16, 0);
  uint16_t type = REC_PAD;
  std::memcpy(&out[at + H_TYPE], &type, sizeof type);
  finish(at, 16);
}

void vecFlush() {
  FlushRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_FLUSH, 0, 0, 0, T0 + 700000000);
  finish(begin(r), FLUSH_SIZE);
}

void vecDelete() {
  DeleteRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_DELETE, 0, 0, 4026532000u, T0 + 800000000);
  r.pid = 55;
  finish(begin(r), DELETE_SIZE);
}

void vecReparent() {
  ReparentRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_REPARENT, 0, 1, HOST_NS, T0 + 900000000);
  r.pid = 77;
  r.ppid = 1;
  finish(begin(r), REPARENT_SIZE);
}

void vecLink() {
  LinkRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_LINK, 0, 1, HOST_NS, T0 + 123456789);
  r.ppid = 1000;
  r.inode = 0x100000005ull;
  r.forkTime = T0 + 123456789;
  finish(begin(r), LINK_SIZE);
}

void vecUnlink() {
  UnlinkRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_UNLINK, 0, 1, HOST_NS, T0 + 950000000);
  r.ppid = 1000;
  r.forkTime = T0 + 123456789;
  finish(begin(r), UNLINK_SIZE);
}

void vecClock() {
  ClockRecord r;
  std::memset(&r, 0, sizeof r);
  r.header = header(REC_CLOCK, 0, 0, 0, T0 + 999000000);
  r.wallTime = 1732780800000000000ull;
  finish(begin(r), CLOCK_SIZE);
}

}  // namespace

int main() {
  vecFork();
  vecExecPartialCreds();
  vecExecPartialCtx();
  vecExit();
  vecCreds();
  vecRename();
  vecLost();
  vecPad();
  vecFlush();
  vecDelete();
  vecReparent();
  vecLink();
  vecUnlink();
  vecClock();
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return 1;
  return std::fflush(stdout) == 0 ? 0 : 1;
}
