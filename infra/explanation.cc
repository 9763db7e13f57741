#include "infra/explanation.h"

namespace kehu::infra {

const char* OpSymbol(Op op) {
  switch (op) {
    case Op::kEqual:
      return "=";
    case Op::kGreater:
      return ">";
    case Op::kGreaterOrEqual:
      return ">=";
    case Op::kLess:
      return "<";
    case Op::kLessOrEqual:
      return "<=";
  }
  return "?";
}

bool Comparison::Holds() const {
  switch (op) {
    case Op::kEqual:
      return value == threshold_value;
    case Op::kGreater:
      return value > threshold_value;
    case Op::kGreaterOrEqual:
      return value >= threshold_value;
    case Op::kLess:
      return value < threshold_value;
    case Op::kLessOrEqual:
      return value <= threshold_value;
  }
  return false;
}

bool Rule::Step(const char* outcome,
                std::initializer_list<Comparison> comparisons,
                const char* missing) {
  bool holds = missing == nullptr;
  for (const Comparison& c : comparisons) holds = holds && c.Holds();
  if (why_ != nullptr) {
    RuleStep step;
    step.outcome = outcome;
    // A step that cannot hold for a missing figure shows why, not
    // comparisons against a placeholder value.
    if (missing != nullptr) {
      step.note = missing;
    } else {
      for (const Comparison& c : comparisons) {
        step.comparisons.push_back({c, c.Holds()});
      }
    }
    step.holds = holds;
    why_->steps.push_back(std::move(step));
  }
  return holds;
}

bool Rule::Otherwise(const char* outcome, const char* note) {
  if (why_ != nullptr) {
    RuleStep step;
    step.outcome = outcome;
    step.note = note;
    step.holds = true;
    why_->steps.push_back(std::move(step));
  }
  return true;
}

void Rule::AddFact(const char* name, double value, const char* unit) {
  if (why_ != nullptr) why_->facts.push_back({name, value, unit});
}

void Rule::AddOrder(const std::string& order_id) {
  if (why_ != nullptr) why_->order_ids.push_back(order_id);
}

void Rule::AddComplaint(const std::string& complaint_id) {
  if (why_ != nullptr) why_->complaint_ids.push_back(complaint_id);
}

void Rule::AddSurveys() {
  if (why_ != nullptr) why_->surveys = true;
}

}  // namespace kehu::infra
