// AdminService: the kehu.admin.v1.Admin gRPC service of a running server.
//
// Operation: Fit runs the population step (projections/population.h) on
// the live store — on the embedded log, on both stores of ServingStores —
// and writes the result to the store's meta family; queries pick it up on
// their next call. Fits are serialized: a second Fit waits for the first.
// Rebuild, Switch, DropStandby and ListStores drive the blue-green rebuild
// of ServingStores (serving_stores.h); without ServingStores (the Kafka
// backend, where a rebuild is a second server in a new consumer group)
// they answer FAILED_PRECONDITION saying so.
//
// BackfillSnapshot makes the population snapshot of the oldest boundary
// the server's schedule never saw (PopulationSnapshots::Backfill), one per
// call, one call at a time. On Kafka it replays the partitions the member
// holds when called (its scheduled snapshots measure its whole store,
// rows of partitions that moved away included).
//
// Every action that changes something (fit, rebuild, switch, drop,
// backfill) is
// recorded in the audit trail (audit_trail.h) with its caller — the name of
// the caller's bearer token, else the peer address — its arguments and its
// outcome, before the call returns; ListAuditTrail reads it back.
//
// Concurrency: thread-safe; folding and querying go on during a fit.
#ifndef KEHU_INFRA_APP_ADMIN_SERVICE_H_
#define KEHU_INFRA_APP_ADMIN_SERVICE_H_

#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/app/audit_trail.h"
#include "infra/app/population_snapshots.h"
#include "infra/app/serving_stores.h"
#include "infra/projection_store.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "projections/population.h"

namespace kehu::app {

// How long Switch waits at most for the standby to catch up.
inline constexpr absl::Duration kSwitchCatchUpLimit = absl::Seconds(60);

// What BackfillSnapshot works with; not owned, must outlive the service.
struct SnapshotBackfill {
  PopulationSnapshots* snapshots = nullptr;
  // The log replayed; the one the stores fold.
  infra::EventLog* log = nullptr;
  // When the request names none.
  SnapshotPeriod period = SnapshotPeriod::kMonth;
  // The partitions a backfill replays, asked at each call: a Kafka
  // member's assignment, the customers it keeps current. Empty: every
  // partition of the log.
  std::function<std::vector<int32_t>()> partitions;
};

class AdminService final : public admin::v1::Admin::Service {
 public:
  // Fits `store` alone; no blue-green rebuild. `store` is not owned and
  // must outlive the service. `clock` gives the default as_of; as_of may
  // lie at most `max_clock_skew` after it. `audit` (not owned; may be
  // null: nothing is recorded) must outlive the service. Backfills
  // snapshots when `backfill` names them.
  AdminService(infra::ProjectionStore* store,
               projections::PopulationOptions options,
               std::function<absl::Time()> clock,
               absl::Duration max_clock_skew = absl::Minutes(5),
               const AuditTrail* audit = nullptr,
               SnapshotBackfill backfill = {});
  // Fits and rebuilds the stores of `stores` (not owned); backfills
  // snapshots when `backfill` names them.
  AdminService(ServingStores* stores, projections::PopulationOptions options,
               std::function<absl::Time()> clock, const AuditTrail* audit,
               absl::Duration max_clock_skew = absl::Minutes(5),
               SnapshotBackfill backfill = {});

  grpc::Status Fit(grpc::ServerContext* context,
                   const admin::v1::FitRequest* request,
                   admin::v1::FitResponse* response) override;
  grpc::Status Rebuild(grpc::ServerContext* context,
                       const admin::v1::RebuildRequest* request,
                       admin::v1::RebuildResponse* response) override;
  grpc::Status Switch(grpc::ServerContext* context,
                      const admin::v1::SwitchRequest* request,
                      admin::v1::SwitchResponse* response) override;
  grpc::Status DropStandby(grpc::ServerContext* context,
                           const admin::v1::DropStandbyRequest* request,
                           admin::v1::DropStandbyResponse* response) override;
  grpc::Status ListStores(grpc::ServerContext* context,
                          const admin::v1::ListStoresRequest* request,
                          admin::v1::ListStoresResponse* response) override;
  grpc::Status BackfillSnapshot(
      grpc::ServerContext* context,
      const admin::v1::BackfillSnapshotRequest* request,
      admin::v1::BackfillSnapshotResponse* response) override;
  grpc::Status ListSnapshots(
      grpc::ServerContext* context,
      const admin::v1::ListSnapshotsRequest* request,
      admin::v1::ListSnapshotsResponse* response) override;
  grpc::Status ListAuditTrail(
      grpc::ServerContext* context,
      const admin::v1::ListAuditTrailRequest* request,
      admin::v1::ListAuditTrailResponse* response) override;

  // The population step at `as_of`, stored and recorded in the audit trail
  // as done by `caller`; what Fit and the server's schedule run.
  absl::StatusOr<admin::v1::FitResponse> RunFit(absl::Time as_of,
                                                const std::string& caller);

 private:
  // Records `entry` with `outcome` ("ok" or the status's message).
  // Returns an error when the trail cannot be written: an action that
  // cannot be recorded must not look done quietly.
  absl::Status Record(admin::v1::AuditEntry entry,
                      const absl::Status& outcome);
  // The store queries read: `store_`, or the active one of `stores_`.
  infra::ProjectionStore* active_store() const;

  infra::ProjectionStore* const store_;  // without `stores_`
  ServingStores* const stores_;          // may be null
  const projections::PopulationOptions options_;
  const std::function<absl::Time()> clock_;
  const absl::Duration max_clock_skew_;
  const AuditTrail* const audit_;  // may be null
  absl::Mutex fit_mu_;             // one fit at a time
  const SnapshotBackfill backfill_;
  // What ListSnapshots lists; may be null (an empty list).
  const PopulationSnapshots* const snapshots_;
  absl::Mutex backfill_mu_;  // one backfill at a time
  // The log's business time span, read once for all backfills.
  BusinessTimeSpans log_spans_ ABSL_GUARDED_BY(backfill_mu_);
};

// Who made the call, for the audit trail: "token NAME" when it presented a
// valid bearer token (auth_tokens.h), else "peer ADDRESS".
std::string CallerOf(const grpc::ServerContext& context);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_ADMIN_SERVICE_H_
