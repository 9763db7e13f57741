// CustomerListings: ListCustomers — the customers of a segment, in an order,
// a page at a time, read from the segment index (projections/
// segment_index.h).
//
// Operation: the order picks one of the index's ordered key ranges, whose
// keys descend by value; a page walks it (forwards for the usual highest
// first, backwards when `ascending`), keeps the entries whose
// standing passes the filter, and stops when the page is full or it has
// examined `max_examined` entries, whichever comes first — so no request
// scans without bound; the token then says where to go on. The first page
// of a listing takes a RocksDB snapshot, and every later page reads that
// same snapshot: while events keep arriving, a listing neither repeats nor
// skips a customer and its order does not shift. Snapshots are released
// when the listing ends, when it has been idle for `idle_timeout`, or when
// more than `max_open` listings are open (the least recently used goes).
//
// Page tokens are opaque (web-safe base64): the listing's id, a fingerprint
// of the filter and order (a token only continues the request it came
// from), and the last key examined. A token of an unknown, ended or expired
// listing — or from before a restart — is INVALID_ARGUMENT naming
// page_token, with the advice to list again.
//
// Concurrency: thread-safe.
#ifndef KEHU_QUERY_CUSTOMER_LISTING_H_
#define KEHU_QUERY_CUSTOMER_LISTING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/active_store.h"
#include "infra/projection_store.h"
#include "kehu/query/v1/query.pb.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::query {

// Largest page of a listing (customers, timeline events, dead letters).
inline constexpr int kMaxPageSize = 1000;

struct ListingOptions {
  // Index entries one call examines at most.
  int64_t max_examined = 20000;
  // A listing not continued for this long is closed.
  absl::Duration idle_timeout = absl::Minutes(5);
  // Listings open at once; beyond it the least recently used is closed.
  size_t max_open = 1024;
};

// Checks a filter; INVALID_ARGUMENT naming the field and rule.
absl::Status ValidateFilter(const query::v1::CustomerFilter& filter);
// True when `standing` passes every criterion of `filter`.
bool Matches(const query::v1::CustomerFilter& filter,
             const store::v1::Standing& standing);
// The API form of a standing row.
query::v1::CustomerSummary ToCustomerSummary(const store::v1::Standing& s);

class CustomerListings {
 public:
  // A listing reads the store `stores` holds when its first page is
  // asked for, to its last page, even after a switch to another store.
  CustomerListings(std::shared_ptr<const infra::ActiveStore> stores,
                   ListingOptions options, std::function<absl::Time()> clock);
  ~CustomerListings();
  CustomerListings(const CustomerListings&) = delete;
  CustomerListings& operator=(const CustomerListings&) = delete;

  // `cancelled` is polled while scanning: true (the caller went away or
  // its deadline passed) ends the call with CANCELLED.
  absl::Status List(const query::v1::ListCustomersRequest& request,
                    query::v1::ListCustomersResponse* response,
                    const std::function<bool()>& cancelled = [] {
                      return false;
                    });

  // Listings open now (for tests and metrics).
  size_t open_listings() const;

 private:
  struct Listing {
    // The store of the first page, kept open while the listing lasts.
    std::shared_ptr<infra::ProjectionStore> store;
    // Released by its deleter when the last page in flight lets go.
    std::shared_ptr<const rocksdb::Snapshot> snapshot;
    uint64_t fingerprint;
    absl::Time last_used;
  };

  // Closes idle listings, then the least recently used while too many.
  void Evict(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<const infra::ActiveStore> stores_;
  const ListingOptions options_;
  const std::function<absl::Time()> clock_;
  // Tokens of another process (before a restart) never match.
  const uint64_t instance_;

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Listing> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kehu::query

#endif  // KEHU_QUERY_CUSTOMER_LISTING_H_
