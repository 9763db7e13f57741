#include "infra/customer_metrics.h"

#include <algorithm>
#include <map>

namespace kehu::infra {

bool IsPurchaseAt(const store::v1::OrderRecord& order, int64_t as_of_us) {
  return order.status() != store::v1::ORDER_STATUS_CANCELLED &&
         order.placed_at_us() <= as_of_us;
}

int64_t OrderMargin(const store::v1::OrderRecord& order) {
  return (order.revenue_minor() - order.refunded_minor()) -
         (order.cost_minor() - order.returned_cost_minor());
}

PurchaseFacts PurchaseFactsAt(const store::v1::CustomerState& state,
                              int64_t as_of_us, int64_t window_us,
                              const std::string& currency,
                              std::vector<std::string>* window_orders) {
  PurchaseFacts facts;
  for (const auto& order : state.orders()) {
    if (!IsPurchaseAt(order, as_of_us)) continue;
    ++facts.purchases;
    if (facts.first_purchase_us == 0 ||
        order.placed_at_us() < facts.first_purchase_us) {
      facts.first_purchase_us = order.placed_at_us();
    }
    facts.last_purchase_us =
        std::max(facts.last_purchase_us, order.placed_at_us());
    if (order.placed_at_us() > as_of_us - window_us) {
      ++facts.window_purchases;
      if (window_orders != nullptr) window_orders->push_back(order.order_id());
      if (order.currency() == currency) {
        facts.window_margin_minor += OrderMargin(order);
      }
    }
  }
  return facts;
}

std::vector<std::pair<std::string, int64_t>> WindowCategoryMargins(
    const store::v1::CustomerState& state, int64_t as_of_us, int64_t window_us,
    const std::string& currency) {
  std::map<std::string, int64_t> margins;
  for (const auto& order : state.orders()) {
    if (!IsPurchaseAt(order, as_of_us) || order.currency() != currency ||
        order.placed_at_us() <= as_of_us - window_us) {
      continue;
    }
    for (const auto& line : order.lines()) {
      // The line's share of what was kept: net of returned units, minus the
      // cost of the units kept.
      const int64_t kept = line.quantity() - line.returned_quantity();
      if (kept <= 0) continue;
      int64_t margin = line.net_minor() * kept / line.quantity();
      if (line.cost_known()) margin -= kept * line.unit_cost_minor();
      margins[line.category()] += margin;
    }
  }
  return {margins.begin(), margins.end()};
}

std::vector<std::pair<int64_t, int64_t>> MarginPurchases(
    const store::v1::CustomerState& state, int64_t as_of_us,
    const std::string& currency, std::vector<std::string>* order_ids) {
  std::vector<std::pair<int64_t, int64_t>> purchases;
  for (const auto& order : state.orders()) {
    if (!IsPurchaseAt(order, as_of_us) || order.currency() != currency)
      continue;
    purchases.emplace_back(order.placed_at_us(), OrderMargin(order));
    if (order_ids != nullptr) order_ids->push_back(order.order_id());
  }
  return purchases;
}

}  // namespace kehu::infra
