#include "query/query_service.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "infra/event_validation.h"
#include "infra/grpc_status.h"
#include "infra/reference_time.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "query/customer_explanation.h"
#include "query/customer_history.h"
#include "query/customer_view.h"
#include "query/segment_reports.h"
#include "rocksdb/snapshot.h"

namespace kehu::query {
namespace {

using infra::schema::Family;
using infra::schema::IndexMetric;

absl::Status CheckCustomerId(const std::string& id) {
  if (id.empty()) {
    return absl::InvalidArgumentError("customer_id: must not be empty");
  }
  if (id.size() > infra::kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer_id: must be at most ", infra::kMaxIdBytes,
                     " bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<IndexMetric> ToIndexMetric(query::v1::Metric metric) {
  switch (metric) {
    case query::v1::METRIC_REVENUE:
      return IndexMetric::kRevenue;
    case query::v1::METRIC_MARGIN:
      return IndexMetric::kMargin;
    case query::v1::METRIC_PURCHASE_COUNT:
      return IndexMetric::kPurchaseCount;
    case query::v1::METRIC_UNSPECIFIED:
      return absl::InvalidArgumentError(
          "metric: must be set (METRIC_REVENUE, METRIC_MARGIN or "
          "METRIC_PURCHASE_COUNT)");
    default:
      // A newer client may send a metric this server does not know.
      return absl::InvalidArgumentError(
          absl::StrCat("metric: unknown value ", static_cast<int>(metric)));
  }
}

// Timeline entries one call examines at most (with a type filter, a page
// may need to skip many).
constexpr int64_t kMaxTimelineExamined = 10000;

// The full view: the stored facts plus what is evaluated at as_of.
query::v1::CustomerView FullView(const store::v1::CustomerState& state,
                                 absl::Time as_of,
                                 const infra::ProjectionStore& store,
                                 const store::v1::PopulationModel& population,
                                 const QueryServiceOptions& options) {
  query::v1::CustomerView view = ToCustomerView(state);
  EvaluateCustomer(state, as_of, store.reporting_currency(), population,
                   options.analytics, &view);
  return view;
}

// A customer as of a reference time, with the population to place them in.
struct CustomerAt {
  // Their state then, rebuilt from their timeline; empty when the stored
  // row is that state (no copy of it is made).
  std::optional<store::v1::CustomerState> rebuilt;
  std::shared_ptr<const store::v1::PopulationModel> population;
  // The population snapshot it came from; "" for the store's last fit.
  std::string snapshot;

  // `current`: the stored row the CustomerAt was made from.
  const store::v1::CustomerState& state(
      const store::v1::CustomerState& current) const {
    return rebuilt.has_value() ? *rebuilt : current;
  }
};

// The customer's stored row; NOT_FOUND for an unknown customer.
absl::StatusOr<store::v1::CustomerState> ReadCurrent(
    const infra::ProjectionStore& store, const std::string& customer_id) {
  KEHU_ASSIGN_OR_RETURN(std::optional<store::v1::CustomerState> current,
                        store.GetCustomer(customer_id));
  if (!current.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("customer ", customer_id, " not found"));
  }
  return *std::move(current);
}

// What the customer's own events said at `as_of` (customer_history.h), and
// the population measured last at or before as_of: the store's last fit,
// unless it is later and a snapshot (population_history.h) is not.
// NOT_FOUND for a customer without events by as_of.
absl::StatusOr<CustomerAt> CustomerAtTime(
    const infra::ProjectionStore& store, const QueryServiceOptions& options,
    const store::v1::CustomerState& current, absl::Time as_of) {
  CustomerAt at{std::nullopt, store.population(), ""};
  if (!RowAnswersAsOf(current, as_of)) {
    KEHU_ASSIGN_OR_RETURN(at.rebuilt, CustomerStateAsOf(store, current, as_of));
    if (!at.rebuilt.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "customer ", current.customer_id(), " had no events at or before ",
          absl::FormatTime(absl::RFC3339_full, as_of, absl::UTCTimeZone()),
          " (as_of)"));
    }
  }
  if (options.history != nullptr) {
    std::optional<PopulationSnapshot> past = options.history->AtOrBefore(as_of);
    const int64_t as_of_us = absl::ToUnixMicros(as_of);
    if (past.has_value() &&
        (at.population->as_of_us() > as_of_us ||
         past->population->as_of_us() > at.population->as_of_us())) {
      at.population = past->population;
      at.snapshot = past->name;
    }
  }
  return at;
}

