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
// Threads: the service uses gRPC's callback API. GetCustomer, the point
// lookup internal services make all day, is answered on the gRPC thread
// that received it whenever the stored row is the answer (no as_of, or
// one after the customer's last event): one RocksDB read and an
// evaluation of some tens of µs. The synchronous server's hand-off of
// every call to a thread of its pool cost more than that, and under
// overload it started a thread per waiting call (10,000 calls/s offered
// for 7 s grew serve from 22 to 4,853 threads). Every other call may read
// thousands of rows (GetCustomer with an earlier as_of replays the
// customer's timeline) and runs on the service's own WorkerPool
// (infra/worker_pool.h), never holding up gRPC's threads; when
// `max_queued_calls` calls already wait for a worker, a call is refused at
// once with RESOURCE_EXHAUSTED. A call whose caller has gone by the time
// it would start (deadline passed, cancelled) gets DEADLINE_EXCEEDED and
// no work.
//
// Concurrency: stateless apart from the store and log pointers and the
// listings; gRPC may call the methods from any number of threads at once.
//
// Limitations: TopCustomers returns at most 1000 customers and has no
// paging; it ranks by figures to date (ListCustomers orders by the
// standing).
#ifndef KEHU_QUERY_QUERY_SERVICE_H_
#define KEHU_QUERY_QUERY_SERVICE_H_

#include <algorithm>
#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "infra/active_store.h"
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
};


class QueryService final : public query::v1::Query::CallbackService {
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

  // The answer GetCustomer gives, on the calling thread, for callers in
  // this process.
  grpc::Status ViewCustomer(const query::v1::GetCustomerRequest& request,
                            query::v1::CustomerView* response) const;

  grpc::ServerUnaryReactor* GetCustomer(
      grpc::CallbackServerContext* context,
      const query::v1::GetCustomerRequest* request,
      query::v1::CustomerView* response) override;
  grpc::ServerUnaryReactor* TopCustomers(
      grpc::CallbackServerContext* context,
      const query::v1::TopCustomersRequest* request,
      query::v1::TopCustomersResponse* response) override;
  grpc::ServerUnaryReactor* GetProgress(
      grpc::CallbackServerContext* context,
      const query::v1::GetProgressRequest* request,
      query::v1::GetProgressResponse* response) override;
  grpc::ServerUnaryReactor* ListDeadLetters(
      grpc::CallbackServerContext* context,
      const query::v1::ListDeadLettersRequest* request,
      query::v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomers(
      grpc::CallbackServerContext* context,
      const query::v1::ListCustomersRequest* request,
      query::v1::ListCustomersResponse* response) override;
  grpc::ServerUnaryReactor* SegmentSummary(
      grpc::CallbackServerContext* context,
      const query::v1::SegmentSummaryRequest* request,
      query::v1::SegmentSummaryResponse* response) override;
  grpc::ServerUnaryReactor* Timeline(
      grpc::CallbackServerContext* context,
      const query::v1::TimelineRequest* request,
      query::v1::TimelineResponse* response) override;
  grpc::ServerUnaryReactor* SatisfactionReport(
      grpc::CallbackServerContext* context,
      const query::v1::SatisfactionReportRequest* request,
      query::v1::SatisfactionReportResponse* response) override;
  grpc::ServerUnaryReactor* Explain(
      grpc::CallbackServerContext* context,
      const query::v1::ExplainRequest* request,
      query::v1::ExplainResponse* response) override;

  // ListCustomers listings open now (each holds a store snapshot).
  size_t open_listings() const { return listings_.open_listings(); }
  // Calls waiting for a worker thread now.
  size_t queued_calls() const { return workers_.queued(); }

 private:
  // Finishes the call with answer()'s status, computed on a worker thread;
  // RESOURCE_EXHAUSTED at once when too many calls wait for one.
  template <typename Answer>
  grpc::ServerUnaryReactor* OnWorker(grpc::CallbackServerContext* context,
                                     Answer answer);

  const std::shared_ptr<const infra::ActiveStore> stores_;
  infra::EventLog* const log_;  // not owned
  const QueryServiceOptions options_;
  CustomerListings listings_;
  // Last: destroyed first, so that no queued call outlives the members
  // above. gRPC's Shutdown() waits for every call, so none is queued by
  // then when the service is registered with a server.
  infra::WorkerPool workers_;
};

}  // namespace kehu::query

#endif  // KEHU_QUERY_QUERY_SERVICE_H_
