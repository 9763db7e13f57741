#include "query/segment_reports.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/util/time_util.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"

namespace kehu::query {
namespace {

namespace schema = infra::schema;
using infra::schema::Family;
using TimeUtil = google::protobuf::util::TimeUtil;

std::string MonthName(int32_t month) {
  return absl::StrFormat("%04d-%02d", month / 12, month % 12 + 1);
}

// The enum value's name without its type prefix, in lower case:
// PYRAMID_TIER_ONE_TIME -> "one_time".
template <typename Enum>
std::string ValueName(const std::string& full, const std::string& prefix) {
  std::string name = full.rfind(prefix, 0) == 0 ? full.substr(prefix.size())
                                                : full;
  return absl::AsciiStrToLower(name);
}

std::string DimensionValueName(query::v1::Dimension dimension,
                               const std::string& value) {
  const int v = value.empty() ? 0 : static_cast<uint8_t>(value[0]);
  switch (dimension) {
    case query::v1::DIMENSION_PYRAMID_TIER:
      return ValueName<query::v1::PyramidTier>(
          query::v1::PyramidTier_Name(v), "PYRAMID_TIER_");
    case query::v1::DIMENSION_PARETO:
      return v == 1 ? "key" : "ordinary";
    case query::v1::DIMENSION_LIFECYCLE_STAGE:
      return ValueName<query::v1::LifecycleStage>(
          query::v1::LifecycleStage_Name(v), "LIFECYCLE_STAGE_");
    case query::v1::DIMENSION_MATRIX_CELL:
      return ValueName<query::v1::ValueMatrixCell>(
          query::v1::ValueMatrixCell_Name(v), "VALUE_MATRIX_CELL_");
    case query::v1::DIMENSION_RELATIONSHIP_TYPE:
      return ValueName<events::v1::RelationshipType>(
          events::v1::RelationshipType_Name(v), "RELATIONSHIP_TYPE_");
    default:
      return value.empty() ? "(none)" : value;
  }
}

bool ValidTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() >= TimeUtil::kTimestampMinSeconds &&
         ts.seconds() <= TimeUtil::kTimestampMaxSeconds && ts.nanos() >= 0 &&
         ts.nanos() < 1'000'000'000;
}

// The months [from, to] of a request: the ones holding its timestamps,
// defaulting to the 12 months up to `now`.
absl::Status MonthRange(const google::protobuf::Timestamp& from, bool has_from,
                        const google::protobuf::Timestamp& to, bool has_to,
                        absl::Time now, int32_t* first, int32_t* last) {
  if (has_from && !ValidTimestamp(from)) {
    return absl::InvalidArgumentError("from: not a valid timestamp");
  }
  if (has_to && !ValidTimestamp(to)) {
    return absl::InvalidArgumentError("to: not a valid timestamp");
  }
  *last = schema::MonthOf(has_to ? TimeUtil::TimestampToMicroseconds(to)
                                 : absl::ToUnixMicros(now));
  *first = has_from ? schema::MonthOf(TimeUtil::TimestampToMicroseconds(from))
                    : *last - 11;
  if (*first > *last) {
    return absl::InvalidArgumentError("from: must not be after to");
  }
  if (*last - *first + 1 > kMaxReportMonths) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to: the period may span at most ", kMaxReportMonths, " months, got ",
        *last - *first + 1));
  }
  return absl::OkStatus();
}

// Calls `row(key, counters)` for every counter row in [lower, upper).
template <typename Row>
absl::Status ScanCounters(const infra::ProjectionStore& store,
                          const std::string& lower, const std::string& upper,
                          Row row) {
  const rocksdb::Slice lower_bound(lower), upper_bound(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_bound;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(read, store.family(Family::kSegments)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    KEHU_RETURN_IF_ERROR(row(it->key().ToStringView(),
                             schema::DecodeCounters(it->value().ToStringView())));
  }
  return infra::FromRocks(it->status(), "scanning segment counters");
}

int64_t At(const std::vector<int64_t>& v, size_t i) {
  return i < v.size() ? v[i] : 0;
}

double Share(int64_t part, int64_t whole) {
  return whole != 0 ? static_cast<double>(part) / whole : 0;
}

}  // namespace

