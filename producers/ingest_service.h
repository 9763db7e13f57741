// IngestService: the kehu.ingest.v1.Ingest gRPC service, through which
// upstream systems append events to the event log.
//
// Operation: each event of a request is checked with infra::ValidateEvent();
// the ones that break a rule are reported in `rejected` (index, event id,
// field path, rule) and the others are appended to the log in one
// EventLog::Append call per request, keyed by customer_id, so a customer's
// events keep their order within a partition. The RPC answers only once the
// log reports them durable, with their positions in `accepted`. If the log
// append fails, the RPC fails with the log's status and no event of that
// request is reported accepted (the client may re-send: the projector
// deduplicates by event id). AppendStream does the same for each message of
// the stream as it arrives, counting indexes across the stream, and answers
// once at the end.
//
// Concurrency: stateless apart from the log pointer; gRPC may call the
// methods from any number of threads at once (EventLog is thread-safe).
//
// Limitations: a message holds at most kMaxEventsPerRequest events; a larger
// one fails the RPC with INVALID_ARGUMENT (on a stream, after the earlier
// messages were appended). Events are not deduplicated here.
#ifndef KEHU_PRODUCERS_INGEST_SERVICE_H_
#define KEHU_PRODUCERS_INGEST_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "infra/event_log.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"

namespace kehu::producers {

// Most events one AppendRequest may carry.
inline constexpr int kMaxEventsPerRequest = 10000;

class IngestService final : public ingest::v1::Ingest::Service {
 public:
  // REQUIRES: `log` outlives the service (and the server it is registered
  // with).
  explicit IngestService(infra::EventLog* log);

  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  grpc::Status Append(grpc::ServerContext* context,
                      const ingest::v1::AppendRequest* request,
                      ingest::v1::AppendResponse* response) override;

  grpc::Status AppendStream(
      grpc::ServerContext* context,
      grpc::ServerReader<ingest::v1::AppendRequest>* reader,
      ingest::v1::AppendResponse* response) override;

 private:
  infra::EventLog* const log_;  // not owned
};

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_INGEST_SERVICE_H_
