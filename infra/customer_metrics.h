// Facts about one customer at a reference time, shared by the population
// step (projections/population.h, which ranks everybody) and the query
// service (which places one customer among them): both must measure a
// customer the same way, so the measuring lives here, once.
#ifndef KEHU_INFRA_CUSTOMER_METRICS_H_
#define KEHU_INFRA_CUSTOMER_METRICS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kehu/store/v1/store.pb.h"

namespace kehu::infra {

// True when `order` is a purchase (placed, not cancelled) by `as_of_us`.
bool IsPurchaseAt(const store::v1::OrderRecord& order, int64_t as_of_us);

// The order's margin: revenue net of refunds minus the cost of goods kept
// (lines without a known cost count at revenue).
int64_t OrderMargin(const store::v1::OrderRecord& order);

// A customer's purchases up to a reference time.
struct PurchaseFacts {
  // Purchases ever, and the first and last purchase time (0 when none).
  int64_t purchases = 0;
  int64_t first_purchase_us = 0;
  int64_t last_purchase_us = 0;
  // Purchases in the window (as_of - window, as_of], and their margin in
  // the reporting currency (orders in other currencies count as purchases
  // but add no margin).
  int64_t window_purchases = 0;
  int64_t window_margin_minor = 0;
};

// With `window_orders`, also appends the order ids of the purchases in the
// window (those window_purchases counts).
PurchaseFacts PurchaseFactsAt(
    const store::v1::CustomerState& state, int64_t as_of_us, int64_t window_us,
    const std::string& currency,
    std::vector<std::string>* window_orders = nullptr);

// Margin per product category of the purchases in the window, in the
// reporting currency, sorted by category name.
std::vector<std::pair<std::string, int64_t>> WindowCategoryMargins(
    const store::v1::CustomerState& state, int64_t as_of_us, int64_t window_us,
    const std::string& currency);

// The customer's purchases in the reporting currency as (time, margin)
// pairs, in placement order: what the lifetime-value models see. With
// `order_ids`, also appends their order ids.
std::vector<std::pair<int64_t, int64_t>> MarginPurchases(
    const store::v1::CustomerState& state, int64_t as_of_us,
    const std::string& currency,
    std::vector<std::string>* order_ids = nullptr);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_CUSTOMER_METRICS_H_
