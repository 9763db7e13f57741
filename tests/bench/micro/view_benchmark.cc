// View serialization: the CPU work of GetCustomer
// (query/query_service.cc) for the warm customer at 2026-01-01, step by
// step, without the store read and gRPC:
//   BM_View/parse_state           ParseFromString of the stored
//                                 CustomerState row
//   BM_View/to_customer_view      query::ToCustomerView
//   BM_View/full_view/<p>         ToCustomerView + query::EvaluateCustomer
//   BM_View/serialize/<p>         SerializeAsString of that full view
// <p> is no_population (before the first `kehu fit`: no scores, tiers or
// lifetime values) or fitted_population (fixtures.h FittedPopulation:
// RFM scores, tiers, BG/NBD P(alive), Gamma-Gamma value, potential value).
// Reports views/s; `bytes` counters give the size of what is parsed or
// written.
#include <string>

#include "benchmark/benchmark.h"
#include "kehu/query/v1/query.pb.h"
#include "kehu/store/v1/store.pb.h"
#include "query/customer_analytics.h"
#include "query/customer_view.h"
#include "tests/bench/micro/fixtures.h"

namespace kehu::bench {
namespace {

using store::v1::PopulationModel;

// GetCustomer's view (query_service.cc FullView).
query::v1::CustomerView FullView(const PopulationModel& population,
                                 const query::AnalyticsConfig& config) {
  query::v1::CustomerView view = query::ToCustomerView(WarmCustomer());
  query::EvaluateCustomer(WarmCustomer(), ReferenceTime(), "EUR", population,
                          config, &view);
  return view;
}

const PopulationModel& Population(bool fitted) {
  static const PopulationModel* const kNone = new PopulationModel;
  return fitted ? FittedPopulation() : *kNone;
}

void BM_ParseState(benchmark::State& state) {
  const std::string row = WarmCustomer().SerializeAsString();
  for (auto _ : state) {
    store::v1::CustomerState parsed;
    if (!parsed.ParseFromString(row)) {
      Fail(state, "the warm customer's row does not parse");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(row.size()));
  state.counters["row_bytes"] = static_cast<double>(row.size());
}

void BM_ToCustomerView(benchmark::State& state) {
  for (auto _ : state) {
    query::v1::CustomerView view = query::ToCustomerView(WarmCustomer());
    benchmark::DoNotOptimize(view);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FullView(benchmark::State& state, bool fitted) {
  const query::AnalyticsConfig config;
  const PopulationModel& population = Population(fitted);
  if (fitted && !FullView(population, config).segments().has_p_alive()) {
    Fail(state, "the fitted population gives the warm customer no P(alive)");
    return;
  }
  for (auto _ : state) {
    query::v1::CustomerView view = FullView(population, config);
    benchmark::DoNotOptimize(view);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SerializeView(benchmark::State& state, bool fitted) {
  const query::v1::CustomerView view =
      FullView(Population(fitted), query::AnalyticsConfig());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string serialized = view.SerializeAsString();
    bytes = serialized.size();
    benchmark::DoNotOptimize(serialized);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["view_bytes"] = static_cast<double>(bytes);
}

}  // namespace

void RegisterViewBenchmarks() {
  benchmark::RegisterBenchmark("BM_View/parse_state", BM_ParseState);
  benchmark::RegisterBenchmark("BM_View/to_customer_view", BM_ToCustomerView);
  for (bool fitted : {false, true}) {
    const std::string population =
        fitted ? "fitted_population" : "no_population";
    benchmark::RegisterBenchmark(
        ("BM_View/full_view/" + population).c_str(),
        [fitted](benchmark::State& state) { BM_FullView(state, fitted); });
    benchmark::RegisterBenchmark(
        ("BM_View/serialize/" + population).c_str(),
        [fitted](benchmark::State& state) { BM_SerializeView(state, fitted); });
  }
}

}  // namespace kehu::bench
