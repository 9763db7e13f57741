#include "projections/segment_index.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "infra/customer_metrics.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "projections/customer_chunks.h"
#include "query/customer_view.h"

namespace kehu::projections {
namespace {

namespace schema = infra::schema;
using schema::Family;
using schema::SatisfactionSplit;
using schema::SegmentOrder;
using store::v1::CustomerState;
using store::v1::SatisfactionFigures;
using store::v1::Standing;
using TimeUtil = google::protobuf::util::TimeUtil;

constexpr SegmentOrder kOrders[] = {
    SegmentOrder::kCurrentValue, SegmentOrder::kHistoricalValue,
    SegmentOrder::kRecency, SegmentOrder::kSatisfaction,
    SegmentOrder::kChurnRisk};

// The standing's position in `order`; customers without the figure sort
// lowest.
uint64_t SortKey(const Standing& s, SegmentOrder order) {
  switch (order) {
    case SegmentOrder::kCurrentValue:
      return s.has_current_value()
                 ? schema::SortableDouble(s.current_value_minor())
                 : 0;
    case SegmentOrder::kHistoricalValue:
      return schema::SortableInt(s.historical_value_minor());
    case SegmentOrder::kRecency:
      return s.last_purchase_us() != 0
                 ? schema::SortableInt(s.last_purchase_us())
                 : 0;
    case SegmentOrder::kSatisfaction:
      return s.has_satisfaction() ? schema::SortableDouble(s.satisfaction())
                                  : 0;
    case SegmentOrder::kChurnRisk:
      return s.has_churn_risk() ? schema::SortableDouble(s.churn_risk()) : 0;
  }
  return 0;
}

std::string Byte(int v) { return std::string(1, static_cast<char>(v)); }

// Adds `sign` * `values` to the counter row `key` of `deltas`.
void Add(SegmentIndex::CounterDeltas* deltas, const std::string& key,
         int64_t sign, const std::vector<int64_t>& values) {
  std::vector<int64_t>& sum = (*deltas)[key];
  if (sum.size() < values.size()) sum.resize(values.size(), 0);
  for (size_t i = 0; i < values.size(); ++i) sum[i] += sign * values[i];
}

std::vector<int64_t> FigureValues(const SatisfactionFigures& f) {
  return {f.csat_answers(),     f.csat_sum(),         f.nps_answers(),
          f.promoters(),        f.detractors(),       f.purchases(),
          f.repeat_purchases(), f.returned_purchases(), f.complaints(),
          f.resolutions(),      f.resolved_in_sla(),  f.resolution_minutes(),
          f.nps_sum()};
}

// Adds `sign` * what the standing adds to each counter row to `deltas`.
void AddContributions(const Standing& s, int64_t sign,
                      SegmentIndex::CounterDeltas* deltas) {
  const std::vector<int64_t> segment = {1, s.window_revenue_minor(),
                                        s.window_margin_minor()};
  // Dimension numbers are kehu.query.v1.Dimension's.
  Add(deltas, schema::SegmentCounterKey(1, Byte(s.pyramid_tier())), sign,
      segment);
  Add(deltas, schema::SegmentCounterKey(2, Byte(s.pareto_key() ? 1 : 0)), sign,
      segment);
  Add(deltas, schema::SegmentCounterKey(3, Byte(s.stage())), sign, segment);
  Add(deltas, schema::SegmentCounterKey(4, Byte(s.matrix_cell())), sign,
      segment);
  Add(deltas, schema::SegmentCounterKey(5, Byte(s.relationship_type())), sign,
      segment);
  Add(deltas, schema::SegmentCounterKey(6, s.region()), sign, segment);
  for (uint64_t t : s.transitions()) {
    Add(deltas,
        schema::TransitionCounterKey(static_cast<int32_t>(t >> 16),
                                     static_cast<uint8_t>((t >> 8) & 0xff),
                                     static_cast<uint8_t>(t & 0xff)),
        sign, {1});
  }
  for (const SatisfactionFigures& f : s.months()) {
    const std::vector<int64_t> values = FigureValues(f);
    Add(deltas,
        schema::SatisfactionCounterKey(f.month(), SatisfactionSplit::kAll, ""),
        sign, values);
    Add(deltas,
        schema::SatisfactionCounterKey(f.month(), SatisfactionSplit::kTier,
                                       Byte(s.pyramid_tier())),
        sign, values);
    Add(deltas,
        schema::SatisfactionCounterKey(f.month(),
                                       SatisfactionSplit::kRelationship,
                                       Byte(s.relationship_type())),
        sign, values);
  }
}

// The customer's satisfaction figures by month, up to `as_of_us`.
std::vector<SatisfactionFigures> MonthlyFigures(
    const CustomerState& state, int64_t as_of_us,
    const query::AnalyticsConfig& config) {
  std::map<int32_t, SatisfactionFigures> months;
  auto at = [&months](int64_t time_us) -> SatisfactionFigures& {
    SatisfactionFigures& f = months[schema::MonthOf(time_us)];
    f.set_month(schema::MonthOf(time_us));
    return f;
  };
  for (const auto& s : state.surveys()) {
    if (s.answered_at_us() > as_of_us) continue;
    SatisfactionFigures& f = at(s.answered_at_us());
    if (s.csat() > 0) {
      f.set_csat_answers(f.csat_answers() + 1);
      f.set_csat_sum(f.csat_sum() + s.csat());
    }
    if (s.nps() >= 0) {
      f.set_nps_answers(f.nps_answers() + 1);
      f.set_nps_sum(f.nps_sum() + s.nps());
      if (s.nps() >= 9) f.set_promoters(f.promoters() + 1);
      if (s.nps() <= 6) f.set_detractors(f.detractors() + 1);
    }
  }
  std::vector<const store::v1::OrderRecord*> purchases;
  for (const auto& order : state.orders()) {
    if (infra::IsPurchaseAt(order, as_of_us)) purchases.push_back(&order);
  }
  std::stable_sort(purchases.begin(), purchases.end(),
                   [](const auto* a, const auto* b) {
                     return a->placed_at_us() < b->placed_at_us();
                   });
  for (size_t i = 0; i < purchases.size(); ++i) {
    SatisfactionFigures& f = at(purchases[i]->placed_at_us());
    f.set_purchases(f.purchases() + 1);
    if (i > 0) f.set_repeat_purchases(f.repeat_purchases() + 1);
    if (purchases[i]->status() == store::v1::ORDER_STATUS_RETURNED) {
      f.set_returned_purchases(f.returned_purchases() + 1);
    }
  }
  const int64_t sla_us = absl::ToInt64Microseconds(config.complaint_sla);
  for (const auto& c : state.complaints()) {
    if (c.filed_at_us() > as_of_us) continue;
    SatisfactionFigures& filed = at(c.filed_at_us());
    filed.set_complaints(filed.complaints() + 1);
    if (c.resolved_at_us() == 0 || c.resolved_at_us() > as_of_us) continue;
    SatisfactionFigures& resolved = at(c.resolved_at_us());
    const int64_t took = c.resolved_at_us() - c.filed_at_us();
    resolved.set_resolutions(resolved.resolutions() + 1);
    if (took <= sla_us) resolved.set_resolved_in_sla(resolved.resolved_in_sla() + 1);
    resolved.set_resolution_minutes(resolved.resolution_minutes() +
                                    took / 60'000'000);
  }
  std::vector<SatisfactionFigures> out;
  out.reserve(months.size());
  for (auto& [month, f] : months) out.push_back(std::move(f));
  return out;
}

// The standing as listings store it: without the per-month detail.
std::string ListingValue(const Standing& s) {
  Standing copy = s;
  copy.clear_transitions();
  copy.clear_months();
  return copy.SerializeAsString();
}

}  // namespace

SegmentIndex::SegmentIndex(infra::ProjectionStore* store,
                           query::AnalyticsConfig config)
    : store_(store), config_(std::move(config)) {}

Standing SegmentIndex::Evaluate(
    const CustomerState& state,
    const store::v1::PopulationModel& population) const {
  const int64_t as_of_us =
      std::max(population.as_of_us(), state.last_interaction_at_us());
  const std::string& currency = store_->reporting_currency();
  // The same view GetCustomer gives at as_of.
  query::v1::CustomerView view = query::ToCustomerView(state);
  query::EvaluateCustomer(state, absl::FromUnixMicros(as_of_us), currency,
                          population, config_, &view);

  Standing s;
  s.set_customer_id(state.customer_id());
  s.set_name(state.name());
  s.set_relationship_type(state.relationship_type());
  s.set_region(state.region());
  s.set_as_of_us(as_of_us);
  s.set_stage(view.lifecycle().stage());
  s.set_pyramid_tier(view.segments().pyramid_tier());
  s.set_pareto_key(view.segments().pareto_key());
  s.set_matrix_cell(view.segments().matrix_cell());
  s.set_recency_score(view.segments().recency_score());
  s.set_frequency_score(view.segments().frequency_score());
  s.set_monetary_score(view.segments().monetary_score());
  if (view.segments().has_p_alive()) {
    s.set_has_churn_risk(true);
    s.set_churn_risk(view.segments().churn_risk());
  }
  if (view.satisfaction().has_index()) {
    s.set_has_satisfaction(true);
    s.set_satisfaction(view.satisfaction().index());
  }
  s.set_open_complaints(state.open_complaints());
  s.set_historical_value_minor(view.value().historical_minor());
  if (view.value().has_current()) {
    s.set_has_current_value(true);
    s.set_current_value_minor(view.value().current_minor());
  }

  const int64_t window_us = absl::ToInt64Microseconds(config_.rfm_window);
  int64_t revenue = 0;
  for (const auto& order : state.orders()) {
    if (!infra::IsPurchaseAt(order, as_of_us)) continue;
    s.set_last_purchase_us(std::max(s.last_purchase_us(), order.placed_at_us()));
    if (order.placed_at_us() > as_of_us - window_us &&
        order.currency() == currency) {
      revenue += order.revenue_minor() - order.refunded_minor();
    }
  }
  s.set_window_revenue_minor(revenue);
  s.set_window_margin_minor(view.rfm().monetary_minor());

  std::vector<uint64_t> transitions;
  for (const auto& t : view.lifecycle().transitions()) {
    const int64_t at_us = TimeUtil::TimestampToMicroseconds(t.at());
    transitions.push_back((static_cast<uint64_t>(schema::MonthOf(at_us)) << 16) |
                          (static_cast<uint64_t>(t.from()) << 8) |
                          static_cast<uint64_t>(t.to()));
  }
  std::sort(transitions.begin(), transitions.end());
  for (uint64_t t : transitions) s.add_transitions(t);
  for (auto& f : MonthlyFigures(state, as_of_us, config_)) {
    *s.add_months() = std::move(f);
  }
  return s;
}

void SegmentIndex::Write(const Standing* old, const Standing& now,
                         rocksdb::WriteBatch* batch,
                         CounterDeltas* deltas) const {
  rocksdb::ColumnFamilyHandle* family = store_->family(Family::kSegments);
  const std::string row = now.SerializeAsString();
  if (old != nullptr && old->SerializeAsString() == row) return;
  batch->Put(family, schema::StandingKey(now.customer_id()), row);

  const std::string listing = ListingValue(now);
  const std::string old_listing = old != nullptr ? ListingValue(*old) : "";
  for (SegmentOrder order : kOrders) {
    const std::string key =
        schema::SegmentOrderKey(order, SortKey(now, order), now.customer_id());
    if (old != nullptr) {
      const std::string old_key = schema::SegmentOrderKey(
          order, SortKey(*old, order), old->customer_id());
      if (old_key == key && old_listing == listing) continue;
      if (old_key != key) batch->Delete(family, old_key);
    }
    batch->Put(family, key, listing);
  }

  CounterDeltas local;
  CounterDeltas* sink = deltas != nullptr ? deltas : &local;
  AddContributions(now, 1, sink);
  if (old != nullptr) AddContributions(*old, -1, sink);
  if (deltas == nullptr) WriteCounters(local, batch);
}

void SegmentIndex::WriteCounters(const CounterDeltas& deltas,
                                 rocksdb::WriteBatch* batch) const {
  rocksdb::ColumnFamilyHandle* family = store_->family(Family::kSegments);
  for (const auto& [key, values] : deltas) {
    if (std::all_of(values.begin(), values.end(),
                    [](int64_t v) { return v == 0; })) {
      continue;
    }
    batch->Merge(family, key, schema::EncodeCounters(values));
  }
}

absl::StatusOr<std::optional<Standing>> SegmentIndex::Get(
    std::string_view customer_id) const {
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->family(Family::kSegments),
                        schema::StandingKey(customer_id), &value);
  if (s.IsNotFound()) return std::nullopt;
  KEHU_RETURN_IF_ERROR(infra::FromRocks(s, "reading a standing row"));
  Standing standing;
  if (!standing.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("standing row of ",
                                            std::string(customer_id),
                                            " does not parse"));
  }
  return standing;
}

