#include "query/customer_explanation.h"

#include <limits>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "query/customer_view.h"

namespace kehu::query {
namespace {

using google::protobuf::util::TimeUtil;
namespace v1 = query::v1;

// "PYRAMID_TIER_ONE_TIME" -> "one_time".
template <typename Enum>
std::string ValueName(const google::protobuf::EnumDescriptor* type,
                      Enum value, const std::string& prefix) {
  const auto* v = type->FindValueByNumber(static_cast<int>(value));
  if (v == nullptr) return "unspecified";
  return absl::AsciiStrToLower(v->name().substr(prefix.size()));
}

v1::ThresholdSource ToApi(infra::ThresholdSource source) {
  switch (source) {
    case infra::ThresholdSource::kConfiguration:
      return v1::THRESHOLD_SOURCE_CONFIGURATION;
    case infra::ThresholdSource::kPopulation:
      return v1::THRESHOLD_SOURCE_POPULATION;
    case infra::ThresholdSource::kCustomerHistory:
      return v1::THRESHOLD_SOURCE_CUSTOMER_HISTORY;
  }
  return v1::THRESHOLD_SOURCE_UNSPECIFIED;
}

// The explanation of the requested classification, and the value the
// view gives it.
struct Chosen {
  const infra::Explanation* why;
  std::string value;
};

absl::StatusOr<Chosen> Choose(v1::Classification classification,
                              const v1::CustomerView& view,
                              const CustomerExplanations& why) {
  switch (classification) {
    case v1::CLASSIFICATION_PYRAMID_TIER:
      return Chosen{&why.standing.tier,
                    ValueName(v1::PyramidTier_descriptor(),
                              view.segments().pyramid_tier(),
                              "PYRAMID_TIER_")};
    case v1::CLASSIFICATION_PARETO:
      return Chosen{&why.standing.pareto,
                    view.segments().pareto_key() ? "key" : "ordinary"};
    case v1::CLASSIFICATION_LIFECYCLE_STAGE:
      return Chosen{&why.standing.stage,
                    ValueName(v1::LifecycleStage_descriptor(),
                              view.lifecycle().stage(), "LIFECYCLE_STAGE_")};
    case v1::CLASSIFICATION_SATISFACTION_BAND:
      return Chosen{&why.satisfaction,
                    ValueName(v1::SatisfactionBand_descriptor(),
                              view.satisfaction().band(),
                              "SATISFACTION_BAND_")};
    case v1::CLASSIFICATION_CHURN_RISK_BAND:
      return Chosen{&why.standing.churn_risk,
                    ValueName(v1::ChurnRiskBand_descriptor(),
                              view.segments().churn_risk_band(),
                              "CHURN_RISK_BAND_")};
    case v1::CLASSIFICATION_VALUE_MATRIX_CELL:
      return Chosen{&why.standing.matrix_cell,
                    ValueName(v1::ValueMatrixCell_descriptor(),
                              view.segments().matrix_cell(),
                              "VALUE_MATRIX_CELL_")};
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("classification: unknown value ",
                   static_cast<int>(classification)));
}

void AddRule(const infra::Explanation& why, v1::ExplainResponse* response) {
  for (const infra::Fact& f : why.facts) {
    v1::ExplainedFact* fact = response->add_facts();
    fact->set_name(f.name);
    fact->set_value(f.value);
    fact->set_unit(f.unit);
  }
  for (const infra::RuleStep& s : why.steps) {
    v1::RuleStep* step = response->add_rule();
    step->set_outcome(s.outcome);
    step->set_note(s.note);
    step->set_holds(s.holds);
    for (const infra::RecordedComparison& r : s.comparisons) {
      const infra::Comparison& c = r.comparison;
      v1::ExplainedComparison* out = step->add_comparisons();
      out->set_fact(c.fact);
      out->set_value(c.value);
      out->set_op(infra::OpSymbol(c.op));
      out->set_threshold(c.threshold);
      out->set_threshold_value(c.threshold_value);
      out->set_unit(c.unit);
      out->set_source(ToApi(c.source));
      out->set_holds(r.holds);
    }
  }
}

// Which events of the timeline are behind an explanation's records.
class ContributingEvents {
 public:
  ContributingEvents(const infra::Explanation& why, int64_t as_of_us)
      : orders_(why.order_ids.begin(), why.order_ids.end()),
        order_returns_(why.order_returns),
        complaints_(why.complaint_ids.begin(), why.complaint_ids.end()),
        surveys_(why.surveys),
        as_of_us_(as_of_us) {}

  bool empty() const {
    return orders_.empty() && complaints_.empty() && !surveys_;
  }

  bool Contains(const events::v1::Event& event) const {
    const bool by_as_of =
        TimeUtil::TimestampToMicroseconds(event.occurred_at()) <= as_of_us_;
    switch (event.payload_case()) {
      case events::v1::Event::kOrderPlaced:
        return by_as_of &&
               orders_.contains(event.order_placed().order_id());
      case events::v1::Event::kOrderReturned:
        // Refunds count against their order whenever they happened.
        return order_returns_ &&
               orders_.contains(event.order_returned().order_id());
      case events::v1::Event::kComplaintFiled:
        return by_as_of &&
               complaints_.contains(event.complaint_filed().complaint_id());
      case events::v1::Event::kComplaintResolved:
        return by_as_of &&
               complaints_.contains(event.complaint_resolved().complaint_id());
      case events::v1::Event::kSurveyAnswered:
        return by_as_of && surveys_;
      default:
        return false;
    }
  }