// A GetCustomer request checked, with the customer's stored row read from
// the store it is answered from.
struct CustomerLookup {
  std::shared_ptr<const infra::ProjectionStore> store;
  absl::Time as_of;
  store::v1::CustomerState current;
};

absl::StatusOr<CustomerLookup> LookUpCustomer(
    std::shared_ptr<const infra::ProjectionStore> store,
    const QueryServiceOptions& options,
    const query::v1::GetCustomerRequest& request) {
  KEHU_RETURN_IF_ERROR(CheckCustomerId(request.customer_id()));
  KEHU_ASSIGN_OR_RETURN(
      absl::Time as_of,
      infra::ReferenceTime(request.as_of(), request.has_as_of(),
                           options.clock(), options.max_clock_skew));
  KEHU_ASSIGN_OR_RETURN(store::v1::CustomerState current,
                        ReadCurrent(*store, request.customer_id()));
  return CustomerLookup{std::move(store), as_of, std::move(current)};
}

// The view GetCustomer answers for a looked-up customer.
absl::Status ViewAt(const CustomerLookup& lookup,
                    const QueryServiceOptions& options,
                    query::v1::CustomerView* response) {
  KEHU_ASSIGN_OR_RETURN(CustomerAt at,
                        CustomerAtTime(*lookup.store, options, lookup.current,
                                       lookup.as_of));
  *response = FullView(at.state(lookup.current), lookup.as_of, *lookup.store,
                       *at.population, options);
  response->mutable_segments()->set_population_snapshot(at.snapshot);
  return absl::OkStatus();
}

absl::Status ExplainClassification(const infra::ProjectionStore& store,
                                   const QueryServiceOptions& options,
                                   const query::v1::ExplainRequest& request,
                                   query::v1::ExplainResponse* response) {
  // Every argument is checked before the store is read, so a bad request is
  // INVALID_ARGUMENT whether or not the customer exists.
  KEHU_RETURN_IF_ERROR(CheckCustomerId(request.customer_id()));
  KEHU_RETURN_IF_ERROR(CheckExplainRequest(request));
  KEHU_ASSIGN_OR_RETURN(
      absl::Time as_of,
      infra::ReferenceTime(request.as_of(), request.has_as_of(),
                           options.clock(), options.max_clock_skew));
  // The customer and population GetCustomer at the same as_of uses.
  KEHU_ASSIGN_OR_RETURN(store::v1::CustomerState current,
                        ReadCurrent(store, request.customer_id()));
  KEHU_ASSIGN_OR_RETURN(CustomerAt at,
                        CustomerAtTime(store, options, current, as_of));
  KEHU_RETURN_IF_ERROR(ExplainCustomer(store, at.state(current), *at.population,
                                       as_of, options.analytics, request,
                                       response));
  response->set_population_snapshot(at.snapshot);
  return absl::OkStatus();
}

// Reads the customer row named by an index entry, at `snapshot`. The
// projector writes index entries and rows in one batch, so an entry without
// a row means the store is damaged.
absl::StatusOr<store::v1::CustomerState> ReadIndexedCustomer(
    const infra::ProjectionStore& store, const rocksdb::Snapshot* snapshot,
    const std::string& customer_id) {
  KEHU_ASSIGN_OR_RETURN(std::optional<store::v1::CustomerState> state,
                        store.GetCustomer(customer_id, snapshot));
  if (!state.has_value()) {
    return absl::DataLossError(absl::StrCat(
        "index names customer ", customer_id, ", who has no customer row"));
  }
  return std::move(*state);
}

