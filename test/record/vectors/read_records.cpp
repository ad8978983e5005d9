// Test vectors, TypeScript -> C++: reads a file of records written by
// encodeEvent (back to back) and prints each one's fields as one JSON object
// per line, reading them only through the structs and constants of
// src/record/record.h. test/record/record.test.ts compares the lines with the
// fields it expects from the events it encoded.
//
// u64 fields are printed as decimal strings; variable fields as lowercase hex
// strings in lens order ("vars"). "zeroPad" says whether the bytes between
// the end of the data and the record's size are all zero.
//
// Build: g++ -std=c++17 -O1 -Wall -Wextra -I src test/record/vectors/read_records.cpp

#include "record/record.h"  // src/record/record.h, generated (include path: src/)

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace forkline::record;

namespace {

std::vector<uint8_t> buf;

std::string u64(uint64_t v) { return "\"" + std::to_string(v) + "\""; }

std::string hex(size_t at, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s = "\"";
  for (size_t i = 0; i < n; i++) {
    s.push_back(digits[buf[at + i] >> 4]);
    s.push_back(digits[buf[at + i] & 15]);
  }
  return s + "\"";
}

template <class R>
R load(size_t off) {
  R r;
  std::memcpy(&r, &buf[off], sizeof r);
  return r;
}

template <class R>
std::string creds(const R& r) {
  std::string s = "[";
  for (uint32_t w = 0; w < CRED_WORD_COUNT; w++) s += (w ? "," : "") + std::to_string(r.creds[w]);
  return s + "]";
}

// The namespace fields FORK and EXEC share (copied out: members of a packed struct).
template <class R>
std::string namespaces(const R& r) {
  const uint32_t mountId = r.mountId, nsPid = r.nsPid, pidnsInode = r.pidnsInode, reserved = r.reserved;
  const uint64_t cgroupId = r.cgroupId;
  return ",\"mountId\":" + std::to_string(mountId) + ",\"nsPid\":" + std::to_string(nsPid) +
         ",\"pidnsInode\":" + std::to_string(pidnsInode) + ",\"reserved\":" + std::to_string(reserved) +
         ",\"cgroupId\":" + u64(cgroupId);
}

// The variable fields of a record whose lens table has `count` entries; returns where the data ends.
template <class R>
size_t vars(const R& r, size_t off, uint32_t varOffset, uint32_t count, std::string& json) {
  size_t at = off + varOffset;
  json += ",\"vars\":[";
  for (uint32_t i = 0; i < count; i++) {
    json += (i ? "," : "") + hex(at, r.lens[i]);
    at += r.lens[i];
  }
  json += "]";
  return at;
}

bool zeroFrom(size_t from, size_t to) {
  for (size_t p = from; p < to; p++) if (buf[p] != 0) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) {
    std::perror(argv[1]);
    return 2;
  }
  uint8_t chunk[65536];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + n);
  std::fclose(f);

  size_t off = 0;
  while (off < buf.size()) {
    if (off % RECORD_ALIGN != 0 || buf.size() - off < PAD_MIN_SIZE) {
      std::printf("{\"error\":\"bad offset %zu\"}\n", off);
      return 1;
    }
    uint16_t type;
    uint32_t size;
    std::memcpy(&type, &buf[off + H_TYPE], sizeof type);
    std::memcpy(&size, &buf[off + H_SIZE], sizeof size);
    if (size % RECORD_ALIGN != 0 || size < PAD_MIN_SIZE || size > MAX_RECORD_SIZE || size > buf.size() - off ||
        (type != REC_PAD && size < HEADER_SIZE)) {
      std::printf("{\"error\":\"bad size %u at %zu\"}\n", size, off);
      return 1;
    }
    if (type == REC_PAD) {
      std::printf("{\"type\":0,\"size\":%u}\n", size);
      off += size;
      continue;
    }
    const RecordHeader h = load<RecordHeader>(off);
    std::string j = "{\"type\":" + std::to_string(h.type) + ",\"flags\":" + std::to_string(h.flags) +
                    ",\"size\":" + std::to_string(h.size) + ",\"cpu\":" + std::to_string(h.cpu) +
                    ",\"pidns\":" + std::to_string(h.pidns) + ",\"time\":" + u64(h.time) +
                    ",\"cpuSeq\":" + u64(h.cpuSeq) + ",\"gseq\":" + u64(h.gseq);
    size_t end = off;  // end of the data
    switch (h.type) {
      case REC_FORK: {
        const auto r = load<ForkRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid) + ",\"ppid\":" + std::to_string(r.ppid) + ",\"inode\":" + u64(r.inode) +
             ",\"execTime\":" + u64(r.execTime) + ",\"creds\":" + creds(r) +
             ",\"credsMask\":" + std::to_string(r.credsMask) + ",\"given\":" + std::to_string(r.given) + namespaces(r);
        end = vars(r, off, FORK_VAR, VAR_COUNT, j);
        break;
      }
      case REC_EXEC: {
        const auto r = load<ExecRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid) + ",\"ppid\":" + std::to_string(r.ppid) + ",\"inode\":" + u64(r.inode) +
             ",\"prevInode\":" + u64(r.prevInode) + ",\"creds\":" + creds(r) +
             ",\"credsMask\":" + std::to_string(r.credsMask) + ",\"given\":" + std::to_string(r.given) + namespaces(r);
        end = vars(r, off, EXEC_VAR, VAR_COUNT, j);
        break;
      }
      case REC_EXIT: {
        const auto r = load<ExitRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid) + ",\"exitCode\":" + std::to_string(r.exitCode);
        end = off + sizeof r;
        break;
      }
      case REC_CREDS: {
        const auto r = load<CredsRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid) + ",\"credsMask\":" + std::to_string(r.credsMask) + ",\"creds\":" + creds(r);
        end = off + sizeof r;
        break;
      }
      case REC_RENAME: {
        const auto r = load<RenameRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid);
        end = vars(r, off, RENAME_VAR, 1, j);
        break;
      }
      case REC_LOST: {
        const auto r = load<LostRecord>(off);
        j += ",\"count\":" + std::to_string(r.count);
        end = off + sizeof r;
        break;
      }
      case REC_FLUSH:
        end = off + sizeof(FlushRecord);
        break;
      case REC_DELETE: {
        const auto r = load<DeleteRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid);
        end = off + sizeof r;
        break;
      }
      case REC_REPARENT: {
        const auto r = load<ReparentRecord>(off);
        j += ",\"pid\":" + std::to_string(r.pid) + ",\"ppid\":" + std::to_string(r.ppid);
        end = off + sizeof r;
        break;
      }
      case REC_LINK: {
        const auto r = load<LinkRecord>(off);
        j += ",\"ppid\":" + std::to_string(r.ppid) + ",\"reserved\":" + std::to_string(r.reserved) +
             ",\"inode\":" + u64(r.inode) + ",\"forkTime\":" + u64(r.forkTime);
        end = off + sizeof r;
        break;
      }
      case REC_UNLINK: {
        const auto r = load<UnlinkRecord>(off);
        j += ",\"ppid\":" + std::to_string(r.ppid) + ",\"reserved\":" + std::to_string(r.reserved) +
             ",\"forkTime\":" + u64(r.forkTime);
        end = off + sizeof r;
        break;
      }
      case REC_CLOCK: {
        const auto r = load<ClockRecord>(off);
        j += ",\"wallTime\":" + u64(r.wallTime);
        end = off + sizeof r;
        break;
      }
      default:
        std::printf("{\"error\":\"unknown type %u at %zu\"}\n", h.type, off);
        return 1;
    }
    if (end > off + size) {
      std::printf("{\"error\":\"data runs past size at %zu\"}\n", off);
      return 1;
    }
    j += std::string(",\"zeroPad\":") + (zeroFrom(end, off + size) && align8(end - off) == size ? "true" : "false");
    std::printf("%s}\n", j.c_str());
    off += size;
  }
  return 0;
}
