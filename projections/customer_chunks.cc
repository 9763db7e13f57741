#include "projections/customer_chunks.h"

#include <memory>
#include <thread>

#include "infra/check.h"
#include "infra/rocks_status.h"
#include "infra/store_schema.h"

namespace kehu::projections {

absl::Status ForEachCustomerChunk(
    const infra::ProjectionStore& store, const rocksdb::ReadOptions& read,
    int threads, int chunk_rows, const std::function<bool()>& cancelled,
    const std::function<absl::Status(int worker, const CustomerRows& rows)>&
        work) {
  KEHU_CHECK(threads >= 1 && chunk_rows >= 1);
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      read, store.family(infra::schema::Family::kCustomers)));
  it->SeekToFirst();
  std::vector<CustomerRows> chunks(threads);
  std::vector<absl::Status> results(threads);
  while (it->Valid()) {
    if (cancelled && cancelled()) {
      return absl::CancelledError("the scan of customers was cancelled");
    }
    int filled = 0;
    for (; filled < threads && it->Valid(); ++filled) {
      CustomerRows& chunk = chunks[filled];
      chunk.clear();
      for (; it->Valid() && static_cast<int>(chunk.size()) < chunk_rows;
           it->Next()) {
        chunk.emplace_back(it->key().ToString(), it->value().ToString());
      }
    }
    // The last chunk of a round runs here, the others on threads of their
    // own.
    std::vector<std::thread> helpers;
    for (int w = 0; w + 1 < filled; ++w) {
      helpers.emplace_back([&, w] { results[w] = work(w, chunks[w]); });
    }
    results[filled - 1] = work(filled - 1, chunks[filled - 1]);
    for (auto& helper : helpers) helper.join();
    for (int w = 0; w < filled; ++w) {
      if (!results[w].ok()) return results[w];
    }
  }
  return infra::FromRocks(it->status(), "scanning customers");
}

}  // namespace kehu::projections
