// DigestStore: a SHA-256 hash of what a projection store says — every row
// of every column family of store_schema.h — independent of how RocksDB
// laid the rows out in files, of when it flushed or compacted, and of how
// the projector batched its writes. `kehu digest` prints it; two stores
// with the same digest answer every query alike.
//
// Operation: one pass over the families in the order of schema::Family
// (customers, timeline, indexes, offsets, dedup, deadletter, meta,
// segments), each in key order, at one snapshot. Each row contributes
//
//   len(family) family len(key) key len(value) value
//
// with every length an 8-byte big-endian integer and the family its
// RocksDB name, so that no two different stores give the same byte
// stream. The store digest is the SHA-256 of all rows' bytes; each
// family's digest the SHA-256 of its own rows' bytes.
//
// What is hashed: every row, as a reader sees it:
//   - views and indexes (customers, timeline, indexes, segments), dedup
//     rows and dead letters;
//   - offsets: each partition's progress, i.e. the log position the store
//     has folded to, with its counters (folded, duplicates, ...);
//   - meta: schema version, reporting currency, and the `population` row
//     written by the last `kehu fit` (its reference time, the log
//     positions it read and the fitted models), so two stores agree only
//     when they were fitted alike;
//   - segment counters (the 'c', 't' and 'm' rows of `segments`) merged, as
//     RocksDB's merge operator reads them, and in canonical form: counters
//     after the last non-zero one are dropped, and a row left with none is
//     not hashed at all. When a segment empties, a merge leaves a row of
//     zeros behind; whether such a row exists depends on how the folds were
//     batched (a customer who passes through a stage between two commits
//     leaves one, a customer folded in one batch does not), never on what a
//     query answers, so it must not change the digest.
// RocksDB's unused default family is not part of the digest.
//
// Concurrency: reads at a RocksDB snapshot, so a store being written
// meanwhile gives the digest of one consistent state.
//
// Limitations: O(store size) time; memory O(1).
#ifndef KEHU_INFRA_STORE_DIGEST_H_
#define KEHU_INFRA_STORE_DIGEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/projection_store.h"

namespace kehu::infra {

struct FamilyDigest {
  // The column family's name (schema::FamilyName).
  std::string family;
  // Rows hashed (counter rows of zeros are not).
  int64_t rows = 0;
  // SHA-256 of the family's rows, 64 lowercase hex digits.
  std::string hex;
};

struct StoreDigest {
  // SHA-256 of every family's rows, 64 lowercase hex digits.
  std::string hex;
  int64_t rows = 0;
  // In the order of schema::Family.
  std::vector<FamilyDigest> families;
};

// Hashes every row of `store` as described above. Fails with the storage
// error of a failed scan.
absl::StatusOr<StoreDigest> DigestStore(const ProjectionStore& store);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_STORE_DIGEST_H_