absl::Status ListTopCustomers(const infra::ProjectionStore& store,
                              const QueryServiceOptions& options,
                              const query::v1::TopCustomersRequest& request,
                              query::v1::TopCustomersResponse* response) {
  KEHU_ASSIGN_OR_RETURN(IndexMetric metric, ToIndexMetric(request.metric()));
  if (request.limit() < 1 || request.limit() > kMaxTopCustomers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit: must lie in 1..", kMaxTopCustomers, ", got ", request.limit()));
  }
  response->set_metric(request.metric());
  response->set_currency(store.reporting_currency());
  KEHU_ASSIGN_OR_RETURN(
      absl::Time as_of,
      infra::ReferenceTime(request.as_of(), request.has_as_of(),
                           options.clock(), options.max_clock_skew));
  const auto population = store.population();

  const std::string prefix = infra::schema::IndexPrefix(metric);
  // The prefix is the metric's one byte, so the next byte value bounds it.
  const std::string upper = infra::schema::IndexPrefix(
      static_cast<IndexMetric>(static_cast<uint8_t>(metric) + 1));
  const rocksdb::Slice upper_bound(upper);
  rocksdb::ManagedSnapshot snapshot(store.db());
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot();
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(read, store.family(Family::kIndexes)));

  int32_t rank = 0;
  for (it->Seek(prefix); it->Valid() && rank < request.limit(); it->Next()) {
    const rocksdb::Slice key = it->key();
    IndexMetric key_metric;
    int64_t value = 0;
    std::string customer_id;
    if (!infra::schema::DecodeIndexKey(std::string_view(key.data(), key.size()),
                                       &key_metric, &value, &customer_id) ||
        key_metric != metric) {
      return absl::DataLossError(absl::StrCat(
          "index key ", key.ToString(/*hex=*/true), " does not decode"));
    }
    KEHU_ASSIGN_OR_RETURN(
        store::v1::CustomerState state,
        ReadIndexedCustomer(store, snapshot.snapshot(), customer_id));
    query::v1::RankedCustomer* ranked = response->add_customers();
    ranked->set_rank(++rank);
    ranked->set_value(value);
    *ranked->mutable_customer() =
        FullView(state, as_of, store, *population, options);
  }
  // Valid() == false can be an error rather than the end of the index.
  return infra::FromRocks(it->status(), "scanning customer index");
}

// `held`: the partitions this server folds; nullopt: all.
absl::Status ReportProgress(const infra::ProjectionStore& store,
                            const infra::EventLog& log,
                            const std::optional<std::vector<int32_t>>& held,
                            query::v1::GetProgressResponse* response) {
  response->set_no_partition_held(held.has_value() && held->empty());
  for (int32_t p = 0; p < log.partition_count(); ++p) {
    // The log end first: the projector can only be behind it, never ahead.
    const int64_t end = log.EndOffset(p);
    KEHU_ASSIGN_OR_RETURN(store::v1::PartitionProgress progress,
                          store.GetProgress(p));
    query::v1::PartitionProgress* out = response->add_partitions();
    out->set_partition(p);
    out->set_log_end_offset(end);
    out->set_next_offset(progress.next_offset());
    out->set_folded(progress.folded());
    out->set_duplicates(progress.duplicates());
    out->set_dead_lettered(progress.dead_lettered());
    out->set_unknown_skipped(progress.unknown_skipped());
    if (held.has_value() && !absl::c_linear_search(*held, p)) {
      out->set_not_held(true);  // another member's: in no sum
      continue;
    }
    out->set_lag(std::max<int64_t>(0, end - progress.next_offset()));
    response->set_lag(response->lag() + out->lag());
    response->set_folded(response->folded() + out->folded());
    response->set_duplicates(response->duplicates() + out->duplicates());
    response->set_dead_lettered(response->dead_lettered() +
                                out->dead_lettered());
    response->set_unknown_skipped(response->unknown_skipped() +
                                  out->unknown_skipped());
  }
  return absl::OkStatus();
}