absl::Status SummarizeSegments(const infra::ProjectionStore& store,
                               absl::Time now,
                               const query::v1::SegmentSummaryRequest& request,
                               query::v1::SegmentSummaryResponse* response) {
  const query::v1::Dimension dimension = request.dimension();
  if (dimension == query::v1::DIMENSION_UNSPECIFIED ||
      !query::v1::Dimension_IsValid(dimension)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dimension: must be one of DIMENSION_PYRAMID_TIER, DIMENSION_PARETO, "
        "DIMENSION_LIFECYCLE_STAGE, DIMENSION_MATRIX_CELL, "
        "DIMENSION_RELATIONSHIP_TYPE, DIMENSION_REGION; got ",
        static_cast<int>(dimension)));
  }
  int32_t first = 0, last = 0;
  KEHU_RETURN_IF_ERROR(MonthRange(request.from(), request.has_from(),
                                  request.to(), request.has_to(), now, &first,
                                  &last));
  response->set_dimension(dimension);
  response->set_currency(store.reporting_currency());
  response->set_from_month(MonthName(first));
  response->set_to_month(MonthName(last));

  const auto dim = static_cast<uint8_t>(dimension);
  const std::string prefix = schema::SegmentCounterPrefix(dim);
  std::vector<query::v1::Segment> segments;
  KEHU_RETURN_IF_ERROR(ScanCounters(
      store, prefix, schema::SegmentCounterPrefix(dim + 1),
      [&](std::string_view key, const std::vector<int64_t>& c) -> absl::Status {
        if (At(c, 0) == 0) return absl::OkStatus();  // emptied segment
        if (segments.size() == kMaxSegments) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "dimension: more than ", kMaxSegments, " segments"));
        }
        query::v1::Segment s;
        s.set_value(DimensionValueName(
            dimension, std::string(key.substr(prefix.size()))));
        s.set_customers(At(c, 0));
        s.set_revenue_minor(At(c, 1));
        s.set_margin_minor(At(c, 2));
        segments.push_back(std::move(s));
        return absl::OkStatus();
      }));
  for (const auto& s : segments) {
    response->set_customers(response->customers() + s.customers());
    response->set_revenue_minor(response->revenue_minor() + s.revenue_minor());
    response->set_margin_minor(response->margin_minor() + s.margin_minor());
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const auto& a, const auto& b) {
                     return a.margin_minor() > b.margin_minor();
                   });
  for (auto& s : segments) {
    s.set_customer_share(Share(s.customers(), response->customers()));
    s.set_revenue_share(Share(s.revenue_minor(), response->revenue_minor()));
    s.set_margin_share(Share(s.margin_minor(), response->margin_minor()));
    *response->add_segments() = std::move(s);
  }

  std::map<std::pair<int, int>, int64_t> transitions;
  KEHU_RETURN_IF_ERROR(ScanCounters(
      store, schema::TransitionCounterPrefix(first),
      schema::TransitionCounterPrefix(last + 1),
      [&](std::string_view key, const std::vector<int64_t>& c) -> absl::Status {
        if (key.size() != 7) {
          return absl::DataLossError("a transition counter key is malformed");
        }
        transitions[{static_cast<uint8_t>(key[5]), static_cast<uint8_t>(key[6])}] +=
            At(c, 0);
        return absl::OkStatus();
      }));
  std::vector<query::v1::TransitionCount> counts;
  for (const auto& [pair, count] : transitions) {
    if (count == 0) continue;
    query::v1::TransitionCount t;
    t.set_from(static_cast<query::v1::LifecycleStage>(pair.first));
    t.set_to(static_cast<query::v1::LifecycleStage>(pair.second));
    t.set_count(count);
    counts.push_back(t);
  }
  std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
    return a.count() > b.count();
  });
  for (auto& t : counts) *response->add_transitions() = std::move(t);
  return absl::OkStatus();
}

