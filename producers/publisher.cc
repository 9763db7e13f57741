#include "producers/publisher.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "infra/check.h"
#include "infra/event_validation.h"
#include "infra/grpc_status.h"
#include "infra/status_macros.h"

namespace kehu::producers {

Publisher::Publisher(std::shared_ptr<grpc::ChannelInterface> channel,
                     std::string target, PublisherOptions options)
    : target_(std::move(target)), options_(options) {
  KEHU_CHECK(channel != nullptr);
  KEHU_CHECK(options_.max_batch_events > 0);
  stub_ = ingest::v1::Ingest::NewStub(std::move(channel));
}

Publisher::Publisher(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    PublisherOptions options)
    : Publisher(grpc::CreateChannel(target, credentials), target, options) {}

Publisher::Publisher(infra::KafkaProducer* producer, PublisherOptions options)
    : kafka_(producer),
      target_(absl::StrCat("Kafka topic ", producer->topic())),
      options_(options) {
  KEHU_CHECK(options_.max_batch_events > 0);
}

Publisher::Publisher(infra::EventLog* log, std::string target,
                     PublisherOptions options)
    : log_(log), target_(std::move(target)), options_(options) {
  KEHU_CHECK(options_.max_batch_events > 0);
}

absl::Status Publisher::Add(events::v1::Event event) {
  if (buffer_.events_size() >= options_.max_batch_events) {
    KEHU_RETURN_IF_ERROR(Flush());
  }
  *buffer_.add_events() = std::move(event);
  return absl::OkStatus();
}

absl::Status Publisher::Flush() {
  const int64_t n = buffer_.events_size();
  if (n == 0) return absl::OkStatus();
  if (kafka_ != nullptr || log_ != nullptr) return FlushDirect();

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMicroseconds(options_.call_deadline));
  ingest::v1::AppendResponse response;
  const grpc::Status rpc = stub_->Append(&context, buffer_, &response);
  if (!rpc.ok()) {
    const absl::Status status = infra::FromGrpcStatus(rpc);
    return absl::Status(status.code(),
                        absl::StrCat("ingest server ", target_, ": Append of ",
                                     n, " events failed (",
                                     absl::StatusCodeToString(status.code()),
                                     "): ", std::string(status.message()),
                                     "; the events stay buffered"));
  }

  // Check the whole answer before counting any of it, so that a confused
  // server cannot leave the report half-updated.
  auto bad_answer = [&](const std::string& what) {
    return absl::InternalError(absl::StrCat("ingest server ", target_,
                                            " answered an Append of ", n,
                                            " events with ", what));
  };
  if (response.accepted_count() < 0 || response.rejected_count() < 0 ||
      response.accepted_count() + response.rejected_count() != n) {
    return bad_answer(absl::StrCat(response.accepted_count(), " accepted and ",
                                   response.rejected_count(), " rejected"));
  }
  if (response.rejected_size() != response.rejected_count()) {
    return bad_answer(absl::StrCat("rejected_count ", response.rejected_count(),
                                   " but ", response.rejected_size(),
                                   " rejections"));
  }
  for (const ingest::v1::Rejected& r : response.rejected()) {
    if (r.index() < 0 || r.index() >= n) {
      return bad_answer(absl::StrCat("a rejection at index ", r.index()));
    }
  }

  report_.accepted += response.accepted_count();
  report_.rejected += response.rejected_count();
  for (const ingest::v1::Rejected& r : response.rejected()) {
    Rejection rejection;
    rejection.index = first_buffered_index_ + r.index();
    rejection.event_id =
        r.event_id().empty()
            ? buffer_.events(static_cast<int>(r.index())).event_id()
            : r.event_id();
    rejection.field = r.field();
    rejection.reason = r.reason();
    report_.rejections.push_back(std::move(rejection));
  }
  first_buffered_index_ += n;
  buffer_.clear_events();
  return absl::OkStatus();
}

absl::Status Publisher::FlushDirect() {
  // The ingest API's rules, applied here because no server is in between.
  std::vector<Rejection> rejections;
  std::vector<infra::LogAppend> records;
  for (int i = 0; i < buffer_.events_size(); ++i) {
    const events::v1::Event& event = buffer_.events(i);
    if (auto invalid = infra::ValidateEvent(event)) {
      rejections.push_back(Rejection{first_buffered_index_ + i,
                                     event.event_id(), invalid->field,
                                     invalid->reason});
      continue;
    }
    records.push_back({event.customer_id(), event.SerializeAsString()});
  }
  // Re-sending the whole batch after a failure is safe: events already
  // appended are folded once (dedup by event id).
  auto failed = [this](const absl::Status& status) {
    return absl::Status(
        status.code(), absl::StrCat(target_, ": ", status.message(),
                                    "; the events stay buffered"));
  };
  if (log_ != nullptr) {
    if (!records.empty()) {
      absl::StatusOr<std::vector<infra::LogPosition>> appended =
          log_->Append(records);
      if (!appended.ok()) return failed(appended.status());
    }
  } else {
    for (const auto& result : kafka_->Produce(records)) {
      if (!result.ok()) return failed(result.status());
    }
  }
  report_.accepted += static_cast<int64_t>(records.size());
  report_.rejected += static_cast<int64_t>(rejections.size());
  for (auto& r : rejections) report_.rejections.push_back(std::move(r));
  first_buffered_index_ += buffer_.events_size();
  buffer_.clear_events();
  return absl::OkStatus();
}

}  // namespace kehu::producers
