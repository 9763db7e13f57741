#include "infra/app/admin_service.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "infra/app/auth_tokens.h"
#include "infra/grpc_status.h"
#include "infra/reference_time.h"
#include "infra/status_macros.h"
#include "projections/population.h"

namespace kehu::app {

namespace {

using admin::v1::AuditEntry;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

AuditEntry Entry(const std::string& action, const std::string& caller) {
  AuditEntry entry;
  entry.set_action(action);
  entry.set_caller(caller);
  return entry;
}

grpc::Status NoBlueGreen() {
  return grpc::Status(
      grpc::StatusCode::FAILED_PRECONDITION,
      "blue-green rebuilds need the embedded log; on Kafka, build a store "
      "with `kehu replay --kafka BROKERS --into DIR`, start a second server "
      "on it (--data DIR) in a new consumer group (--group), and move "
      "clients to it once it has caught up");
}

}  // namespace

std::string CallerOf(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    std::vector<grpc::string_ref> names =
        auth->FindPropertyValues(kTokenNameProperty);
    if (!names.empty()) {
      return absl::StrCat("token ",
                          absl::string_view(names[0].data(), names[0].size()));
    }
  }
  return absl::StrCat("peer ", context.peer());
}

AdminService::AdminService(infra::ProjectionStore* store,
                           projections::PopulationOptions options,
                           std::function<absl::Time()> clock,
                           absl::Duration max_clock_skew,
                           const AuditTrail* audit, SnapshotBackfill backfill)
    : store_(store),
      stores_(nullptr),
      options_(options),
      clock_(std::move(clock)),
      max_clock_skew_(max_clock_skew),
      audit_(audit),
      backfill_(std::move(backfill)),
      snapshots_(backfill_.snapshots) {}

AdminService::AdminService(ServingStores* stores,
                           projections::PopulationOptions options,
                           std::function<absl::Time()> clock,
                           const AuditTrail* audit,
                           absl::Duration max_clock_skew,
                           SnapshotBackfill backfill)
    : store_(nullptr),
      stores_(stores),
      options_(options),
      clock_(std::move(clock)),
      max_clock_skew_(max_clock_skew),
      audit_(audit),
      backfill_(std::move(backfill)),
      snapshots_(backfill_.snapshots) {}

infra::ProjectionStore* AdminService::active_store() const {
  return stores_ != nullptr ? stores_->active_store().get() : store_;
}

