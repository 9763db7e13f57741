// BM_Fold/<payload>: projections::FoldEvent of one event of each payload
// type (fixtures.h NextEvents) into the warm customer's state (101 events
// of history: 20 orders, 4 complaints, 8 surveys, ...). Reports folds/s.
//
// A fold that adds a record or changes one (an order, a cancellation, a
// return, a complaint, its resolution, a survey) must meet the warm state
// as it was, or the second fold would measure something else (a longer
// order list, an already cancelled order). Those fold into fresh copies of
// the warm state, made kCopies at a time with the timer paused (the pause
// costs about a microsecond, spread over kCopies folds). The others only
// overwrite fields and bump counters, so they do the same work each time
// and fold repeatedly into one warm state.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/store/v1/store.pb.h"
#include "projections/customer_fold.h"
#include "tests/bench/micro/fixtures.h"

namespace kehu::bench {
namespace {

using events::v1::Event;
using store::v1::CustomerState;

constexpr int kCopies = 128;
constexpr projections::EventPosition kPosition{3, 5000};

bool ChangesRecords(const Event& event) {
  switch (event.payload_case()) {
    case Event::kOrderPlaced:
    case Event::kOrderCancelled:
    case Event::kOrderReturned:
    case Event::kComplaintFiled:
    case Event::kComplaintResolved:
    case Event::kSurveyAnswered:
      return true;
    default:
      return false;
  }
}

int64_t Refunded(const CustomerState& state) {
  const auto* totals = projections::FindTotals(state, "EUR");
  return totals != nullptr ? totals->refunded_minor() : 0;
}

int64_t Paid(const CustomerState& state) {
  const auto* totals = projections::FindTotals(state, "EUR");
  return totals != nullptr ? totals->paid_minor() : 0;
}

// What folding `event` into `before` must have changed to give `after`;
// empty when it did.
std::string MissingChange(const Event& event, const CustomerState& before,
                          const CustomerState& after) {
  const auto& b = before.counts();
  const auto& a = after.counts();
  switch (event.payload_case()) {
    case Event::kCustomerRegistered:
      if (a.registrations() == b.registrations() + 1) return "";
      break;
    case Event::kProfileUpdated:
      if (a.profile_updates() == b.profile_updates() + 1 &&
          after.contact().phone() != before.contact().phone())
        return "";
      break;
    case Event::kOrderPlaced:
      if (after.orders_size() == before.orders_size() + 1 &&
          after.purchase_count() == before.purchase_count() + 1)
        return "";
      break;
    case Event::kOrderCancelled:
      if (after.purchase_count() == before.purchase_count() - 1) return "";
      break;
    case Event::kOrderReturned:
      if (Refunded(after) > Refunded(before)) return "";
      break;
    case Event::kPaymentReceived:
      if (Paid(after) > Paid(before) &&
          after.payments_on_time() == before.payments_on_time() + 1)
        return "";
      break;
    case Event::kCallLogged:
      if (a.calls() == b.calls() + 1) return "";
      break;
    case Event::kEmailLogged:
      if (a.emails() == b.emails() + 1) return "";
      break;
    case Event::kComplaintFiled:
      if (after.open_complaints() == before.open_complaints() + 1) return "";
      break;
    case Event::kComplaintResolved:
      if (after.open_complaints() == before.open_complaints() - 1) return "";
      break;
    case Event::kSurveyAnswered:
      if (after.surveys_size() == before.surveys_size() + 1) return "";
      break;
    case Event::PAYLOAD_NOT_SET:
      break;
  }
  return absl::StrCat("folding the ", PayloadName(event),
                      " event did not change the warm customer as expected");
}

void BM_Fold(benchmark::State& state, const Event& event) {
  const CustomerState& warm = WarmCustomer();
  CustomerState checked = warm;
  projections::FoldEvent(event, kPosition, &checked);
  if (std::string missing = MissingChange(event, warm, checked);
      !missing.empty()) {
    Fail(state, missing);
    return;
  }

  if (ChangesRecords(event)) {
    std::vector<CustomerState> copies(kCopies, warm);
    int next = 0;
    for (auto _ : state) {
      if (next == kCopies) {
        state.PauseTiming();
        // CopyFrom into a used message reuses its allocations.
        for (CustomerState& copy : copies) copy.CopyFrom(warm);
        next = 0;
        state.ResumeTiming();
      }
      projections::FoldEvent(event, kPosition, &copies[next++]);
    }
  } else {
    CustomerState folded = warm;
    for (auto _ : state) {
      projections::FoldEvent(event, kPosition, &folded);
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

void RegisterFoldBenchmarks() {
  for (const Event& event : NextEvents()) {
    benchmark::RegisterBenchmark(
        ("BM_Fold/" + PayloadName(event)).c_str(),
        [&event](benchmark::State& state) { BM_Fold(state, event); });
  }
}

}  // namespace kehu::bench
