// BM_Fold/<payload>: projections::FoldEvent of one event of each payload
// type (fixtures.h NextEvents) into the warm customer's state (101 events
// of history: 20 orders, 4 complaints, 8 surveys, ...). Reports folds/s.
//
// Every fold must meet the warm state as it was: a second fold into the
// same state would measure something else (a longer order list, an already
// cancelled order). So each batch of kBatch folds goes into kBatch copies of
// the warm state, and is timed as a whole with a steady clock (manual time:
// each iteration is charged 1/kBatch of its batch, so two clock reads are
// spread over kBatch folds). Between batches, untimed, WarmRestorer gives
// the copies the warm state back, far faster than copying it whole. The
// Time column is therefore the fold alone; the CPU column also holds the
// restoring and means nothing here.
//
// Restoring still costs several times the fold, so a run is a fixed
// kFolds folds (a fraction of a second) rather than Google Benchmark's
// timed minimum (--benchmark_min_time), which would count fold time only
// and spend minutes restoring.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/store/v1/store.pb.h"
#include "projections/customer_fold.h"
#include "tests/bench/micro/fixtures.h"

namespace kehu::bench {
namespace {

using events::v1::Event;
using store::v1::CustomerState;

constexpr int kBatch = 64;  // 64 copies of the warm state: about 1 MB
constexpr int kFolds = kBatch * 4096;
constexpr projections::EventPosition kPosition{3, 5000};

// Undoes one fold of a NextEvents() event into a copy of the warm state.
// Those events change scalar fields, the counts, totals and contact, and
// append to a record list (orders, complaints, surveys, transitions) or
// change its last record. So the lists are set aside, the rest is copied
// from the warm state without its lists (small), and each list loses what
// was appended and gets its last record back. BM_Fold checks once per
// event that this gives the warm state back byte for byte.
class WarmRestorer {
 public:
  explicit WarmRestorer(const CustomerState& warm) : warm_(warm), rest_(warm) {
    rest_.clear_orders();
    rest_.clear_complaints();
    rest_.clear_surveys();
    rest_.clear_transitions();
  }

  void Restore(CustomerState* state) const {
    google::protobuf::RepeatedPtrField<store::v1::OrderRecord> orders;
    google::protobuf::RepeatedPtrField<store::v1::ComplaintRecord> complaints;
    google::protobuf::RepeatedPtrField<store::v1::SurveyRecord> surveys;
    google::protobuf::RepeatedPtrField<store::v1::LifecycleTransition>
        transitions;
    orders.Swap(state->mutable_orders());
    complaints.Swap(state->mutable_complaints());
    surveys.Swap(state->mutable_surveys());
    transitions.Swap(state->mutable_transitions());
    state->CopyFrom(rest_);
    RestoreList(warm_.orders(), &orders, state->mutable_orders());
    RestoreList(warm_.complaints(), &complaints, state->mutable_complaints());
    RestoreList(warm_.surveys(), &surveys, state->mutable_surveys());
    RestoreList(warm_.transitions(), &transitions,
                state->mutable_transitions());
  }

 private:
  template <typename Record>
  static void RestoreList(
      const google::protobuf::RepeatedPtrField<Record>& warm,
      google::protobuf::RepeatedPtrField<Record>* list,
      google::protobuf::RepeatedPtrField<Record>* field) {
    while (list->size() > warm.size()) list->RemoveLast();
    if (!list->empty() && list->size() == warm.size()) {
      *list->Mutable(list->size() - 1) = warm.Get(warm.size() - 1);
    }
    field->Swap(list);
  }

  const CustomerState& warm_;
  CustomerState rest_;
};

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
  const WarmRestorer restorer(warm);
  CustomerState checked = warm;
  projections::FoldEvent(event, kPosition, &checked);
  if (std::string missing = MissingChange(event, warm, checked);
      !missing.empty()) {
    Fail(state, missing);
    return;
  }
  restorer.Restore(&checked);
  if (checked.SerializeAsString() != warm.SerializeAsString()) {
    Fail(state, absl::StrCat("WarmRestorer does not undo the fold of the ",
                             PayloadName(event), " event"));
    return;
  }

  std::vector<CustomerState> copies(kBatch, warm);
  double seconds_per_fold = 0;
  int uncharged = 0;  // iterations left to charge with seconds_per_fold
  for (auto _ : state) {
    if (uncharged == 0) {
      for (CustomerState& copy : copies) restorer.Restore(&copy);
      const auto start = std::chrono::steady_clock::now();
      for (CustomerState& copy : copies) {
        projections::FoldEvent(event, kPosition, &copy);
      }
      const std::chrono::duration<double> batch =
          std::chrono::steady_clock::now() - start;
      seconds_per_fold = batch.count() / kBatch;
      uncharged = kBatch;
    }
    state.SetIterationTime(seconds_per_fold);
    --uncharged;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

void RegisterFoldBenchmarks() {
  for (const Event& event : NextEvents()) {
    benchmark::RegisterBenchmark(
        ("BM_Fold/" + PayloadName(event)).c_str(),
        [&event](benchmark::State& state) { BM_Fold(state, event); })
        ->UseManualTime()
        ->Iterations(kFolds);
  }
}

}  // namespace kehu::bench