// Page tokens of ListDeadLetters: "<partition>:<offset>" of the next letter.
std::string DeadLetterToken(int32_t partition, int64_t offset) {
  return absl::StrCat(partition, ":", offset);
}

absl::StatusOr<std::string> DeadLetterStart(const std::string& token) {
  if (token.empty()) return std::string();
  int32_t partition = 0;
  int64_t offset = 0;
  const size_t colon = token.find(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(token.substr(0, colon), &partition) ||
      !absl::SimpleAtoi(token.substr(colon + 1), &offset) || partition < 0 ||
      offset < 0) {
    return absl::InvalidArgumentError(
        "page_token: malformed; pass next_page_token of an earlier response");
  }
  return infra::schema::DeadLetterKey(partition, offset);
}

absl::Status ListDeadLetterPage(
    const infra::ProjectionStore& store,
    const query::v1::ListDeadLettersRequest& request,
    query::v1::ListDeadLettersResponse* response) {
  int32_t page_size = request.page_size() == 0 ? 100 : request.page_size();
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must lie in 1..", kMaxPageSize, ", got ", page_size));
  }
  KEHU_ASSIGN_OR_RETURN(std::string start,
                        DeadLetterStart(request.page_token()));
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      rocksdb::ReadOptions(), store.family(Family::kDeadLetter)));
  for (it->Seek(start); it->Valid(); it->Next()) {
    store::v1::DeadLetter stored;
    if (!stored.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError("a dead-letter row does not parse");
    }
    if (response->dead_letters_size() == page_size) {
      response->set_next_page_token(
          DeadLetterToken(stored.partition(), stored.offset()));
      break;
    }
    query::v1::DeadLetter* letter = response->add_dead_letters();
    letter->set_partition(stored.partition());
    letter->set_offset(stored.offset());
    letter->set_key(stored.key());
    letter->set_value(stored.value());
    letter->set_field(stored.field());
    letter->set_reason(stored.reason());
  }
  return infra::FromRocks(it->status(), "scanning dead letters");
}

// Timeline page tokens: "T" + the offset to continue below (8 bytes BE),
// web-safe base64.
std::string TimelineToken(int64_t before) {
  std::string bytes = "T";
  infra::schema::PutFixed64BE(&bytes, static_cast<uint64_t>(before));
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<int64_t> TimelineBefore(const std::string& token) {
  if (token.empty()) return std::numeric_limits<int64_t>::max();
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) || bytes.size() != 9 ||
      bytes[0] != 'T') {
    return absl::InvalidArgumentError(
        "page_token: malformed; pass next_page_token of an earlier response");
  }
  return static_cast<int64_t>(infra::schema::DecodeFixed64BE(bytes.data() + 1));
}

