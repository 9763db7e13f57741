#include <filesystem>
#include <iostream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "infra/app/audit_trail.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"
#include "infra/app/population_snapshots.h"
#include "infra/app/serving_stores.h"
#include "infra/embedded_log.h"

namespace kehu::app {
namespace {

int Fail(const std::string& message) {
  std::cerr << "kehu snapshots: " << message << "\n";
  return kExitError;
}

}  // namespace

int RunSnapshotsBackfill(const SnapshotsCommandOptions& options) {
  absl::StatusOr<SnapshotPeriod> period = ParseSnapshotPeriod(options.every);
  if (!period.ok()) {
    return Fail(absl::StrCat("--every: ", period.status().message()));
  }
  std::optional<absl::Time> from;
  std::optional<absl::Time> to;
  for (auto [flag, text, out] : {std::tuple{"--from", &options.from, &from},
                                 std::tuple{"--to", &options.to, &to}}) {
    if (text->empty()) continue;
    absl::Time t;
    if (!ParseDay(*text, &t)) {
      return Fail(
          absl::StrCat(flag, ": expected YYYY-MM-DD, got \"", *text, "\""));
    }
    *out = t;
  }
  if (from.has_value() && to.has_value() && *from > *to) {
    return Fail(
        absl::StrCat("--from ", options.from, " is after --to ", options.to));
  }

  const std::string log_dir = options.data_dir + "/log";
  std::error_code ec;
  if (!std::filesystem::exists(log_dir + "/CURRENT", ec)) {
    return Fail(absl::StrCat("--data ", options.data_dir,
                             ": no embedded log in ", log_dir));
  }
  absl::StatusOr<std::unique_ptr<infra::EmbeddedLog>> log =
      infra::EmbeddedLog::Open(log_dir, infra::EmbeddedLogOptions());
  if (absl::IsFailedPrecondition(log.status())) {
    return Fail(absl::StrCat(
        "the embedded log in ", log_dir,
        " is open in another process (a running `kehu serve`?); stop it, "
        "or backfill through it with `kehu admin backfill-snapshots`"));
  }
  if (!log.ok()) return Fail(std::string(log.status().message()));

  absl::StatusOr<std::unique_ptr<PopulationSnapshots>> snapshots =
      PopulationSnapshots::Open(options.data_dir);
  if (!snapshots.ok()) return Fail(std::string(snapshots.status().message()));

  absl::StatusOr<std::optional<BusinessTimeSpan>> span =
      ReadBusinessTimeSpan(**log);
  if (!span.ok()) {
    return Fail(
        absl::StrCat("reading ", log_dir, ": ", span.status().message()));
  }
  if (!span->has_value()) {
    std::cout << "the log holds no events: no boundary to snapshot\n";
    return kExitOk;
  }
  int existing = 0;
  const std::vector<absl::Time> due =
      (*snapshots)->Missing(*period, **span, from, to, &existing);
  std::cout << absl::StrFormat(
      "events occurred from %s to %s: %d %s boundaries to snapshot, %d "
      "snapshotted already\n",
      absl::FormatTime("%Y-%m-%d", (*span)->first, absl::UTCTimeZone()),
      absl::FormatTime("%Y-%m-%d", (*span)->last, absl::UTCTimeZone()),
      due.size(), SnapshotPeriodName(*period), existing);

  if (due.size() > kMaxBackfillBoundaries) {
    return Fail(absl::StrCat("more than ", kMaxBackfillBoundaries,
                             " boundaries at once; choose a range with "
                             "--from and --to"));
  }
  std::string currency = ActiveStoreCurrency(options.data_dir);
  if (currency.empty()) currency = "EUR";
  for (absl::Time boundary : due) {
    const std::string name = PopulationSnapshots::NameOf(boundary);
    projections::ReplayOptions replay;
    replay.threads = options.threads;
    const absl::Time started = absl::Now();
    absl::StatusOr<projections::ReplayResult> result;
    {
      ReplayProgressDisplay progress("snapshots", name, &replay);
      result = (*snapshots)->Backfill(log->get(), boundary, currency, replay);
    }
    const absl::Duration took = absl::Now() - started;
    absl::Status recorded =
        AuditTrail(options.data_dir)
            .Record(BackfillAuditEntry(boundary, *period, LocalUserCaller(),
                                       result, took));
    if (!result.ok()) {
      return Fail(
          absl::StrCat("snapshots/", name, ": ", result.status().message()));
    }
    std::cout << absl::StrFormat(
        "snapshots/%s: %d events before it folded, population of %d "
        "customers with purchases measured (%.2f s)\n",
        name, result->folded,
        result->fit.has_value() ? result->fit->population.purchasing_customers()
                                : 0,
        absl::ToDoubleSeconds(took));
    if (!recorded.ok()) {
      return Fail(absl::StrCat("not recorded in the audit trail: ",
                               recorded.message()));
    }
  }
  return kExitOk;
}

int RunSnapshotsList(const std::string& data_dir, bool json) {
  absl::StatusOr<std::vector<query::PopulationSnapshot>> snapshots =
      PopulationSnapshots::List(data_dir);
  if (!snapshots.ok()) {
    return Fail(
        absl::StrCat("--data ", data_dir, ": ", snapshots.status().message()));
  }
  const admin::v1::ListSnapshotsResponse listed = DescribeSnapshots(*snapshots);
  json ? PrintJson(listed) : void(std::cout << FormatSnapshots(listed));
  return kExitOk;
}

}  // namespace kehu::app