absl::Status SegmentIndex::Update(const CustomerState& state,
                                  const store::v1::PopulationModel& population,
                                  rocksdb::WriteBatch* batch,
                                  CounterDeltas* deltas) const {
  KEHU_ASSIGN_OR_RETURN(auto old, Get(state.customer_id()));
  Write(old.has_value() ? &*old : nullptr, Evaluate(state, population), batch,
        deltas);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SegmentIndex::RefreshAll(
    const std::function<bool()>& cancelled, Existing existing, int threads,
    int chunk) const {
  chunk = std::max(1, chunk);
  if (existing == Existing::kNone) {
    return WriteEveryStanding(cancelled, threads, chunk);
  }
  int64_t refreshed = 0;
  std::string resume;  // the first customer key of the next chunk
  while (true) {
    if (cancelled && cancelled()) {
      return absl::CancelledError("re-evaluating standings cancelled");
    }
    absl::WriterMutexLock lock(&store_->segment_mutex());
    const std::shared_ptr<const store::v1::PopulationModel> population =
        store_->population();
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), store_->family(Family::kCustomers)));
    it->Seek(resume);
    rocksdb::WriteBatch batch;
    CounterDeltas deltas;
    int n = 0;
    for (; it->Valid() && n < chunk; it->Next(), ++n) {
      CustomerState state;
      if (!state.ParseFromArray(it->value().data(),
                                static_cast<int>(it->value().size()))) {
        return absl::DataLossError(absl::StrCat(
            "customer row ", it->key().ToString(), " does not parse"));
      }
      KEHU_RETURN_IF_ERROR(Update(state, *population, &batch, &deltas));
    }
    WriteCounters(deltas, &batch);
    KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning customers"));
    KEHU_RETURN_IF_ERROR(store_->Write(&batch));
    refreshed += n;
    if (!it->Valid()) return refreshed;
    resume = it->key().ToString();
  }
}

