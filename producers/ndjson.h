// NDJSON: events as newline-delimited JSON, one Event per line in
// protobuf's canonical JSON mapping (the shape grpcurl and the ingest API
// speak). `kehu produce` reads it; `kehu simulate` can write it.
//
//   {"eventId":"e-1","customerId":"C000042","occurredAt":"2025-03-01T09:30:00Z",
//    "source":"webshop","orderPlaced":{"orderId":"O1","currency":"EUR",...}}
//
// Field names may be lowerCamelCase (as written) or the proto names
// (customer_id). Unknown field names are an error, not silently dropped: an
// integrator who misspells a field learns it on the first line.
#ifndef KEHU_PRODUCERS_NDJSON_H_
#define KEHU_PRODUCERS_NDJSON_H_

#include <cstdint>
#include <istream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kehu/events/v1/events.pb.h"

namespace kehu::producers {

// Returns `event` as one line of compact canonical JSON, ending in '\n'.
// Fails (InvalidArgument) only for values JSON cannot express, such as a
// timestamp outside the years 0001..9999.
absl::StatusOr<std::string> ToNdjsonLine(const events::v1::Event& event);

// Parses one line of NDJSON into an Event. Errors are InvalidArgument and
// say what is wrong: a syntax error with the text near it, an unknown field
// by name, a value of the wrong type with the field's path. The event is
// only parsed, not validated (see infra/event_validation.h).
absl::StatusOr<events::v1::Event> ParseNdjsonLine(const std::string& line);

// Reads events from a stream of NDJSON, one line at a time. Blank lines are
// skipped; a line that does not parse is reported and skipped, so the
// caller decides whether to stop or go on:
//
//   NdjsonReader reader(&in);
//   events::v1::Event event;
//   while (true) {
//     absl::StatusOr<bool> got = reader.Next(&event);
//     if (!got.ok()) { report(got.status()); continue; }  // "line 7: ..."
//     if (!*got) break;                                   // end of input
//     use(event);
//   }
//
// Not thread-safe. The stream must outlive the reader.
class NdjsonReader {
 public:
  explicit NdjsonReader(std::istream* in);

  NdjsonReader(const NdjsonReader&) = delete;
  NdjsonReader& operator=(const NdjsonReader&) = delete;

  // Reads the next event into *event and returns true, or returns false at
  // the end of the input. A bad line gives InvalidArgument("line N: ...")
  // and the reader moves past it, so the next call reads the line after.
  // A failing stream gives DataLoss and is then the end of the input.
  absl::StatusOr<bool> Next(events::v1::Event* event);

  // 1-based number of the line last read (0 before the first call).
  int64_t line_number() const { return line_number_; }

 private:
  std::istream* in_;
  int64_t line_number_ = 0;
  bool done_ = false;
};

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_NDJSON_H_