absl::Status ListTimeline(const infra::ProjectionStore& store,
                          const query::v1::TimelineRequest& request,
                          query::v1::TimelineResponse* response) {
  KEHU_RETURN_IF_ERROR(CheckCustomerId(request.customer_id()));
  const int32_t page_size =
      request.page_size() == 0 ? 100 : request.page_size();
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must lie in 1..", kMaxPageSize, ", got ",
        request.page_size()));
  }
  const google::protobuf::OneofDescriptor* payload =
      events::v1::Event::descriptor()->FindOneofByName("payload");
  absl::flat_hash_set<int> wanted;  // payload field numbers
  for (int i = 0; i < request.event_types_size(); ++i) {
    const google::protobuf::FieldDescriptor* field =
        events::v1::Event::descriptor()->FindFieldByName(request.event_types(i));
    if (field == nullptr || field->containing_oneof() != payload) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event_types[", i, "]: unknown event type \"",
          request.event_types(i),
          "\"; use a payload name of kehu.events.v1.Event, such as "
          "order_placed or complaint_filed"));
    }
    wanted.insert(field->number());
  }
  KEHU_ASSIGN_OR_RETURN(const int64_t before,
                        TimelineBefore(request.page_token()));
  KEHU_ASSIGN_OR_RETURN(std::optional<store::v1::CustomerState> state,
                        store.GetCustomer(request.customer_id()));
  if (!state.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("customer ", request.customer_id(), " not found"));
  }

  const std::string lower =
      infra::schema::TimelinePrefix(request.customer_id());
  const std::string upper =
      infra::schema::TimelineKey(request.customer_id(), before);
  const rocksdb::Slice lower_bound(lower), upper_bound(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_bound;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(read, store.family(Family::kTimeline)));
  int64_t examined = 0;
  int64_t last_offset = before;
  for (it->SeekToLast();
       it->Valid() && examined < kMaxTimelineExamined &&
       response->events_size() < page_size;
       it->Prev()) {
    ++examined;
    const rocksdb::Slice key = it->key();
    last_offset = static_cast<int64_t>(
        infra::schema::DecodeFixed64BE(key.data() + key.size() - 8));
    query::v1::TimelineEntry entry;
    if (!entry.mutable_event()->ParseFromArray(
            it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat(
          "timeline row of ", request.customer_id(), " at offset ",
          last_offset, " does not parse"));
    }
    if (!wanted.empty() && !wanted.contains(entry.event().payload_case())) {
      continue;
    }
    entry.mutable_position()->set_partition(state->last_partition());
    entry.mutable_position()->set_offset(last_offset);
    entry.mutable_position()->set_event_id(entry.event().event_id());
    *response->add_events() = std::move(entry);
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning timeline"));
  if (it->Valid()) response->set_next_page_token(TimelineToken(last_offset));
  return absl::OkStatus();
}

grpc::Status AbandonedStatus() {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      "the caller's deadline passed before the call started");
}

// A call refused because `max_queued` calls wait for a worker already.
grpc::Status BusyStatus(size_t max_queued) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("server busy: ", max_queued,
                                   " calls wait already; retry later"));
}

// Calls of each method each queue has asked for at once, so that calls
// arriving together need not wait for the queue's thread to ask again.
constexpr int kAwaitedPerQueue = 8;

}  // namespace

QueryService::QueryService(std::shared_ptr<const infra::ActiveStore> stores,
                           infra::EventLog* log, QueryServiceOptions options)
    : stores_(std::move(stores)),
      log_(log),
      options_(std::move(options)),
      listings_(stores_, options_.listing, options_.clock),
      workers_(options_.worker_threads, options_.max_queued_calls) {}

template <typename Generated, typename Request, typename Response>
void QueryService::ServeMethod(
    infra::CallQueues& queues,
    void (Generated::*request)(grpc::ServerContext*, Request*,
                               grpc::ServerAsyncResponseWriter<Response>*,
                               grpc::CompletionQueue*,
                               grpc::ServerCompletionQueue*, void*),
    typename Call<Request, Response>::Handler handler) {
  using Method = typename Call<Request, Response>::Method;
  auto method = std::make_shared<Method>(
      Method{[this, request](grpc::ServerContext* context, Request* message,
                             grpc::ServerAsyncResponseWriter<Response>* writer,
                             grpc::ServerCompletionQueue* queue, void* tag) {
               (this->*request)(context, message, writer, queue, queue, tag);
             },
             std::move(handler)});
  methods_.push_back(method);
  for (const auto& queue : queues.queues()) {
    for (int i = 0; i < kAwaitedPerQueue; ++i) {
      Call<Request, Response>::Await(queues, queue.get(), *method);
    }
  }
}