absl::Status AdminService::Record(AuditEntry entry,
                                  const absl::Status& outcome) {
  if (audit_ == nullptr) return absl::OkStatus();
  entry.set_outcome(outcome.ok() ? "ok" : std::string(outcome.message()));
  absl::Status recorded = audit_->Record(std::move(entry));
  if (!recorded.ok()) {
    return absl::Status(
        recorded.code(),
        absl::StrCat(outcome.ok() ? "done" : "failed",
                     ", but not recorded in the audit trail: ",
                     recorded.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<admin::v1::FitResponse> AdminService::RunFit(
    absl::Time as_of, const std::string& caller) {
  AuditEntry entry = Entry("fit", caller);
  (*entry.mutable_arguments())["as_of"] = Rfc3339(as_of);
  absl::MutexLock lock(&fit_mu_);
  const absl::Time started = absl::Now();
  absl::StatusOr<projections::PopulationStepResult> fitted =
      stores_ != nullptr
          ? stores_->Fit(as_of)
          : projections::RunPopulationStep(store_, as_of, options_);
  if (!fitted.ok()) {
    KEHU_RETURN_IF_ERROR(Record(entry, fitted.status()));
    return fitted.status();
  }
  const projections::PopulationStepResult& step = *fitted;
  const store::v1::PopulationModel& population = step.population;
  const int64_t indexed = step.indexed_customers;

  admin::v1::FitResponse response;
  *response.mutable_as_of() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          population.as_of_us());
  response.set_purchasing_customers(population.purchasing_customers());
  response.set_indexed_customers(indexed);
  response.set_active_customers(population.active_customers());
  response.set_pareto_key_customers(population.pareto_key_customers());
  if (population.active_customers() > 0) {
    response.set_pareto_key_share(
        static_cast<double>(population.pareto_key_customers()) /
        population.active_customers());
  }
  const auto& models = population.models();
  response.set_bg_nbd_r(models.bg_nbd().r());
  response.set_bg_nbd_alpha(models.bg_nbd().alpha());
  response.set_bg_nbd_a(models.bg_nbd().a());
  response.set_bg_nbd_b(models.bg_nbd().b());
  response.set_bg_nbd_error(population.bg_nbd_error());
  response.set_gamma_gamma_p(models.gamma_gamma().p());
  response.set_gamma_gamma_q(models.gamma_gamma().q());
  response.set_gamma_gamma_gamma(models.gamma_gamma().gamma());
  response.set_gamma_gamma_error(population.gamma_gamma_error());
  *response.mutable_log_positions() = population.log_positions();
  response.set_pyramid_key_customers(population.pyramid_key_customers());
  response.set_pyramid_key_cutoff_minor(population.pyramid_key_cutoff_minor());
  response.set_pyramid_potential_customers(
      population.pyramid_potential_customers());
  response.set_pyramid_potential_cutoff_minor(
      population.pyramid_potential_cutoff_minor());
  *response.mutable_recency_days_cuts() = population.recency_days().cuts();
  *response.mutable_frequency_cuts() = population.frequency().cuts();
  *response.mutable_monetary_minor_cuts() = population.monetary_minor().cuts();
  response.set_currency(population.currency());
  response.set_seconds(absl::ToDoubleSeconds(absl::Now() - started));
  entry.set_detail(absl::StrCat(
      population.purchasing_customers(), " customers with purchases, ",
      population.active_customers(), " active, ", indexed,
      " standings re-evaluated"));
  KEHU_RETURN_IF_ERROR(Record(entry, absl::OkStatus()));
  return response;
}

grpc::Status AdminService::Fit(grpc::ServerContext* context,
                               const admin::v1::FitRequest* request,
                               admin::v1::FitResponse* response) {
  absl::StatusOr<absl::Time> as_of = infra::ReferenceTime(
      request->as_of(), request->has_as_of(), clock_(), max_clock_skew_);
  if (!as_of.ok()) return infra::ToGrpcStatus(as_of.status());
  absl::StatusOr<admin::v1::FitResponse> result =
      RunFit(*as_of, CallerOf(*context));
  if (!result.ok()) return infra::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status AdminService::Rebuild(grpc::ServerContext* context,
                                   const admin::v1::RebuildRequest* request,
                                   admin::v1::RebuildResponse* response) {
  if (stores_ == nullptr) return NoBlueGreen();
  const std::string& currency = request->currency();
  if (!currency.empty() &&
      (currency.size() != 3 || !absl::c_all_of(currency, absl::ascii_isupper))) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("currency: expected an ISO 4217 code of "
                                     "three capital letters, got \"",
                                     currency, "\""));
  }
  const std::string caller = CallerOf(*context);
  AuditEntry entry = Entry("rebuild", caller);
  if (!currency.empty()) (*entry.mutable_arguments())["currency"] = currency;
  absl::StatusOr<std::string> name = stores_->Rebuild(currency, caller);
  if (name.ok()) entry.set_detail(absl::StrCat("into ", *name));
  absl::Status recorded = Record(entry, name.status());
  if (!name.ok()) return infra::ToGrpcStatus(name.status());
  if (!recorded.ok()) return infra::ToGrpcStatus(recorded);
  response->set_store(*name);
  return grpc::Status::OK;
}

grpc::Status AdminService::Switch(grpc::ServerContext* context,
                                  const admin::v1::SwitchRequest* /*request*/,
                                  admin::v1::SwitchResponse* response) {
  if (stores_ == nullptr) return NoBlueGreen();
  absl::Time deadline = absl::Now() + kSwitchCatchUpLimit;
  deadline = std::min(deadline, absl::FromChrono(context->deadline()));
  AuditEntry entry = Entry("switch", CallerOf(*context));
  absl::StatusOr<admin::v1::SwitchResponse> switched =
      stores_->Switch(deadline);
  if (switched.ok()) {
    entry.set_detail(absl::StrCat("active ", switched->active(), ", standby ",
                                  switched->standby()));
  }
  absl::Status recorded = Record(entry, switched.status());
  if (!switched.ok()) return infra::ToGrpcStatus(switched.status());
  if (!recorded.ok()) return infra::ToGrpcStatus(recorded);
  *response = *std::move(switched);
  return grpc::Status::OK;
}

grpc::Status AdminService::DropStandby(
    grpc::ServerContext* context,
    const admin::v1::DropStandbyRequest* /*request*/,
    admin::v1::DropStandbyResponse* response) {
  if (stores_ == nullptr) return NoBlueGreen();
  AuditEntry entry = Entry("drop-standby", CallerOf(*context));
  absl::StatusOr<std::string> dropped = stores_->DropStandby();
  if (dropped.ok()) entry.set_detail(absl::StrCat("dropped ", *dropped));
  absl::Status recorded = Record(entry, dropped.status());
  if (!dropped.ok()) return infra::ToGrpcStatus(dropped.status());
  if (!recorded.ok()) return infra::ToGrpcStatus(recorded);
  response->set_dropped(*dropped);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListStores(
    grpc::ServerContext* /*context*/,
    const admin::v1::ListStoresRequest* /*request*/,
    admin::v1::ListStoresResponse* response) {
  if (stores_ == nullptr) return NoBlueGreen();
  for (auto& status : stores_->List()) *response->add_stores() = std::move(status);
  return grpc::Status::OK;
}

grpc::Status AdminService::BackfillSnapshot(
    grpc::ServerContext* context,
    const admin::v1::BackfillSnapshotRequest* request,
    admin::v1::BackfillSnapshotResponse* response) {
  if (backfill_.snapshots == nullptr || backfill_.log == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this server keeps no population snapshots");
  }
  SnapshotPeriod period = backfill_.period;
  if (!request->period().empty()) {
    absl::StatusOr<SnapshotPeriod> named =
        ParseSnapshotPeriod(request->period());
    if (!named.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("period: ", named.status().message()));
    }
    period = *named;
  }
  std::optional<absl::Time> from;
  std::optional<absl::Time> to;
  if (request->has_from()) {
    from = absl::FromUnixSeconds(request->from().seconds()) +
           absl::Nanoseconds(request->from().nanos());
  }
  if (request->has_to()) {
    to = absl::FromUnixSeconds(request->to().seconds()) +
         absl::Nanoseconds(request->to().nanos());
  }
  if (from.has_value() && to.has_value() && *from > *to) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "from: after to");
  }

  // A Kafka member replays the partitions it holds.
  std::optional<std::vector<int32_t>> partitions;
  if (backfill_.partitions) {
    partitions = backfill_.partitions();
    if (partitions->empty()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "this member holds no partition of the topic yet "
                          "(the consumer group has not assigned it any)");
    }
  }

  absl::MutexLock lock(&backfill_mu_);
  absl::StatusOr<std::optional<BusinessTimeSpan>> span =
      log_spans_.Read(*backfill_.log, partitions);
  if (!span.ok()) return infra::ToGrpcStatus(span.status());
  if (!span->has_value()) return grpc::Status::OK;  // an empty log
  const std::vector<absl::Time> missing =
      backfill_.snapshots->Missing(period, **span, from, to);
  if (missing.empty()) return grpc::Status::OK;
  if (missing.size() > kMaxBackfillBoundaries) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("from, to: ", missing.size(), " ",
                     std::string(SnapshotPeriodName(period)),
                     " boundaries without a snapshot between ",
                     PopulationSnapshots::NameOf(missing.front()), " and ",
                     PopulationSnapshots::NameOf(missing.back()),
                     ", more than ", kMaxBackfillBoundaries,
                     " at once: choose a range"));
  }

  projections::ReplayOptions replay;  // one thread: the server is serving
  replay.threads = 1;
  replay.partitions = partitions;
  replay.cancelled = [context] { return context->IsCancelled(); };
  const absl::Time started = absl::Now();
  absl::StatusOr<projections::ReplayResult> result =
      backfill_.snapshots->Backfill(backfill_.log, missing[0],
                                    active_store()->reporting_currency(),
                                    replay);
  admin::v1::AuditEntry entry = BackfillAuditEntry(
      missing[0], period, CallerOf(*context), result, absl::Now() - started);
  if (partitions.has_value()) {
    (*entry.mutable_arguments())["partitions"] =
        absl::StrJoin(*partitions, ",");
  }
  absl::Status recorded = Record(std::move(entry), result.status());
  if (!result.ok()) return infra::ToGrpcStatus(result.status());
  if (!recorded.ok()) return infra::ToGrpcStatus(recorded);
  response->set_snapshot(PopulationSnapshots::NameOf(missing[0]));
  response->set_records(result->records);
  response->set_folded(result->folded);
  if (result->fit.has_value()) {
    response->set_purchasing_customers(
        result->fit->population.purchasing_customers());
  }
  response->set_remaining(static_cast<int32_t>(missing.size() - 1));
  return grpc::Status::OK;
}

grpc::Status AdminService::ListSnapshots(
    grpc::ServerContext* /*context*/,
    const admin::v1::ListSnapshotsRequest* /*request*/,
    admin::v1::ListSnapshotsResponse* response) {
  if (snapshots_ != nullptr) *response = DescribeSnapshots(snapshots_->All());
  return grpc::Status::OK;
}

grpc::Status AdminService::ListAuditTrail(
    grpc::ServerContext* /*context*/,
    const admin::v1::ListAuditTrailRequest* request,
    admin::v1::ListAuditTrailResponse* response) {
  const int limit = request->limit() == 0 ? 100 : request->limit();
  if (limit < 1 || limit > kMaxAuditEntries) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("limit: must lie in 1..", kMaxAuditEntries,
                                     ", got ", request->limit()));
  }
  if (audit_ == nullptr) return grpc::Status::OK;
  absl::StatusOr<std::vector<AuditEntry>> entries = audit_->Newest(limit);
  if (!entries.ok()) return infra::ToGrpcStatus(entries.status());
  for (auto& entry : *entries) *response->add_entries() = std::move(entry);
  return grpc::Status::OK;
}

}  // namespace kehu::app
