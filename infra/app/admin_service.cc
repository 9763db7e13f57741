#include "infra/app/admin_service.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "infra/grpc_status.h"
#include "infra/reference_time.h"
#include "infra/status_macros.h"
#include "projections/population.h"

namespace kehu::app {

AdminService::AdminService(infra::ProjectionStore* store,
                           projections::PopulationOptions options,
                           std::function<absl::Time()> clock,
                           absl::Duration max_clock_skew)
    : store_(store),
      options_(options),
      clock_(std::move(clock)),
      max_clock_skew_(max_clock_skew) {}

absl::StatusOr<admin::v1::FitResponse> AdminService::RunFit(absl::Time as_of) {
  absl::MutexLock lock(&fit_mu_);
  const absl::Time started = absl::Now();
  KEHU_ASSIGN_OR_RETURN(
      projections::PopulationStepResult step,
      projections::RunPopulationStep(store_, as_of, options_));
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
  return response;
}

grpc::Status AdminService::Fit(grpc::ServerContext* context,
                               const admin::v1::FitRequest* request,
                               admin::v1::FitResponse* response) {
  absl::StatusOr<absl::Time> as_of = infra::ReferenceTime(
      request->as_of(), request->has_as_of(), clock_(), max_clock_skew_);
  if (!as_of.ok()) return infra::ToGrpcStatus(as_of.status());
  absl::StatusOr<admin::v1::FitResponse> result = RunFit(*as_of);
  if (!result.ok()) return infra::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace kehu::app
