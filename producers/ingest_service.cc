#include "producers/ingest_service.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "infra/event_validation.h"
#include "infra/grpc_status.h"
#include "infra/status_macros.h"

namespace kehu::producers {
namespace {

// Validates and appends the events of `request`, whose first event has
// index `first_index` (non-zero on a stream), adding to `response`. On error
// `response` is unchanged: either the request was refused before anything
// was appended, or the log failed and no position is known.
absl::Status AppendBatch(infra::EventLog& log,
                         const ingest::v1::AppendRequest& request,
                         int64_t first_index,
                         ingest::v1::AppendResponse* response) {
  if (request.events_size() > kMaxEventsPerRequest) {
    return absl::InvalidArgumentError(
        absl::StrCat("events: at most ", kMaxEventsPerRequest,
                     " per request, got ", request.events_size()));
  }
  std::vector<infra::LogAppend> records;
  std::vector<int64_t> record_indexes;
  std::vector<ingest::v1::Rejected> rejected;
  records.reserve(request.events_size());
  record_indexes.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    const events::v1::Event& event = request.events(i);
    const int64_t index = first_index + i;
    if (std::optional<infra::InvalidField> bad = infra::ValidateEvent(event)) {
      ingest::v1::Rejected& r = rejected.emplace_back();
      r.set_index(index);
      r.set_event_id(event.event_id());
      r.set_field(std::move(bad->field));
      r.set_reason(std::move(bad->reason));
      continue;
    }
    records.push_back(
        infra::LogAppend{event.customer_id(), event.SerializeAsString()});
    record_indexes.push_back(index);
  }

  std::vector<infra::LogPosition> positions;
  if (!records.empty()) {
    KEHU_ASSIGN_OR_RETURN(positions, log.Append(records));
    if (positions.size() != records.size()) {
      return absl::InternalError(
          absl::StrCat("event log returned ", positions.size(),
                       " positions for ", records.size(), " appended events"));
    }
  }
  for (size_t i = 0; i < positions.size(); ++i) {
    ingest::v1::Accepted* a = response->add_accepted();
    a->set_index(record_indexes[i]);
    a->set_partition(positions[i].partition);
    a->set_offset(positions[i].offset);
  }
  for (ingest::v1::Rejected& r : rejected) {
    *response->add_rejected() = std::move(r);
  }
  response->set_accepted_count(response->accepted_size());
  response->set_rejected_count(response->rejected_size());
  return absl::OkStatus();
}

absl::Status AppendAll(infra::EventLog& log,
                       grpc::ServerReader<ingest::v1::AppendRequest>& reader,
                       ingest::v1::AppendResponse* response) {
  int64_t next_index = 0;
  ingest::v1::AppendRequest request;
  while (reader.Read(&request)) {
    KEHU_RETURN_IF_ERROR(AppendBatch(log, request, next_index, response));
    next_index += request.events_size();
  }
  return absl::OkStatus();
}

}  // namespace

IngestService::IngestService(infra::EventLog* log) : log_(log) {}

grpc::Status IngestService::Append(grpc::ServerContext* context,
                                   const ingest::v1::AppendRequest* request,
                                   ingest::v1::AppendResponse* response) {
  return infra::ToGrpcStatus(AppendBatch(*log_, *request, 0, response));
}

grpc::Status IngestService::AppendStream(
    grpc::ServerContext* context,
    grpc::ServerReader<ingest::v1::AppendRequest>* reader,
    ingest::v1::AppendResponse* response) {
  return infra::ToGrpcStatus(AppendAll(*log_, *reader, response));
}

}  // namespace kehu::producers
