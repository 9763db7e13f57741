// Publisher: the C++ client of kehu.ingest.v1.Ingest. Upstream systems
// that link C++ hand it events; it sends them to a kehu server in batches
// and keeps a report of what the server accepted and rejected. Constructed
// with a KafkaProducer or an EventLog instead, it publishes straight to the
// Kafka event topic or to the log (an embedded log for a bulk load),
// validating each event as the ingest API would.
//
// Operation
//   Add() buffers an event and gives it the next index (0, 1, 2, ... over
//   all successful Add() calls). When the buffer already holds
//   max_batch_events, Add() first sends it with one Append call. Flush()
//   sends whatever is buffered. The server appends the valid events of a
//   batch and rejects the others, naming the field; the report lists each
//   rejection with the caller's index, not the index within the batch.
//
//   If an Append call fails (server unreachable, deadline exceeded, ...),
//   the error names the server, nothing of that batch is counted, and the
//   batch stays buffered: calling Flush() again re-sends it. Re-sending is
//   safe because an event whose event_id was already appended changes
//   nothing downstream.
//
// Concurrency
//   Not thread-safe: use one Publisher per thread (they may share a
//   channel).
//
// Limitations
//   The destructor does not flush: call Flush() and check it before
//   dropping a Publisher, or the buffered events are lost.
#ifndef KEHU_PRODUCERS_PUBLISHER_H_
#define KEHU_PRODUCERS_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "infra/event_log.h"
#include "infra/kafka_producer.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"

namespace kehu::producers {

struct PublisherOptions {
  // Most events sent in one Append call. REQUIRES: positive. The server
  // takes at most kMaxEventsPerRequest (ingest_service.h) and, by default,
  // 64 MiB per call (infra/app/server.h).
  int max_batch_events = 1000;
  // Deadline of each Append call, from the moment it is sent.
  absl::Duration call_deadline = absl::Seconds(30);
};

// An event the server refused.
struct Rejection {
  // Position of the event among all successful Add() calls, from 0.
  int64_t index = 0;
  std::string event_id;
  // The offending field, e.g. "order_placed.lines[2].quantity".
  std::string field;
  // The rule it broke, e.g. "must be positive, got -2".
  std::string reason;
};

// What the server said about every event sent so far.
struct PublishReport {
  int64_t accepted = 0;
  int64_t rejected = 0;
  // In the order the server reported them; indexes increase across batches.
  std::vector<Rejection> rejections;
};

class Publisher {
 public:
  // Sends over `channel`; `target` only names the server in error messages
  // ("localhost:7070"). REQUIRES: channel != nullptr.
  Publisher(std::shared_ptr<grpc::ChannelInterface> channel, std::string target,
            PublisherOptions options = {});

  // Opens a channel to `target` with `credentials`, e.g.
  // grpc::InsecureChannelCredentials(). Connecting is lazy: an unreachable
  // server shows as an error of the first Append.
  Publisher(const std::string& target,
            const std::shared_ptr<grpc::ChannelCredentials>& credentials,
            PublisherOptions options = {});

  // Publishes straight to a Kafka topic through `producer` (not owned; it
  // must outlive the publisher): each event is validated as the ingest API
  // validates it, the valid ones are produced (key = customer_id, value =
  // the serialized event) and their deliveries checked. options'
  // call_deadline does not apply (the producer's own timeouts do).
  Publisher(infra::KafkaProducer* producer, PublisherOptions options = {});

  // Appends straight to an event log (not owned; it must outlive the
  // publisher) — the embedded log of a stopped server, for bulk loads of
  // history: validated as above, each batch appended in one call, so a
  // batch is durable when Flush() returns. `target` names it in errors.
  Publisher(infra::EventLog* log, std::string target,
            PublisherOptions options = {});

  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Buffers `event`, first sending the buffer if it is full. On error the
  // event was not buffered (and did not take an index); the earlier batch
  // is still buffered.
  absl::Status Add(events::v1::Event event);

  // Sends the buffered events, if any, in one Append call, and adds the
  // server's answer to report(). On error nothing of the batch is counted
  // and it stays buffered.
  absl::Status Flush();

  const PublishReport& report() const { return report_; }

  // Events added but not yet sent successfully.
  int64_t buffered() const { return buffer_.events_size(); }

 private:
  // Flush() for the Kafka and the log paths: the ingest API's rules, then
  // the valid events out.
  absl::Status FlushDirect();

  // Exactly one of the three is set.
  infra::KafkaProducer* kafka_ = nullptr;
  infra::EventLog* log_ = nullptr;
  std::unique_ptr<ingest::v1::Ingest::StubInterface> stub_;
  std::string target_;
  PublisherOptions options_;
  ingest::v1::AppendRequest buffer_;
  // Caller's index of buffer_.events(0).
  int64_t first_buffered_index_ = 0;
  PublishReport report_;
};

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_PUBLISHER_H_
