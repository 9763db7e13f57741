#include "infra/event_validation.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace kehu::infra {
namespace {

using events::v1::Event;

// Business times before 1970 or after 9999 are certainly a producer bug.
constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

std::optional<InvalidField> Invalid(std::string field, std::string reason) {
  return InvalidField{std::move(field), std::move(reason)};
}

std::optional<InvalidField> CheckId(const std::string& value,
                                    const std::string& field) {
  if (value.empty()) return Invalid(field, "must not be empty");
  if (value.size() > kMaxIdBytes) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxIdBytes,
                                       " bytes, got ", value.size()));
  }
  return std::nullopt;
}

std::optional<InvalidField> CheckCurrency(const std::string& code,
                                          const std::string& field) {
  bool ok = code.size() == 3;
  for (char c : code) ok = ok && c >= 'A' && c <= 'Z';
  if (!ok) {
    return Invalid(field, absl::StrCat("must be an ISO 4217 code of three "
                                       "upper-case letters, got \"",
                                       code, "\""));
  }
  return std::nullopt;
}

template <typename EnumValid>
std::optional<InvalidField> CheckEnum(int value, EnumValid valid,
                                      const std::string& field) {
  if (!valid(value)) {
    return Invalid(field, absl::StrCat("unknown value ", value));
  }
  return std::nullopt;
}

std::optional<InvalidField> CheckMoney(const events::v1::Money& money,
                                       const std::string& field,
                                       bool must_be_positive) {
  if (money.minor_units() < 0 ||
      (must_be_positive && money.minor_units() == 0)) {
    return Invalid(absl::StrCat(field, ".minor_units"),
                   absl::StrCat(must_be_positive ? "must be positive"
                                                 : "must not be negative",
                                ", got ", money.minor_units()));
  }
  return CheckCurrency(money.currency(), absl::StrCat(field, ".currency"));
}

std::optional<InvalidField> CheckTimestamp(
    const google::protobuf::Timestamp& ts, const std::string& field) {
  if (ts.seconds() < 0 || ts.seconds() > kMaxSeconds) {
    return Invalid(field, absl::StrCat("must lie between 1970 and 9999, got ",
                                       ts.seconds(), " seconds"));
  }
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return Invalid(field, absl::StrCat("nanos must be in [0, 999999999], got ",
                                       ts.nanos()));
  }
  return std::nullopt;
}

std::optional<InvalidField> CheckOrderPlaced(const events::v1::OrderPlaced& o) {
  if (auto bad = CheckId(o.order_id(), "order_placed.order_id")) return bad;
  if (auto bad = CheckCurrency(o.currency(), "order_placed.currency"))
    return bad;
  if (auto bad = CheckEnum(o.channel(), events::v1::ContactChannel_IsValid,
                           "order_placed.channel")) {
    return bad;
  }
  if (o.lines().empty()) {
    return Invalid("order_placed.lines", "must hold at least one line");
  }
  for (int i = 0; i < o.lines_size(); ++i) {
    const auto& line = o.lines(i);
    const std::string at = absl::StrCat("order_placed.lines[", i, "].");
    if (line.sku().empty()) return Invalid(at + "sku", "must not be empty");
    if (line.quantity() <= 0) {
      return Invalid(at + "quantity",
                     absl::StrCat("must be positive, got ", line.quantity()));
    }
    if (line.unit_price_minor() < 0) {
      return Invalid(
          at + "unit_price_minor",
          absl::StrCat("must not be negative, got ", line.unit_price_minor()));
    }
    if (line.has_unit_cost_minor() && line.unit_cost_minor() < 0) {
      return Invalid(
          at + "unit_cost_minor",
          absl::StrCat("must not be negative, got ", line.unit_cost_minor()));
    }
    int64_t gross = 0;
    int64_t cost = 0;
    if (__builtin_mul_overflow(line.quantity(), line.unit_price_minor(),
                               &gross) ||
        __builtin_mul_overflow(line.quantity(), line.unit_cost_minor(),
                               &cost)) {
      return Invalid(at + "quantity", "quantity times unit amount overflows");
    }
    if (line.discount_minor() < 0 || line.discount_minor() > gross) {
      return Invalid(at + "discount_minor",
                     absl::StrCat("must lie between 0 and the line's price ",
                                  gross, ", got ", line.discount_minor()));
    }
  }
  return std::nullopt;
}

std::optional<InvalidField> CheckOrderReturned(
    const events::v1::OrderReturned& r) {
  if (auto bad = CheckId(r.order_id(), "order_returned.order_id")) return bad;
  if (r.lines().empty() && !r.has_refund()) {
    return Invalid("order_returned.lines",
                   "must hold at least one line when there is no refund");
  }
  for (int i = 0; i < r.lines_size(); ++i) {
    const auto& line = r.lines(i);
    const std::string at = absl::StrCat("order_returned.lines[", i, "].");
    if (line.sku().empty()) return Invalid(at + "sku", "must not be empty");
    if (line.quantity() <= 0) {
      return Invalid(at + "quantity",
                     absl::StrCat("must be positive, got ", line.quantity()));
    }
  }
  if (r.has_refund()) {
    return CheckMoney(r.refund(), "order_returned.refund", false);
  }
  return std::nullopt;
}

