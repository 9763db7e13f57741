#include "projections/customer_rows.h"

#include "projections/customer_fold.h"

namespace kehu::projections {

using infra::schema::Family;
using infra::schema::IndexMetric;
namespace schema = infra::schema;

IndexedValues IndexedValuesOf(const store::v1::CustomerState& state,
                              const infra::ProjectionStore& store) {
  const auto* totals = FindTotals(state, store.reporting_currency());
  IndexedValues values;
  values.revenue = totals != nullptr ? totals->revenue_minor() : 0;
  values.margin = totals != nullptr ? totals->margin_minor() : 0;
  values.purchases = state.purchase_count();
  return values;
}

IndexedValues PutCustomerRows(const store::v1::CustomerState& state,
                              const IndexedValues* old,
                              infra::ProjectionStore* store,
                              rocksdb::WriteBatch* batch) {
  batch->Put(store->family(Family::kCustomers),
             schema::CustomerKey(state.customer_id()),
             state.SerializeAsString());
  return PutIndexRows(state, old, store, batch);
}

IndexedValues PutIndexRows(const store::v1::CustomerState& state,
                           const IndexedValues* old,
                           infra::ProjectionStore* store,
                           rocksdb::WriteBatch* batch) {
  const IndexedValues now = IndexedValuesOf(state, *store);
  const struct {
    IndexMetric metric;
    int64_t IndexedValues::*value;
  } indexes[] = {
      {IndexMetric::kRevenue, &IndexedValues::revenue},
      {IndexMetric::kMargin, &IndexedValues::margin},
      {IndexMetric::kPurchaseCount, &IndexedValues::purchases},
  };
  rocksdb::ColumnFamilyHandle* family = store->family(Family::kIndexes);
  for (const auto& index : indexes) {
    if (old != nullptr) {
      if (old->*index.value == now.*index.value) continue;
      batch->Delete(family, schema::IndexKey(index.metric, old->*index.value,
                                             state.customer_id()));
    }
    batch->Put(
        family,
        schema::IndexKey(index.metric, now.*index.value, state.customer_id()),
        "");
  }
  return now;
}

}  // namespace kehu::projections