absl::Status ReportSatisfaction(
    const infra::ProjectionStore& store, absl::Time now,
    const AnalyticsConfig& config,
    const query::v1::SatisfactionReportRequest& request,
    query::v1::SatisfactionReportResponse* response) {
  schema::SatisfactionSplit split;
  query::v1::Dimension names;  // how the split's values are named
  switch (request.split()) {
    case query::v1::REPORT_SPLIT_UNSPECIFIED:
      split = schema::SatisfactionSplit::kAll;
      names = query::v1::DIMENSION_UNSPECIFIED;
      break;
    case query::v1::REPORT_SPLIT_PYRAMID_TIER:
      split = schema::SatisfactionSplit::kTier;
      names = query::v1::DIMENSION_PYRAMID_TIER;
      break;
    case query::v1::REPORT_SPLIT_RELATIONSHIP_TYPE:
      split = schema::SatisfactionSplit::kRelationship;
      names = query::v1::DIMENSION_RELATIONSHIP_TYPE;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "split: unknown value ", static_cast<int>(request.split())));
  }
  int32_t first = 0, last = 0;
  KEHU_RETURN_IF_ERROR(MonthRange(request.from(), request.has_from(),
                                  request.to(), request.has_to(), now, &first,
                                  &last));

  // (month, group) -> figures; every month of the period has an "all" row.
  std::map<std::pair<int32_t, std::string>, store::v1::SatisfactionFigures>
      rows;
  if (split == schema::SatisfactionSplit::kAll) {
    for (int32_t m = first; m <= last; ++m) rows[{m, "all"}].set_month(m);
  }
  KEHU_RETURN_IF_ERROR(ScanCounters(
      store, schema::SatisfactionCounterPrefix(first),
      schema::SatisfactionCounterPrefix(last + 1),
      [&](std::string_view key, const std::vector<int64_t>& c) -> absl::Status {
        if (key.size() < 6) {
          return absl::DataLossError("a satisfaction counter key is malformed");
        }
        if (static_cast<uint8_t>(key[5]) != static_cast<uint8_t>(split)) {
          return absl::OkStatus();
        }
        const int32_t month =
            static_cast<int32_t>(schema::DecodeFixed32BE(key.data() + 1));
        const std::string group =
            split == schema::SatisfactionSplit::kAll
                ? "all"
                : DimensionValueName(names, std::string(key.substr(6)));
        store::v1::SatisfactionFigures& f = rows[{month, group}];
        f.set_month(month);
        // The counters' order is SatisfactionFigures' field order.
        const auto* descriptor = f.GetDescriptor();
        const auto* reflection = f.GetReflection();
        for (size_t i = 0; i < c.size(); ++i) {
          const auto* field = descriptor->FindFieldByNumber(static_cast<int>(i) + 2);
          if (field == nullptr) break;
          reflection->SetInt64(&f, field, reflection->GetInt64(f, field) + c[i]);
        }
        return absl::OkStatus();
      }));

  for (const auto& [month_group, f] : rows) {
    query::v1::SatisfactionMonth* out = response->add_months();
    out->set_month(MonthName(month_group.first));
    out->set_group(month_group.second);
    double csi = 0;
    out->set_has_csi(CompanySatisfactionIndex(f, config, &csi));
    out->set_csi(csi);
    out->set_nps_answers(f.nps_answers());
    if (f.nps_answers() > 0) {
      out->set_nps(100.0 * (f.promoters() - f.detractors()) / f.nps_answers());
    }
    out->set_csat_answers(f.csat_answers());
    if (f.csat_answers() > 0) {
      out->set_csat_mean(static_cast<double>(f.csat_sum()) / f.csat_answers());
    }
    out->set_complaints(f.complaints());
    out->set_purchases(f.purchases());
    if (f.purchases() > 0) {
      out->set_complaint_rate(static_cast<double>(f.complaints()) /
                              f.purchases());
    }
    out->set_resolutions(f.resolutions());
    if (f.resolutions() > 0) {
      out->set_mean_resolution_hours(
          static_cast<double>(f.resolution_minutes()) / 60 / f.resolutions());
    }
  }
  return absl::OkStatus();
}

}  // namespace kehu::query
