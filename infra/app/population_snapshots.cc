#include "infra/app/population_snapshots.h"

#include <filesystem>
#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "kehu/events/v1/events.pb.h"
#include "rocksdb/utilities/checkpoint.h"

namespace kehu::app {
namespace {

namespace fs = std::filesystem;

constexpr char kTempSuffix[] = ".partial";

// The population a snapshot gives as-of reads: its population row (the
// default model when it has none). Read alone, so that a snapshot of an
// older store layout still serves (ProjectionStore::ReadPopulationOf).
absl::StatusOr<std::shared_ptr<const store::v1::PopulationModel>>
ReadSnapshotPopulation(const std::string& dir) {
  KEHU_ASSIGN_OR_RETURN(std::optional<store::v1::PopulationModel> population,
                        infra::ProjectionStore::ReadPopulationOf(dir));
  return std::make_shared<const store::v1::PopulationModel>(
      population.value_or(store::v1::PopulationModel()));
}

}  // namespace

absl::StatusOr<SnapshotPeriod> ParseSnapshotPeriod(std::string_view name) {
  for (SnapshotPeriod period :
       {SnapshotPeriod::kDay, SnapshotPeriod::kWeek, SnapshotPeriod::kMonth,
        SnapshotPeriod::kQuarter, SnapshotPeriod::kYear}) {
    if (name == SnapshotPeriodName(period)) return period;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("snapshot period: expected day, week, month, quarter or "
                   "year, got \"",
                   std::string(name), "\""));
}

std::string_view SnapshotPeriodName(SnapshotPeriod period) {
  switch (period) {
    case SnapshotPeriod::kDay:
      return "day";
    case SnapshotPeriod::kWeek:
      return "week";
    case SnapshotPeriod::kMonth:
      return "month";
    case SnapshotPeriod::kQuarter:
      return "quarter";
    case SnapshotPeriod::kYear:
      return "year";
  }
  return "month";
}

absl::Time PeriodStart(SnapshotPeriod period, absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilDay day = absl::ToCivilDay(t, utc);
  switch (period) {
    case SnapshotPeriod::kDay:
      return absl::FromCivil(day, utc);
    case SnapshotPeriod::kWeek:
      // The Monday at or before `day`.
      return absl::FromCivil(absl::PrevWeekday(day + 1, absl::Weekday::monday),
                             utc);
    case SnapshotPeriod::kMonth:
      return absl::FromCivil(absl::CivilMonth(day), utc);
    case SnapshotPeriod::kQuarter: {
      const int first_month = (day.month() - 1) / 3 * 3 + 1;
      return absl::FromCivil(absl::CivilMonth(day.year(), first_month), utc);
    }
    case SnapshotPeriod::kYear:
      return absl::FromCivil(absl::CivilYear(day), utc);
  }
  return absl::FromCivil(absl::CivilMonth(day), utc);
}

absl::Time NextPeriodStart(SnapshotPeriod period, absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilDay start = absl::ToCivilDay(PeriodStart(period, t), utc);
  switch (period) {
    case SnapshotPeriod::kDay:
      return absl::FromCivil(start + 1, utc);
    case SnapshotPeriod::kWeek:
      return absl::FromCivil(start + 7, utc);
    case SnapshotPeriod::kMonth:
      return absl::FromCivil(absl::CivilMonth(start) + 1, utc);
    case SnapshotPeriod::kQuarter:
      return absl::FromCivil(absl::CivilMonth(start) + 3, utc);
    case SnapshotPeriod::kYear:
      return absl::FromCivil(absl::CivilYear(start) + 1, utc);
  }
  return absl::FromCivil(absl::CivilMonth(start) + 1, utc);
}

namespace {

// The latest occurred_at among the last records of `partitions`, or with
// `first` the earliest among their first records; see LogBusinessTime().
std::optional<absl::Time> EdgeBusinessTime(
    infra::EventLog& log, const std::vector<int32_t>& partitions, bool first,
    const std::function<bool()>& stopping) {
  std::optional<absl::Time> edge;
  std::vector<infra::LogRecord> records;
  events::v1::Event event;
  for (int32_t p : partitions) {
    if (stopping && stopping()) return std::nullopt;
    const int64_t end = log.EndOffset(p);
    if (end == 0) continue;
    records.clear();
    if (!log.Read(p, first ? 0 : end - 1, 1, &records).ok() ||
        records.empty()) {
      continue;
    }
    if (!event.ParseFromString(records[0].value) || !event.has_occurred_at()) {
      continue;
    }
    const absl::Time at = absl::FromUnixSeconds(event.occurred_at().seconds()) +
                          absl::Nanoseconds(event.occurred_at().nanos());
    if (!edge.has_value() || (first ? at < *edge : at > *edge)) edge = at;
  }
  return edge;
}

}  // namespace

std::optional<absl::Time> LogBusinessTime(
    infra::EventLog& log, const std::vector<int32_t>& partitions,
    const std::function<bool()>& stopping) {
  return EdgeBusinessTime(log, partitions, /*first=*/false, stopping);
}

std::optional<absl::Time> LogFirstBusinessTime(
    infra::EventLog& log, const std::vector<int32_t>& partitions,
    const std::function<bool()>& stopping) {
  return EdgeBusinessTime(log, partitions, /*first=*/true, stopping);
}

namespace {

// `span` widened to take in `at`.
void Widen(absl::Time at, std::optional<BusinessTimeSpan>* span) {
  if (!span->has_value()) {
    *span = BusinessTimeSpan{at, at};
  } else {
    (*span)->first = std::min((*span)->first, at);
    (*span)->last = std::max((*span)->last, at);
  }
}

}  // namespace

absl::StatusOr<std::optional<BusinessTimeSpan>> BusinessTimeSpans::Read(
    infra::EventLog& log,
    const std::optional<std::vector<int32_t>>& partitions) {
  constexpr size_t kBatch = 10000;
  std::optional<BusinessTimeSpan> span;
  events::v1::Event event;
  std::vector<int32_t> all(log.partition_count());
  std::iota(all.begin(), all.end(), 0);
  for (int32_t p : partitions.value_or(all)) {
    Partition& scanned = partitions_[p];
    const int64_t end = log.EndOffset(p);
    while (scanned.end < end) {
      int64_t read = 0;
      KEHU_RETURN_IF_ERROR(log.Scan(
          p, scanned.end, kBatch, [&](const infra::LogRecordView& record) {
            ++read;
            if (event.ParseFromArray(record.value.data(),
                                     static_cast<int>(record.value.size())) &&
                event.has_occurred_at()) {
              Widen(absl::FromUnixSeconds(event.occurred_at().seconds()) +
                        absl::Nanoseconds(event.occurred_at().nanos()),
                    &scanned.span);
            }
            return absl::OkStatus();
          }));
      if (read == 0) break;
      scanned.end += read;
    }
    if (scanned.span.has_value()) {
      Widen(scanned.span->first, &span);
      Widen(scanned.span->last, &span);
    }
  }
  return span;
}

absl::StatusOr<std::optional<BusinessTimeSpan>> ReadBusinessTimeSpan(
    infra::EventLog& log,
    const std::optional<std::vector<int32_t>>& partitions) {
  return BusinessTimeSpans().Read(log, partitions);
}

std::vector<absl::Time> BoundariesBetween(SnapshotPeriod period,
                                          absl::Time first, absl::Time last) {
  std::vector<absl::Time> boundaries;
  for (absl::Time b = NextPeriodStart(period, first); b <= last;
       b = NextPeriodStart(period, b)) {
    boundaries.push_back(b);
  }
  return boundaries;
}

std::string PopulationSnapshots::NameOf(absl::Time boundary) {
  return absl::FormatTime("%Y-%m-%d", boundary, absl::UTCTimeZone());
}

absl::StatusOr<std::vector<query::PopulationSnapshot>>
PopulationSnapshots::List(const std::string& data_dir) {
  const std::string dir = data_dir + "/snapshots";
  std::map<absl::Time, query::PopulationSnapshot> found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return std::vector<query::PopulationSnapshot>();
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    absl::Time boundary;
    std::string error;
    if (absl::EndsWith(name, kTempSuffix) ||
        !absl::ParseTime("%Y-%m-%d", name, absl::UTCTimeZone(), &boundary,
                         &error)) {
      continue;  // being made, or not ours
    }
    KEHU_ASSIGN_OR_RETURN(
        std::shared_ptr<const store::v1::PopulationModel> population,
        ReadSnapshotPopulation(entry.path().string()));
    found[boundary] = {name, std::move(population)};
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list ", dir, ": ", ec.message()));
  }
  std::vector<query::PopulationSnapshot> snapshots;
  for (auto& [boundary, snapshot] : found) {
    snapshots.push_back(std::move(snapshot));
  }
  return snapshots;
}

