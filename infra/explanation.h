// Why a classification of a customer (pyramid tier, Pareto set, lifecycle
// stage, satisfaction band, churn-risk band) came out as it did: the facts
// it used, the steps of its rule in the order they were tried, and the
// records behind the facts. The query service turns it into a
// kehu.query.v1.ExplainResponse.
//
// The classifying functions (customer_standing.h, query/customer_analytics.h)
// are written as a list of RuleSteps taken through a `Rule`: the rule
// evaluates each step's comparisons, and the first step that holds decides.
// Handed an Explanation, the rule also records every step it tried, so an
// explanation is always produced by the code that classifies; handed
// nullptr, it records nothing and allocates nothing.
#ifndef KEHU_INFRA_EXPLANATION_H_
#define KEHU_INFRA_EXPLANATION_H_

#include <initializer_list>
#include <string>
#include <vector>

namespace kehu::infra {

// Units of facts and thresholds.
inline constexpr char kUnitMoney[] = "money";  // minor units, reporting currency
inline constexpr char kUnitDays[] = "days";
inline constexpr char kUnitWeeks[] = "weeks";
inline constexpr char kUnitPurchases[] = "purchases";
inline constexpr char kUnitCount[] = "count";
inline constexpr char kUnitPoints[] = "points";  // a 0-100 score
inline constexpr char kUnitRatio[] = "ratio";    // a share or probability, 0-1
inline constexpr char kUnitAnswer[] = "answer";  // a survey answer's scale

// Where a threshold comes from.
enum class ThresholdSource {
  // A configured constant (StandingConfig, query::AnalyticsConfig).
  kConfiguration,
  // The population measured by the last `kehu fit`.
  kPopulation,
  // The customer's own history (the churn gap from their purchase gaps).
  kCustomerHistory,
};

enum class Op { kEqual, kGreater, kGreaterOrEqual, kLess, kLessOrEqual };

// "=", ">", ">=", "<", "<=".
const char* OpSymbol(Op op);

// One fact compared with one threshold. Names and units are literals.
struct Comparison {
  const char* fact;
  double value;
  Op op;
  const char* threshold;
  double threshold_value;
  const char* unit;
  ThresholdSource source;

  bool Holds() const;
};

struct Fact {
  std::string name;
  double value = 0;
  std::string unit;
};

struct RecordedComparison {
  Comparison comparison;
  bool holds = false;
};

struct RuleStep {
  // The class the step assigns when it holds.
  std::string outcome;
  // All must hold.
  std::vector<RecordedComparison> comparisons;
  // Why the step could not hold although its comparisons might (a figure
  // is unknown), or what an unconditional step stands for.
  std::string note;
  bool holds = false;
};

struct Explanation {
  std::vector<Fact> facts;
  // The steps tried, in order; the last one holds.
  std::vector<RuleStep> steps;
  // The records behind the facts: orders (their order_placed events and,
  // when `order_returns`, their order_returned events: refunds count where
  // margins or returns do), complaints (complaint_filed, and
  // complaint_resolved up to as_of) and, when `surveys`, every survey
  // answered up to as_of.
  std::vector<std::string> order_ids;
  bool order_returns = false;
  std::vector<std::string> complaint_ids;
  bool surveys = false;
};

// The rule of one classification, recording into an Explanation when given
// one.
class Rule {
 public:
  // `why` may be null: then nothing is recorded.
  explicit Rule(Explanation* why) : why_(why) {}

  // True when every comparison holds and `missing` is null. A non-null
  // `missing` says which figure is unknown, so that the step cannot hold;
  // the step is then recorded with that note instead of its comparisons.
  bool Step(const char* outcome, std::initializer_list<Comparison> comparisons,
            const char* missing = nullptr);
  // A step without conditions: the rule's last resort. Always true.
  bool Otherwise(const char* outcome, const char* note = "");

  bool recording() const { return why_ != nullptr; }
  void AddFact(const char* name, double value, const char* unit);
  void AddOrder(const std::string& order_id);
  void AddComplaint(const std::string& complaint_id);
  void AddSurveys();

 private:
  Explanation* const why_;  // not owned; may be null
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_EXPLANATION_H_
