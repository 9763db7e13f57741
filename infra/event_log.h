// EventLog: the durable, partitioned, append-only log of events that is
// kehu's system of record. Two implementations share this interface: the
// embedded log (infra/embedded_log.h, one machine) and Kafka.
//
// Operation: a record's partition is murmur2(key) the way Kafka's Java
// client computes it (infra/murmur2.h), so a customer's events land in the
// same partition whichever backend or client wrote them. Offsets within a
// partition start at 0 and grow by one per record.
//
// Concurrency: every method is safe to call from any thread.
#ifndef KEHU_INFRA_EVENT_LOG_H_
#define KEHU_INFRA_EVENT_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace kehu::infra {

// A record to append: key = customer_id bytes, value = a serialized
// kehu.events.v1.Event (or whatever bytes a producer sent).
struct LogAppend {
  std::string key;
  std::string value;
};

struct LogPosition {
  int32_t partition = 0;
  int64_t offset = 0;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

struct LogRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

// A record's position, key and value without a copy of the bytes: valid as
// long as what it points into.
struct LogRecordView {
  explicit LogRecordView(const LogRecord& record)
      : partition(record.partition),
        offset(record.offset),
        key(record.key),
        value(record.value) {}
  LogRecordView(int32_t partition, int64_t offset, std::string_view key,
                std::string_view value)
      : partition(partition), offset(offset), key(key), value(value) {}

  int32_t partition;
  int64_t offset;
  std::string_view key;
  std::string_view value;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Number of partitions; fixed for the life of the log.
  virtual int32_t partition_count() const = 0;

  // Appends each record to the partition of its key. Returns the records'
  // positions, in the order given, only once all of them are durable. On
  // error none of the positions are known; the caller may retry (the
  // projector deduplicates by event id).
  virtual absl::StatusOr<std::vector<LogPosition>> Append(
      absl::Span<const LogAppend> records) = 0;

  // Appends to `out` the records of `partition` from `offset` on, at most
  // `max_records`; fewer, or none, at the end of the log.
  // REQUIRES: 0 <= partition < partition_count(), offset >= 0.
  virtual absl::Status Read(int32_t partition, int64_t offset,
                            size_t max_records,
                            std::vector<LogRecord>* out) = 0;

  // Calls `visit` with each record Read() would give, in order, stopping at
  // the first error `visit` returns, and returns it. The view is valid
  // during the call only; a log that can (the embedded one) gives views
  // into its own buffers instead of copies. Records visited before an error
  // of the log's own stay visited.
  // REQUIRES: as Read().
  virtual absl::Status Scan(
      int32_t partition, int64_t offset, size_t max_records,
      absl::FunctionRef<absl::Status(const LogRecordView&)> visit) {
    std::vector<LogRecord> records;
    if (absl::Status s = Read(partition, offset, max_records, &records);
        !s.ok()) {
      return s;
    }
    for (const LogRecord& record : records) {
      if (absl::Status s = visit(LogRecordView(record)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The offset the next record appended to `partition` will get.
  virtual int64_t EndOffset(int32_t partition) const = 0;

  // Blocks until `partition` holds a record at `offset` or beyond, until
  // `deadline`, or until Shutdown(). Returns true when such a record exists.
  virtual bool WaitForData(int32_t partition, int64_t offset,
                           absl::Time deadline) = 0;

  // Wakes every waiter; later waits return at once. Appends after Shutdown()
  // fail with CANCELLED.
  virtual void Shutdown() = 0;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_EVENT_LOG_H_