absl::StatusOr<std::unique_ptr<PopulationSnapshots>> PopulationSnapshots::Open(
    const std::string& data_dir, projections::PopulationOptions population) {
  const std::string dir = data_dir + "/snapshots";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (absl::EndsWith(entry.path().filename().string(), kTempSuffix)) {
      fs::remove_all(entry.path(), ec);  // a snapshot cut short
    }
  }
  KEHU_ASSIGN_OR_RETURN(std::vector<query::PopulationSnapshot> found,
                        List(data_dir));
  std::unique_ptr<PopulationSnapshots> snapshots(
      new PopulationSnapshots(dir, population));
  absl::MutexLock lock(&snapshots->mu_);
  for (query::PopulationSnapshot& snapshot : found) {
    absl::Time boundary;
    std::string error;
    absl::ParseTime("%Y-%m-%d", snapshot.name, absl::UTCTimeZone(), &boundary,
                    &error);
    snapshots->snapshots_[boundary] = std::move(snapshot);
  }
  return snapshots;
}

absl::Status PopulationSnapshots::Make(
    absl::Time boundary,
    const std::function<absl::Status(const std::string& dir)>& build) {
  absl::MutexLock take(&take_mu_);
  const std::string name = NameOf(boundary);
  {
    absl::MutexLock lock(&mu_);
    if (snapshots_.count(boundary) > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("a snapshot of ", name, " exists already"));
    }
  }
  const std::string final_dir = dir_ + "/" + name;
  const std::string temp_dir = final_dir + kTempSuffix;
  std::error_code ec;
  fs::remove_all(temp_dir, ec);
  if (absl::Status built = build(temp_dir); !built.ok()) {
    fs::remove_all(temp_dir, ec);
    return built;
  }
  fs::rename(temp_dir, final_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp_dir, " to ",
                                            final_dir, ": ", ec.message()));
  }
  KEHU_ASSIGN_OR_RETURN(
      std::shared_ptr<const store::v1::PopulationModel> population,
      ReadSnapshotPopulation(final_dir));
  absl::MutexLock lock(&mu_);
  snapshots_[boundary] = {name, std::move(population)};
  return absl::OkStatus();
}

