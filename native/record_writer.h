// native/record_writer.h: where a capture thread puts the records it makes.
//
// The BPF reader thread and the netlink thread both produce records in the
// format of src/record/record.h; they hand them to a RecordWriter, which is the shard
// ring producer in the addon (ring.h) and a plain vector in native tests.
#pragma once

#include <cstdint>

namespace forkline {

class RecordWriter {
 public:
  virtual ~RecordWriter() = default;
  // Copies one whole record (len: its size field, a multiple of 8). Returns
  // false when it does not fit now: the record is dropped and counted by the
  // writer (the capture thread must not block on a full ring).
  virtual bool write(const void* record, uint32_t len) = 0;
  // Makes the records written so far visible to the consumer; once per batch.
  virtual void publish() = 0;
};

}  // namespace forkline
