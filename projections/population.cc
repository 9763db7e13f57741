#include "projections/population.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "infra/customer_metrics.h"
#include "infra/customer_standing.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "projections/customer_chunks.h"
#include "projections/lifetime_value_fit.h"
#include "projections/segment_index.h"
#include "rocksdb/snapshot.h"

namespace kehu::projections {
namespace {

using infra::schema::Family;

// Customers between two polls of PopulationOptions::cancelled.
constexpr int64_t kCancelPollCustomers = 1024;

// CANCELLED when the step was asked to stop; polled once every
// kCancelPollCustomers calls, counted in `*calls`.
absl::Status PollCancelled(const PopulationOptions& options, int64_t* calls) {
  if ((*calls)++ % kCancelPollCustomers != 0 || !options.cancelled) {
    return absl::OkStatus();
  }
  if (options.cancelled()) {
    return absl::CancelledError("population step cancelled");
  }
  return absl::OkStatus();
}

// One active customer's trailing margin, for the tiers.
struct Ranked {
  int64_t margin = 0;
  int64_t window_purchases = 0;
  std::vector<std::pair<std::string, int64_t>> categories;
};

// The margin at 1-based rank `rank` of `sorted` (descending).
int64_t MarginAtRank(const std::vector<Ranked>& sorted, int64_t rank) {
  if (sorted.empty() || rank <= 0) return 0;
  return sorted[std::min<int64_t>(rank, sorted.size()) - 1].margin;
}

}  // namespace

store::v1::QuintileCuts QuintileCutsOf(std::vector<double> values) {
  store::v1::QuintileCuts cuts;
  if (values.empty()) return cuts;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  for (int k = 1; k <= 4; ++k) {
    const int64_t rank = static_cast<int64_t>(std::ceil(k * n / 5));
    cuts.add_cuts(values[std::max<int64_t>(rank, 1) - 1]);
  }
  return cuts;
}

absl::StatusOr<store::v1::PopulationModel> MeasurePopulation(
    const infra::ProjectionStore& store, absl::Time as_of,
    const PopulationOptions& options) {
  store::v1::PopulationModel model;
  const int64_t as_of_us = absl::ToUnixMicros(as_of);
  const int64_t window_us = absl::ToInt64Microseconds(options.window);
  const std::string& currency = store.reporting_currency();
  model.set_as_of_us(as_of_us);
  model.set_currency(currency);
  model.set_pareto_share(options.pareto_share);

  rocksdb::ManagedSnapshot snapshot(store.db());
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot();

  // The log position the snapshot corresponds to.
  {
    std::unique_ptr<rocksdb::Iterator> it(
        store.db()->NewIterator(read, store.family(Family::kOffsets)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::PartitionProgress progress;
      if (!progress.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("a partition progress row does not parse");
      }
      model.add_log_positions(progress.next_offset());
    }
    KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning offsets"));
  }

  std::vector<double> recency, frequency, monetary, gaps;
  std::vector<Ranked> active;
  std::vector<CalibrationSummary> summaries;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(read, store.family(Family::kCustomers)));
  store::v1::CustomerState state;
  int64_t polls = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    KEHU_RETURN_IF_ERROR(PollCancelled(options, &polls));
    if (!state.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError(absl::StrCat(
          "customer row ", it->key().ToString(), " does not parse"));
    }
    const infra::PurchaseFacts facts =
        infra::PurchaseFactsAt(state, as_of_us, window_us, currency);
    if (facts.purchases == 0) continue;
    recency.push_back((as_of_us - facts.last_purchase_us) / 86400e6);
    frequency.push_back(facts.window_purchases);
    monetary.push_back(facts.window_margin_minor);
    if (facts.window_purchases > 0) {
      active.push_back(Ranked{
          facts.window_margin_minor, facts.window_purchases,
          infra::WindowCategoryMargins(state, as_of_us, window_us, currency)});
    }
    std::vector<int64_t> days;
    for (const auto& order : state.orders()) {
      if (infra::IsPurchaseAt(order, as_of_us))
        days.push_back(order.placed_at_us());
    }
    std::sort(days.begin(), days.end());
    for (size_t i = 1; i < days.size(); ++i) {
      gaps.push_back((days[i] - days[i - 1]) / 86400e6);
    }
    auto summary =
        infra::Summarize(infra::MarginPurchases(state, as_of_us, currency),
                         as_of_us, options.time_unit_days);
    if (summary.has_value()) summaries.push_back(*summary);
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning customers"));

  model.set_purchasing_customers(recency.size());
  if (!gaps.empty()) {
    std::sort(gaps.begin(), gaps.end());
    const size_t n = gaps.size();
    model.set_median_inter_purchase_days(
        n % 2 == 1 ? gaps[n / 2] : (gaps[n / 2 - 1] + gaps[n / 2]) / 2);
  }
  model.set_active_customers(active.size());
  *model.mutable_recency_days() = QuintileCutsOf(std::move(recency));
  *model.mutable_frequency() = QuintileCutsOf(std::move(frequency));
  *model.mutable_monetary_minor() = QuintileCutsOf(std::move(monetary));

  // Highest trailing margin first; ties keep scan (customer id) order.
  std::stable_sort(
      active.begin(), active.end(),
      [](const Ranked& a, const Ranked& b) { return a.margin > b.margin; });

  // Pareto: the smallest top set reaching the share of the positive margin;
  // customers tied with the last one are in too.
  int64_t total = 0;
  for (const Ranked& r : active) total += std::max<int64_t>(r.margin, 0);
  model.set_total_margin_minor(total);
  if (total > 0) {
    int64_t sum = 0;
    size_t k = 0;
    while (k < active.size() && sum < options.pareto_share * total) {
      sum += active[k++].margin;
    }
    const int64_t cutoff = active[k - 1].margin;
    while (k < active.size() && active[k].margin == cutoff) ++k;
    model.set_pareto_cutoff_minor(cutoff);
    model.set_pareto_key_customers(k);
  }

  // Pyramid: ranks by share of the active customers.
  const double n = static_cast<double>(active.size());
  const int64_t key =
      static_cast<int64_t>(std::ceil(options.pyramid_key_share * n));
  const int64_t key_and_potential = static_cast<int64_t>(std::ceil(
      (options.pyramid_key_share + options.pyramid_potential_share) * n));
  model.set_pyramid_key_customers(key);
  model.set_pyramid_potential_customers(key_and_potential - key);
  model.set_pyramid_key_cutoff_minor(MarginAtRank(active, key));
  model.set_pyramid_potential_cutoff_minor(
      MarginAtRank(active, key_and_potential));

  // Mean margin per category among each tier's buyers of that category.
  std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>>
      sums;
  for (const Ranked& r : active) {
    infra::PurchaseFacts facts;
    facts.window_purchases = r.window_purchases;
    facts.window_margin_minor = r.margin;
    auto& tier =
        sums[infra::PyramidTierName(infra::PyramidTierOf(facts, model))];
    for (const auto& [category, margin] : r.categories) {
      tier[category].first += margin;
      tier[category].second += 1;
    }
  }
  for (const auto& [tier, categories] : sums) {
    auto* row = model.add_category_margins();
    row->set_tier(tier);
    for (const auto& [category, sum_count] : categories) {
      row->add_categories(category);
      row->add_mean_margin_minor(static_cast<double>(sum_count.first) /
                                 sum_count.second);
    }
  }

  // Lifetime-value models, calibrated up to as_of.
  store::v1::ModelParameters* models = model.mutable_models();
  models->set_time_unit_days(options.time_unit_days);
  models->set_calibration_end_us(as_of_us);
  *models->mutable_log_positions() = model.log_positions();
  models->set_customers(summaries.size());
  int64_t repeat = 0;
  for (const auto& s : summaries) repeat += s.x > 0 ? 1 : 0;
  models->set_repeat_customers(repeat);
  if (auto bg = FitBgNbd(summaries); bg.ok()) {
    *models->mutable_bg_nbd() = *bg;
  } else {
    model.set_bg_nbd_error(std::string(bg.status().message()));
  }
  if (auto gg = FitGammaGamma(summaries); gg.ok()) {
    *models->mutable_gamma_gamma() = *gg;
  } else {
    model.set_gamma_gamma_error(std::string(gg.status().message()));
  }

  // Value-matrix medians over the active customers: a second pass, now
  // that tiers and models are known. Each customer's standing is most of
  // the step's time and depends on that customer alone: evaluated on
  // options.threads threads, and the values sorted before use, so the
  // medians do not depend on how they were split.
  const int threads = std::max(1, options.threads);
  std::vector<std::vector<double>> current_of(threads), potential_of(threads);
  infra::StandingConfig standing_config;
  standing_config.window = options.window;
  absl::Status values = ForEachCustomerChunk(
      store, read, threads, std::max(1, options.chunk_customers),
      options.cancelled,
      [&](int worker, const CustomerRows& rows) -> absl::Status {
        store::v1::CustomerState customer;
        for (const auto& [key, value] : rows) {
          if (!customer.ParseFromString(value)) {
            return absl::DataLossError(
                absl::StrCat("customer row ", key, " does not parse"));
          }
          const infra::Standing standing = infra::StandingOf(
              customer, as_of_us, model, currency, standing_config);
          if (standing.facts.window_purchases == 0) continue;
          if (standing.has_current_value) {
            current_of[worker].push_back(standing.current_value);
          }
          if (standing.has_potential_value) {
            potential_of[worker].push_back(standing.potential_value);
          }
        }
        return absl::OkStatus();
      });
  if (absl::IsCancelled(values)) {
    return absl::CancelledError("population step cancelled");
  }
  KEHU_RETURN_IF_ERROR(values);
  std::vector<double> current, potential;
  for (int w = 0; w < threads; ++w) {
    current.insert(current.end(), current_of[w].begin(), current_of[w].end());
    potential.insert(potential.end(), potential_of[w].begin(),
                     potential_of[w].end());
  }
  auto median = [](std::vector<double>& v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  model.set_median_current_value_minor(median(current));
  model.set_median_potential_value_minor(median(potential));
  return model;
}

absl::StatusOr<PopulationStepResult> RunPopulationStep(
    infra::ProjectionStore* store, absl::Time as_of,
    const PopulationOptions& options) {
  PopulationStepResult result;
  KEHU_ASSIGN_OR_RETURN(result.population,
                        MeasurePopulation(*store, as_of, options));
  KEHU_RETURN_IF_ERROR(store->PutPopulation(result.population));
  // Every standing moves to the new reference time and cut points.
  KEHU_ASSIGN_OR_RETURN(
      result.indexed_customers,
      SegmentIndex(store).RefreshAll(options.cancelled,
                                     options.index_empty
                                         ? SegmentIndex::Existing::kNone
                                         : SegmentIndex::Existing::kRead,
                                     options.threads, options.chunk_customers));
  return result;
}

}  // namespace kehu::projections
