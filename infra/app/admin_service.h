// AdminService: the kehu.admin.v1.Admin gRPC service of a running server.
//
// Operation: Fit runs the population step (projections/population.h) on the
// live store at a snapshot and writes the result to the store's meta
// family; queries pick it up on their next call. Fits are serialized: a
// second Fit waits for the first.
//
// Concurrency: thread-safe; folding and querying go on during a fit.
#ifndef KEHU_INFRA_APP_ADMIN_SERVICE_H_
#define KEHU_INFRA_APP_ADMIN_SERVICE_H_

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/projection_store.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "projections/population.h"

namespace kehu::app {

class AdminService final : public admin::v1::Admin::Service {
 public:
  // `store` is not owned and must outlive the service. `clock` gives the
  // default as_of; as_of may lie at most `max_clock_skew` after it.
  AdminService(infra::ProjectionStore* store,
               projections::PopulationOptions options,
               std::function<absl::Time()> clock,
               absl::Duration max_clock_skew = absl::Minutes(5));

  grpc::Status Fit(grpc::ServerContext* context,
                   const admin::v1::FitRequest* request,
                   admin::v1::FitResponse* response) override;

  // The population step at `as_of`, stored; what Fit and the server's
  // schedule run.
  absl::StatusOr<admin::v1::FitResponse> RunFit(absl::Time as_of);

 private:
  infra::ProjectionStore* const store_;
  const projections::PopulationOptions options_;
  const std::function<absl::Time()> clock_;
  const absl::Duration max_clock_skew_;
  absl::Mutex fit_mu_;  // one fit at a time
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_ADMIN_SERVICE_H_