absl::StatusOr<int64_t> SegmentIndex::WriteEveryStanding(
    const std::function<bool()>& cancelled, int threads, int chunk) const {
  const std::shared_ptr<const store::v1::PopulationModel> population =
      store_->population();
  std::atomic<int64_t> refreshed{0};
  absl::Status s = ForEachCustomerChunk(
      *store_, rocksdb::ReadOptions(), std::max(1, threads), chunk,
      cancelled, [&](int, const CustomerRows& rows) -> absl::Status {
        rocksdb::WriteBatch batch;
        CounterDeltas deltas;
        CustomerState state;
        for (const auto& [key, value] : rows) {
          if (!state.ParseFromString(value)) {
            return absl::DataLossError(
                absl::StrCat("customer row ", key, " does not parse"));
          }
          Write(nullptr, Evaluate(state, *population), &batch, &deltas);
        }
        WriteCounters(deltas, &batch);
        absl::WriterMutexLock lock(&store_->segment_mutex());
        KEHU_RETURN_IF_ERROR(store_->Write(&batch));
        refreshed += static_cast<int64_t>(rows.size());
        return absl::OkStatus();
      });
  if (absl::IsCancelled(s)) {
    return absl::CancelledError("re-evaluating standings cancelled");
  }
  KEHU_RETURN_IF_ERROR(s);
  return refreshed.load();
}

}  // namespace kehu::projections
