// QueryService: the kehu.query.v1.Query gRPC service, which serves customer
// views out of the projection store.
//
// Operation: GetCustomer reads one row of the `customers` family and maps it
// with ToCustomerView(); with an `as_of` before the customer's latest
// event, the row as of then is rebuilt from their timeline first
// (customer_history.h), and placed in the population measured last at or
// before as_of: the store's last fit, or a population snapshot
// (population_history.h) when the fit is later (the view names which).
// TopCustomers scans the metric's ordered index in
// the `indexes` family (highest first) and reads each named customer's row;
// index and rows are read from one RocksDB snapshot, so a ranked value and
// the view beside it always agree. Errors are absl::Status inside and are
// translated to gRPC once, at the end of each RPC: bad arguments are
// INVALID_ARGUMENT naming the field, a missing customer NOT_FOUND, a row or
// index key that does not decode DATA_LOSS.
//
// ListCustomers pages through the segment index (customer_listing.h);
// SegmentSummary and SatisfactionReport read its counters
// (segment_reports.h); Timeline walks the customer's rows of the `timeline`
// family backwards from the newest. Each call examines a bounded number of
// rows.
//
// Explain evaluates the customer as GetCustomer does, recording why, and
// looks up the contributing events in the customer's timeline
// (customer_explanation.h).
//
// GetProgress compares each partition's stored next offset with the log's
// end offset. ListDeadLetters pages through the `deadletter` family in log
// order; its page token is the position to continue from.
//
// The store: each call answers from the store its ActiveStore holds when
// the call starts (infra/active_store.h), so a blue-green switch of
// stores changes what later calls read and fails none in flight.
//
// Threads: the service answers from gRPC completion queues, each read by
// one thread (infra/call_queues.h, `kehu serve --query-threads`); that
// thread reads a call off its connection and answers it, with no hand-off
// (gRPC's callback API, used before, spread every call over three or
// four threads: about 4.6 context switches per GetCustomer against 1.05).
// GetCustomer, the point lookup internal services make all day, is
// answered on that thread whenever the stored row is the answer (no
// as_of, or one after the customer's last event): one RocksDB read and an
// evaluation of some tens of µs. Every other call may read thousands of
// rows (GetCustomer with an earlier as_of replays the customer's
// timeline) and runs on the service's own WorkerPool
// (infra/worker_pool.h), never holding up the queues; when
// `max_queued_calls` calls already wait for a worker, a call is refused at
// once with RESOURCE_EXHAUSTED. A call whose caller's deadline has passed
// by the time it would start gets DEADLINE_EXCEEDED and no work; a
// ListCustomers scan stops when it passes.
//
// Concurrency: stateless apart from the store and log pointers and the
// listings; any number of queue and worker threads answer at once.
//
// Limitations: TopCustomers returns at most 1000 customers and has no
// paging; it ranks by figures to date (ListCustomers orders by the
// standing).
#ifndef KEHU_QUERY_QUERY_SERVICE_H_
#define KEHU_QUERY_QUERY_SERVICE_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "infra/active_store.h"
#include "infra/call_queues.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "infra/worker_pool.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "query/customer_analytics.h"
#include "query/customer_listing.h"
#include "query/population_history.h"

namespace kehu::query {

// Largest TopCustomersRequest.limit accepted.
inline constexpr int kMaxTopCustomers = 1000;
struct QueryServiceOptions {
  AnalyticsConfig analytics;
  // How far in the future a request's as_of may lie (clocks of callers
  // and server disagree a little); later is INVALID_ARGUMENT.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // The server's clock: the default as_of. Tests inject a fixed one.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Bounds and lifetimes of ListCustomers listings.
  ListingOptions listing;
  // Populations of past business-time boundaries, for GetCustomer with a
  // past as_of; null: every view is placed in the store's last fit.
  std::shared_ptr<const PopulationHistory> history;
  // Threads that answer the calls which scan (see Threads above): one per
  // core, at least two; and how many calls may wait for one before
  // further calls are refused.
  int worker_threads =
      std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  size_t max_queued_calls = 256;
  // The partitions this server folds, asked at each GetProgress: a Kafka
  // member's assignment. Empty: every partition of the log.
  std::function<std::vector<int32_t>()> folded_partitions;
};

class QueryService final : public query::v1::Query::AsyncService {
 public:
  // `log` answers GetProgress (how far the store is behind the log).
  // REQUIRES: `log` outlives the service (and the server it is registered
  // with).
  QueryService(std::shared_ptr<const infra::ActiveStore> stores,
               infra::EventLog* log, QueryServiceOptions options = {});
  // Answers from `store` alone. REQUIRES: `store` outlives the service.
  QueryService(infra::ProjectionStore* store, infra::EventLog* log,
               QueryServiceOptions options = {})
      : QueryService(infra::ActiveStore::Unowned(store), log,
                     std::move(options)) {}

  QueryService(const QueryService&) = delete;
  QueryService& operator=(const QueryService&) = delete;

  // Starts answering every method's calls from `queues`: register the
  // service with a grpc::ServerBuilder, add `queues` to it, build the
  // server, then Serve(). REQUIRES: the server shuts down, then `queues`
  // go, before the service does.
  void Serve(infra::CallQueues& queues);

  // The answer GetCustomer gives, on the calling thread, for callers in
  // this process.
  grpc::Status ViewCustomer(const query::v1::GetCustomerRequest& request,
                            query::v1::CustomerView* response) const;

  // ListCustomers listings open now (each holds a store snapshot).
  size_t open_listings() const { return listings_.open_listings(); }
  // Calls waiting for a worker thread now.
  size_t queued_calls() const { return workers_.queued(); }

 private:
  template <typename Request, typename Response>
  using Call = infra::UnaryCall<Request, Response>;

  // Serves the calls of one method from every queue with `handler`;
  // `request` is the generated RequestFoo of the method.
  template <typename Generated, typename Request, typename Response>
  void ServeMethod(
      infra::CallQueues& queues,
      void (Generated::*request)(grpc::ServerContext*, Request*,
                                 grpc::ServerAsyncResponseWriter<Response>*,
                                 grpc::CompletionQueue*,
                                 grpc::ServerCompletionQueue*, void*),
      typename Call<Request, Response>::Handler handler);

  // GetCustomer: on the queue's thread when the stored row is the answer.
  void GetCustomer(
      Call<query::v1::GetCustomerRequest, query::v1::CustomerView>& call);

  // Finishes `call` with answer()'s status, computed on a worker thread;
  // RESOURCE_EXHAUSTED at once when too many calls wait for one.
  template <typename Request, typename Response, typename Compute>
  void OnWorker(Call<Request, Response>& call, Compute answer);

  const std::shared_ptr<const infra::ActiveStore> stores_;
  infra::EventLog* const log_;  // not owned
  const QueryServiceOptions options_;
  CustomerListings listings_;
  // How each method is served (UnaryCall::Method), for as long as the
  // queues hold calls of it.
  std::vector<std::shared_ptr<const void>> methods_;
  // Last: destroyed first, so that no queued call outlives the members
  // above. The queues are gone by then, so a call it still runs finishes
  // to no one.
  infra::WorkerPool workers_;
};

}  // namespace kehu::query

#endif  // KEHU_QUERY_QUERY_SERVICE_H_