absl::Status PopulationSnapshots::Take(infra::ProjectionStore* store,
                                       absl::Time boundary,
                                       std::function<bool()> cancelled) {
  return Make(boundary, [&](const std::string& dir) -> absl::Status {
    rocksdb::Checkpoint* raw = nullptr;
    KEHU_RETURN_IF_ERROR(
        infra::FromRocks(rocksdb::Checkpoint::Create(store->db(), &raw),
                         "starting a checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    KEHU_RETURN_IF_ERROR(infra::FromRocks(checkpoint->CreateCheckpoint(dir),
                                          "writing a checkpoint"));
    infra::ProjectionStoreOptions options;
    options.reporting_currency = store->reporting_currency();
    options.block_cache_bytes = size_t{32} << 20;
    KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> copy,
                          infra::ProjectionStore::Open(dir, options));
    projections::PopulationOptions population = options_;
    population.cancelled = std::move(cancelled);
    KEHU_RETURN_IF_ERROR(
        projections::RunPopulationStep(copy.get(), boundary, population)
            .status());
    return copy->Flush();
  });
}

absl::StatusOr<projections::ReplayResult> PopulationSnapshots::Backfill(
    infra::EventLog* log, absl::Time boundary,
    const std::string& reporting_currency, projections::ReplayOptions replay) {
  // What occurred before the period began; `until` is inclusive.
  replay.until = boundary - absl::Nanoseconds(1);
  replay.until_offset.reset();
  replay.fit_as_of = boundary;
  replay.population = options_;
  projections::ReplayResult result;
  KEHU_RETURN_IF_ERROR(
      Make(boundary, [&](const std::string& dir) -> absl::Status {
        // The replay's store is scratch (removed by Open() after a crash,
        // by its suffix): the snapshot keeps its population only.
        const std::string scratch = absl::StrCat(
            absl::StripSuffix(dir, kTempSuffix), ".replay", kTempSuffix);
        std::error_code ec;
        fs::remove_all(scratch, ec);
        infra::ProjectionStoreOptions options;
        options.reporting_currency = reporting_currency;
        std::optional<store::v1::PopulationModel> population;
        {
          infra::ProjectionStoreOptions bulk = options;  // as `kehu replay`
          bulk.bulk_load = true;
          KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> store,
                                infra::ProjectionStore::Open(scratch, bulk));
          absl::StatusOr<projections::ReplayResult> replayed =
              projections::Replay(log, store.get(), replay);
          if (replayed.ok()) {
            result = *std::move(replayed);
            KEHU_ASSIGN_OR_RETURN(population, store->GetPopulation());
          }
          store.reset();
          fs::remove_all(scratch, ec);
          KEHU_RETURN_IF_ERROR(replayed.status());
        }
        if (!population.has_value()) {
          return absl::InternalError("the replay measured no population");
        }
        KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> store,
                              infra::ProjectionStore::Open(dir, options));
        KEHU_RETURN_IF_ERROR(store->PutPopulation(*population));
        return store->Flush();
      }));
  return result;
}

