// ActiveStore: which projection store answers queries, switchable while
// the server runs (the blue-green switch, infra/app/serving_stores.h).
//
// Operation: a query takes the store with Get() once, at its start, and
// uses that one to the end; Set() makes later calls use another store.
// The shared_ptr keeps a store open for as long as a call in flight (or a
// ListCustomers listing paging through its snapshot) still holds it, so a
// switch fails no call and a store is closed only after its last reader.
//
// Concurrency: thread-safe.
#ifndef KEHU_INFRA_ACTIVE_STORE_H_
#define KEHU_INFRA_ACTIVE_STORE_H_

#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "infra/projection_store.h"

namespace kehu::infra {

class ActiveStore {
 public:
  explicit ActiveStore(std::shared_ptr<ProjectionStore> store)
      : store_(std::move(store)) {}

  // A handle that does not own `store`, for a store whose owner keeps it
  // open for longer than every query (tests, single-store tools).
  static std::shared_ptr<ActiveStore> Unowned(ProjectionStore* store) {
    return std::make_shared<ActiveStore>(
        std::shared_ptr<ProjectionStore>(store, [](ProjectionStore*) {}));
  }

  std::shared_ptr<ProjectionStore> Get() const {
    absl::ReaderMutexLock lock(&mu_);
    return store_;
  }

  // Makes `store` the one Get() returns; returns the previous one.
  std::shared_ptr<ProjectionStore> Set(std::shared_ptr<ProjectionStore> store) {
    absl::MutexLock lock(&mu_);
    std::swap(store_, store);
    return store;
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<ProjectionStore> store_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_ACTIVE_STORE_H_
