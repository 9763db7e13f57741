// Projector: keeps the projection store up to date with the event log, one
// fold loop (thread) per partition.
//
// Operation: each loop reads a batch of up to `max_batch_events` records
// from its partition's next offset (as stored with the state, so a restart
// continues exactly where the last commit ended), hands it to a
// PartitionProjector, and waits on the log when there is nothing new.
//
// Concurrency: Start() and Stop() from one controlling thread; the Wait*
// methods and accessors from any thread.
//
// Limitations: a failed store write stops that partition's loop; status()
// then reports it and the owner decides (`kehu serve` shuts down).
#ifndef KEHU_PROJECTIONS_PROJECTOR_H_
#define KEHU_PROJECTIONS_PROJECTOR_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
#include "projections/partition_projector.h"

namespace kehu::projections {

struct ProjectorOptions {
  // Most records folded and committed together. A loop takes whatever its
  // partition holds up to this many: while the fold keeps up, batches are
  // small and events visible within milliseconds; behind (a burst, a bulk
  // ingest), bigger batches rewrite each customer's row less often. With
  // 2,000, a million simulated events ingested through gRPC in 13-16 s were
  // folded 21 s after the last one; with 10,000, 7 s (2 cores).
  size_t max_batch_events = 10000;
  // Customers each partition keeps in its write-back cache.
  size_t cache_customers = PartitionProjector::kDefaultCacheCustomers;
  // How long an idle loop waits on the log before checking for Stop().
  absl::Duration idle_wait = absl::Milliseconds(100);
};

class Projector {
 public:
  // `log` and `store` are not owned and must outlive the projector.
  Projector(infra::EventLog* log, infra::ProjectionStore* store,
            ProjectorOptions options = {});
  ~Projector();
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Loads each partition's progress and starts the loops.
  absl::Status Start();
  // Lets every loop finish its batch in flight, then joins them.
  void Stop();

  // Blocks until every partition p has folded all records below
  // end_offsets[p], a loop failed, or `deadline` passed. Returns true when
  // caught up.
  bool WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                       absl::Time deadline);
  // WaitUntilFolded() up to the log's end offsets at the time of the call.
  bool WaitUntilCaughtUp(absl::Time deadline);

  // OK while every loop runs; otherwise the first loop's failure.
  absl::Status status() const;
  // Progress of each partition as of its last commit.
  std::vector<store::v1::PartitionProgress> progress() const;

 private:
  void Run(PartitionProjector* partition);

  infra::EventLog* const log_;
  infra::ProjectionStore* const store_;
  const ProjectorOptions options_;
  std::vector<std::unique_ptr<PartitionProjector>> partitions_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};

  mutable absl::Mutex mu_;
  std::vector<store::v1::PartitionProgress> progress_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_PROJECTOR_H_