absl::StatusOr<std::vector<std::string>> PopulationSnapshots::RemoveOldest(
    size_t keep) {
  absl::MutexLock take(&take_mu_);
  std::vector<std::string> removed;
  if (keep == 0) return removed;
  while (true) {
    std::string name;
    {
      absl::MutexLock lock(&mu_);
      if (snapshots_.size() <= keep) return removed;
      // Out of the map first: as-of reads stop using it before it goes.
      name = snapshots_.begin()->second.name;
      snapshots_.erase(snapshots_.begin());
    }
    std::error_code ec;
    fs::remove_all(dir_ + "/" + name, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot remove ", dir_, "/", name, ": ", ec.message()));
    }
    removed.push_back(std::move(name));
  }
}

std::vector<absl::Time> PopulationSnapshots::Missing(
    SnapshotPeriod period, BusinessTimeSpan span,
    std::optional<absl::Time> from, std::optional<absl::Time> to,
    int* held) const {
  std::vector<absl::Time> missing;
  if (held != nullptr) *held = 0;
  // The boundaries after `first` up to `last`, and within [from, to].
  absl::Time first = span.first;
  absl::Time last = span.last;
  if (from.has_value()) first = std::max(first, *from - absl::Nanoseconds(1));
  if (to.has_value()) last = std::min(last, *to);
  absl::MutexLock lock(&mu_);
  for (absl::Time boundary : BoundariesBetween(period, first, last)) {
    if (snapshots_.count(boundary) == 0) {
      missing.push_back(boundary);
    } else if (held != nullptr) {
      ++*held;
    }
  }
  return missing;
}

admin::v1::AuditEntry BackfillAuditEntry(
    absl::Time boundary, SnapshotPeriod period, const std::string& caller,
    const absl::StatusOr<projections::ReplayResult>& result,
    absl::Duration took) {
  admin::v1::AuditEntry entry;
  entry.set_action("snapshot-backfill");
  entry.set_caller(caller);
  auto& args = *entry.mutable_arguments();
  args["boundary"] = PopulationSnapshots::NameOf(boundary);
  args["period"] = SnapshotPeriodName(period);
  entry.set_outcome(result.ok() ? "ok"
                                : std::string(result.status().message()));
  if (result.ok()) {
    entry.set_detail(absl::StrCat(
        "snapshots/", PopulationSnapshots::NameOf(boundary), ": replayed ",
        result->records, " records up to offsets ",
        absl::StrJoin(result->stop_offsets, ","), ", ", result->folded,
        " folded (occurred before the boundary), population measured at the "
        "boundary, in ",
        absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1)))));
  }
  return entry;
}

std::optional<query::PopulationSnapshot> PopulationSnapshots::AtOrBefore(
    absl::Time as_of) const {
  absl::MutexLock lock(&mu_);
  auto it = snapshots_.upper_bound(as_of);  // first boundary after as_of
  if (it == snapshots_.begin()) return std::nullopt;
  return std::prev(it)->second;
}

std::vector<query::PopulationSnapshot> PopulationSnapshots::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<query::PopulationSnapshot> all;
  for (const auto& [boundary, snapshot] : snapshots_) all.push_back(snapshot);
  return all;
}

admin::v1::ListSnapshotsResponse DescribeSnapshots(
    const std::vector<query::PopulationSnapshot>& snapshots) {
  admin::v1::ListSnapshotsResponse response;
  for (const query::PopulationSnapshot& snapshot : snapshots) {
    const store::v1::PopulationModel& p = *snapshot.population;
    admin::v1::SnapshotStatus& s = *response.add_snapshots();
    s.set_name(snapshot.name);
    s.mutable_measured()->set_seconds(p.as_of_us() / 1000000);
    s.set_active_customers(p.active_customers());
    s.set_purchasing_customers(p.purchasing_customers());
    s.set_key_customers(p.pyramid_key_customers());
    s.mutable_log_positions()->CopyFrom(p.log_positions());
  }
  return response;
}

std::optional<absl::Time> PopulationSnapshots::latest() const {
  absl::MutexLock lock(&mu_);
  if (snapshots_.empty()) return std::nullopt;
  return snapshots_.rbegin()->first;
}

size_t PopulationSnapshots::size() const {
  absl::MutexLock lock(&mu_);
  return snapshots_.size();
}

bool PopulationSnapshots::WaitForSnapshots(size_t n,
                                           absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return snapshots_.size() >= n;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&enough), deadline);
}

}  // namespace kehu::app