std::optional<InvalidField> CheckPayload(const Event& e) {
  switch (e.payload_case()) {
    case Event::kCustomerRegistered: {
      const auto& r = e.customer_registered();
      if (auto bad = CheckEnum(r.relationship_type(),
                               events::v1::RelationshipType_IsValid,
                               "customer_registered.relationship_type")) {
        return bad;
      }
      return CheckEnum(r.acquisition_channel(),
                       events::v1::AcquisitionChannel_IsValid,
                       "customer_registered.acquisition_channel");
    }
    case Event::kProfileUpdated:
      return CheckEnum(e.profile_updated().relationship_type(),
                       events::v1::RelationshipType_IsValid,
                       "profile_updated.relationship_type");
    case Event::kOrderPlaced:
      return CheckOrderPlaced(e.order_placed());
    case Event::kOrderCancelled:
      return CheckId(e.order_cancelled().order_id(),
                     "order_cancelled.order_id");
    case Event::kOrderReturned:
      return CheckOrderReturned(e.order_returned());
    case Event::kPaymentReceived: {
      const auto& p = e.payment_received();
      if (p.invoice_id().empty() && p.order_id().empty()) {
        return Invalid("payment_received.invoice_id",
                       "invoice_id or order_id must be set");
      }
      if (!p.has_amount()) {
        return Invalid("payment_received.amount", "must be set");
      }
      if (auto bad = CheckMoney(p.amount(), "payment_received.amount", true)) {
        return bad;
      }
      if (p.has_due_at()) {
        return CheckTimestamp(p.due_at(), "payment_received.due_at");
      }
      return std::nullopt;
    }
    case Event::kCallLogged: {
      const auto& c = e.call_logged();
      if (c.duration_seconds() < 0) {
        return Invalid(
            "call_logged.duration_seconds",
            absl::StrCat("must not be negative, got ", c.duration_seconds()));
      }
      if (auto bad = CheckEnum(c.direction(), events::v1::Direction_IsValid,
                               "call_logged.direction")) {
        return bad;
      }
      return CheckEnum(c.outcome(), events::v1::CallOutcome_IsValid,
                       "call_logged.outcome");
    }
    case Event::kEmailLogged:
      return CheckEnum(e.email_logged().direction(),
                       events::v1::Direction_IsValid, "email_logged.direction");
    case Event::kComplaintFiled: {
      const auto& c = e.complaint_filed();
      if (auto bad =
              CheckId(c.complaint_id(), "complaint_filed.complaint_id")) {
        return bad;
      }
      if (auto bad = CheckEnum(c.severity(), events::v1::Severity_IsValid,
                               "complaint_filed.severity")) {
        return bad;
      }
      return CheckEnum(c.channel(), events::v1::ContactChannel_IsValid,
                       "complaint_filed.channel");
    }
    case Event::kComplaintResolved:
      return CheckId(e.complaint_resolved().complaint_id(),
                     "complaint_resolved.complaint_id");
    case Event::kSurveyAnswered: {
      const auto& s = e.survey_answered();
      if (!s.has_csat() && !s.has_nps()) {
        return Invalid("survey_answered.csat", "csat or nps must be set");
      }
      if (s.has_csat() && (s.csat() < 1 || s.csat() > 5)) {
        return Invalid("survey_answered.csat",
                       absl::StrCat("must lie in 1..5, got ", s.csat()));
      }
      if (s.has_nps() && (s.nps() < 0 || s.nps() > 10)) {
        return Invalid("survey_answered.nps",
                       absl::StrCat("must lie in 0..10, got ", s.nps()));
      }
      return std::nullopt;
    }
    case Event::PAYLOAD_NOT_SET:
      if (IsUnknownPayload(e)) return std::nullopt;
      return Invalid("payload", "one payload (order_placed, ...) must be set");
  }
  return std::nullopt;
}

}  // namespace

bool IsUnknownPayload(const Event& event) {
  return event.payload_case() == Event::PAYLOAD_NOT_SET &&
         !event.GetReflection()->GetUnknownFields(event).empty();
}

std::optional<InvalidField> ValidateEvent(const Event& event) {
  if (auto bad = CheckId(event.event_id(), "event_id")) return bad;
  if (auto bad = CheckId(event.customer_id(), "customer_id")) return bad;
  if (!event.has_occurred_at()) return Invalid("occurred_at", "must be set");
  if (auto bad = CheckTimestamp(event.occurred_at(), "occurred_at")) return bad;
  if (event.source().size() > kMaxIdBytes) {
    return Invalid("source",
                   absl::StrCat("must be at most ", kMaxIdBytes, " bytes"));
  }
  return CheckPayload(event);
}

}  // namespace kehu::infra