 private:
  const absl::flat_hash_set<std::string> orders_;
  const bool order_returns_;
  const absl::flat_hash_set<std::string> complaints_;
  const bool surveys_;
  const int64_t as_of_us_;
};

// Walks the customer's timeline backwards from the newest row, listing the
// contributing events up to `max_events` and counting the rest.
absl::Status AddEvents(const infra::ProjectionStore& store,
                       const store::v1::CustomerState& state,
                       const ContributingEvents& contributing,
                       int32_t max_events, v1::ExplainResponse* response) {
  response->set_events_complete(true);
  if (contributing.empty()) return absl::OkStatus();
  const std::string lower = infra::schema::TimelinePrefix(state.customer_id());
  // One past the largest offset: the prefix's successor.
  const std::string upper = infra::schema::TimelineKey(
      state.customer_id(), std::numeric_limits<int64_t>::max());
  const rocksdb::Slice lower_bound(lower), upper_bound(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_bound;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      read, store.family(infra::schema::Family::kTimeline)));
  const google::protobuf::OneofDescriptor* payload =
      events::v1::Event::descriptor()->FindOneofByName("payload");
  int64_t examined = 0;
  for (it->SeekToLast(); it->Valid() && examined < kMaxExplainExamined;
       it->Prev()) {
    ++examined;
    const rocksdb::Slice key = it->key();
    const int64_t offset = static_cast<int64_t>(
        infra::schema::DecodeFixed64BE(key.data() + key.size() - 8));
    events::v1::Event event;
    if (!event.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("timeline row of ",
                                              state.customer_id(),
                                              " at offset ", offset,
                                              " does not parse"));
    }
    if (!contributing.Contains(event)) continue;
    if (response->events_size() >= max_events) {
      response->set_unlisted_events(response->unlisted_events() + 1);
      continue;
    }
    v1::ContributingEvent* out = response->add_events();
    out->set_event_id(event.event_id());
    const google::protobuf::FieldDescriptor* field =
        payload->containing_type()->FindFieldByNumber(event.payload_case());
    out->set_type(field != nullptr ? field->name() : "");
    *out->mutable_occurred_at() = event.occurred_at();
    out->mutable_position()->set_partition(state.last_partition());
    out->mutable_position()->set_offset(offset);
    out->mutable_position()->set_event_id(event.event_id());
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning timeline"));
  response->set_events_complete(!it->Valid());
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckExplainRequest(const v1::ExplainRequest& request) {
  if (request.classification() == v1::CLASSIFICATION_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "classification: must be set (CLASSIFICATION_PYRAMID_TIER, "
        "CLASSIFICATION_PARETO, CLASSIFICATION_LIFECYCLE_STAGE, "
        "CLASSIFICATION_SATISFACTION_BAND, CLASSIFICATION_CHURN_RISK_BAND or "
        "CLASSIFICATION_VALUE_MATRIX_CELL)");
  }
  if (!v1::Classification_IsValid(request.classification())) {
    // A newer client may ask for a classification this server does not
    // know.
    return absl::InvalidArgumentError(
        absl::StrCat("classification: unknown value ",
                     static_cast<int>(request.classification())));
  }
  if (request.max_events() < 0 || request.max_events() > kMaxExplainEvents) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_events: must lie in 1..", kMaxExplainEvents,
                     " (0 means ", kDefaultExplainEvents, "), got ",
                     request.max_events()));
  }
  return absl::OkStatus();
}

absl::Status ExplainCustomer(const infra::ProjectionStore& store,
                             const store::v1::CustomerState& state,
                             const store::v1::PopulationModel& population,
                             absl::Time as_of, const AnalyticsConfig& config,
                             const v1::ExplainRequest& request,
                             v1::ExplainResponse* response) {
  v1::CustomerView view = ToCustomerView(state);
  CustomerExplanations why;
  EvaluateCustomer(state, as_of, store.reporting_currency(), population,
                   config, &view, &why);
  KEHU_ASSIGN_OR_RETURN(Chosen chosen,
                        Choose(request.classification(), view, why));
  // The rule that classified decides the view's value; a mismatch is a
  // defect in the classifying code, not something to show as an answer.
  if (chosen.why->steps.empty() ||
      chosen.why->steps.back().outcome != chosen.value) {
    return absl::InternalError(absl::StrCat(
        "explanation of ", state.customer_id(), " ends in \"",
        chosen.why->steps.empty() ? "" : chosen.why->steps.back().outcome,
        "\" but the view says \"", chosen.value, "\""));
  }

  response->set_customer_id(state.customer_id());
  response->set_classification(request.classification());
  *response->mutable_as_of() = view.as_of();
  response->set_currency(store.reporting_currency());
  response->set_value(chosen.value);
  if (population.as_of_us() != 0) {
    *response->mutable_population_as_of() =
        TimeUtil::MicrosecondsToTimestamp(population.as_of_us());
  }
  AddRule(*chosen.why, response);
  const int32_t max_events = request.max_events() == 0
                                 ? kDefaultExplainEvents
                                 : request.max_events();
  return AddEvents(store, state,
                   ContributingEvents(*chosen.why, absl::ToUnixMicros(as_of)),
                   max_events, response);
}

}  // namespace kehu::query