template <typename Request, typename Response, typename Compute>
void QueryService::OnWorker(Call<Request, Response>& call, Compute answer) {
  const bool queued =
      workers_.TrySchedule([&call, answer = std::move(answer)]() mutable {
        call.Finish(call.abandoned() ? AbandonedStatus()
                                     : infra::ToGrpcStatus(answer()));
      });
  if (!queued) call.Finish(BusyStatus(options_.max_queued_calls));
}

grpc::Status QueryService::ViewCustomer(
    const query::v1::GetCustomerRequest& request,
    query::v1::CustomerView* response) const {
  absl::StatusOr<CustomerLookup> lookup =
      LookUpCustomer(stores_->Get(), options_, request);
  return infra::ToGrpcStatus(lookup.ok() ? ViewAt(*lookup, options_, response)
                                         : lookup.status());
}

void QueryService::GetCustomer(
    Call<query::v1::GetCustomerRequest, query::v1::CustomerView>& call) {
  // A call whose caller has gone (its deadline passed while it waited)
  // gets no work: under overload the server sheds the calls nobody waits
  // for any more instead of answering them late.
  if (call.abandoned()) return call.Finish(AbandonedStatus());
  absl::StatusOr<CustomerLookup> lookup =
      LookUpCustomer(stores_->Get(), options_, call.request());
  if (lookup.ok() && !RowAnswersAsOf(lookup->current, lookup->as_of)) {
    // An as_of before the customer's last event: their timeline is
    // replayed, which can take a while, so on a worker.
    return OnWorker(call, [this, &call, lookup = *std::move(lookup)] {
      return ViewAt(lookup, options_, call.response());
    });
  }
  // The stored row is the answer: evaluated here.
  call.Finish(infra::ToGrpcStatus(
      lookup.ok() ? ViewAt(*lookup, options_, call.response())
                  : lookup.status()));
}

void QueryService::Serve(infra::CallQueues& queues) {
  using Service = query::v1::Query::AsyncService;
  ServeMethod(queues, &Service::RequestGetCustomer,
              [this](auto& call) { GetCustomer(call); });
  ServeMethod(queues, &Service::RequestTopCustomers, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return ListTopCustomers(*stores_->Get(), options_, call.request(),
                              call.response());
    });
  });
  // On a worker: the Kafka log asks the brokers for its end offsets.
  ServeMethod(queues, &Service::RequestGetProgress, [this](auto& call) {
    OnWorker(call, [this, &call] {
      std::optional<std::vector<int32_t>> held;
      if (options_.folded_partitions) held = options_.folded_partitions();
      return ReportProgress(*stores_->Get(), *log_, held, call.response());
    });
  });
  ServeMethod(queues, &Service::RequestListDeadLetters, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return ListDeadLetterPage(*stores_->Get(), call.request(),
                                call.response());
    });
  });
  ServeMethod(queues, &Service::RequestListCustomers, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return listings_.List(call.request(), call.response(),
                            [&call] { return call.abandoned(); });
    });
  });
  ServeMethod(queues, &Service::RequestSegmentSummary, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return SummarizeSegments(*stores_->Get(), options_.clock(),
                               call.request(), call.response());
    });
  });
  ServeMethod(queues, &Service::RequestTimeline, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return ListTimeline(*stores_->Get(), call.request(), call.response());
    });
  });
  ServeMethod(queues, &Service::RequestSatisfactionReport, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return ReportSatisfaction(*stores_->Get(), options_.clock(),
                                options_.analytics, call.request(),
                                call.response());
    });
  });
  ServeMethod(queues, &Service::RequestExplain, [this](auto& call) {
    OnWorker(call, [this, &call] {
      return ExplainClassification(*stores_->Get(), options_, call.request(),
                                   call.response());
    });
  });
}

}  // namespace kehu::query
