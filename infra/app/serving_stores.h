// ServingStores: the projection stores of one `kehu serve` on the embedded
// log, and the blue-green rebuild between them.
//
// One store is active: queries read it (through an infra::ActiveStore), a
// Projector keeps it folding the log. At most one more is the standby:
//
//   Rebuild()     creates DATA/store-N and replays the whole log into it
//                 (projections/replay.h) on a thread of its own, while the
//                 active store keeps answering and folding. The replay
//                 reads up to the log's end offsets when it starts; then
//                 the store gets the population step the active store had
//                 last (same reference time), and a Projector of its own
//                 that folds what was appended meanwhile and follows the
//                 log from then on: the standby.
//   Switch()      waits until the standby has folded everything the log
//                 held when Switch() was called, then makes it active in
//                 one step: calls already running finish on the store they
//                 started on, later calls read the new one. The previous
//                 active store becomes the standby and keeps following the
//                 log, so a second Switch() undoes the first.
//   DropStandby() stops the standby's projector, closes it and deletes its
//                 directory (once no query or listing holds it any more).
//
// Which store is which survives restarts: DATA/stores holds "active NAME"
// and "standby NAME" lines, replaced atomically (write, fsync, rename) at
// every change; without it the active store is DATA/store, as before
// blue-green existed. A directory DATA/store-N that the file does not name
// is what a rebuild left when the process stopped during it; the next
// Rebuild() deletes it.
//
// Population steps (Fit()) run on both stores, one after the other, at the
// same reference time, so that a switch does not change a customer's tier
// or RFM scores by itself. A fit and the end of a rebuild are serialized.
//
// Concurrency: thread-safe. Rebuild, Switch and DropStandby are serialized
// with each other; queries never wait for them.
//
// Limitations: while a standby exists, every event is folded twice (two
// projectors), so folding takes about twice the CPU. A rebuild cannot be
// cancelled but by stopping the server (Stop() cuts the replay short; the
// standby is then FAILED and the next Rebuild() deletes it);
// DropStandby() waits for it to finish. Only for the embedded
// log: on Kafka, a rebuild is a second server with a fresh data directory
// in a new consumer group, and clients are moved to it.
#ifndef KEHU_INFRA_APP_SERVING_STORES_H_
#define KEHU_INFRA_APP_SERVING_STORES_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/active_store.h"
#include "infra/app/audit_trail.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/admin/v1/admin.pb.h"
#include "projections/population.h"
#include "projections/projector.h"

namespace kehu::app {

struct ServingStoresOptions {
  // The data directory: stores are its subdirectories.
  std::string data_dir;
  // For stores created here (the first one, and rebuilt ones unless the
  // rebuild names another currency).
  infra::ProjectionStoreOptions store;
  projections::ProjectorOptions projector;
  projections::PopulationOptions population;
  // The rebuild's replay: threads of each stage, records per batch.
  int replay_threads = 1;
  size_t replay_batch_records = 10000;
  // Where the end of a rebuild ("rebuild-finished") is recorded; may be
  // null. Not owned; must outlive the ServingStores.
  const AuditTrail* audit = nullptr;
};

// The name of the active store of `data_dir` (from DATA/stores; "store"
// when there is none) — for commands that open it beside the server.
absl::StatusOr<std::string> ActiveStoreName(const std::string& data_dir);
// The reporting currency of the active store of `data_dir`; "" when there
// is none or it cannot be read (callers fall back to a default).
std::string ActiveStoreCurrency(const std::string& data_dir);

class ServingStores {
 public:
  // Opens the stores DATA/stores names (or creates DATA/store) and starts
  // their projectors. `log` is not owned and must outlive this.
  static absl::StatusOr<std::unique_ptr<ServingStores>> Open(
      infra::EventLog* log, ServingStoresOptions options);
  // Stop()s.
  ~ServingStores();
  ServingStores(const ServingStores&) = delete;
  ServingStores& operator=(const ServingStores&) = delete;

  // Cuts a rebuild in progress short, stops the projectors after their
  // batch in flight and flushes the stores. Safe to call more than once.
  void Stop();

  // What queries read.
  std::shared_ptr<const infra::ActiveStore> active() const { return active_; }
  std::shared_ptr<infra::ProjectionStore> active_store() const {
    return active_->Get();
  }
  // The active store's projector.
  projections::Projector* active_projector() const;

  // OK while the active store's projector runs; otherwise its failure. A
  // failed standby does not count (ListStores() shows it).
  absl::Status status() const;

  // Starts a rebuild into a new standby, with `currency` ("" = the active
  // store's), for `caller` (named in the audit entry of its end). Returns
  // the new store's name. FAILED_PRECONDITION while a standby exists or a
  // rebuild runs.
  absl::StatusOr<std::string> Rebuild(const std::string& currency,
                                      const std::string& caller);

  // Makes the standby active (see above), waiting at most until
  // `deadline` for it to catch up (DEADLINE_EXCEEDED, nothing switched).
  // FAILED_PRECONDITION without a standby, or while it is still replaying
  // or has failed.
  absl::StatusOr<admin::v1::SwitchResponse> Switch(absl::Time deadline);

  // Deletes the standby; returns its name. FAILED_PRECONDITION when there
  // is none. Waits for a rebuild in progress to end first.
  absl::StatusOr<std::string> DropStandby();

  // Both stores, active first.
  std::vector<admin::v1::StoreStatus> List() const;

  // The population step at `as_of` on the active store, then on the
  // standby (when it follows the log). Returns the active store's result.
  absl::StatusOr<projections::PopulationStepResult> Fit(absl::Time as_of);

  // Blocks until the rebuild in progress (if any) has ended, or
  // `deadline`; true when none runs.
  bool WaitForRebuild(absl::Time deadline) const;

 private:
  // One store and what keeps it current.
  struct Slot {
    std::string name;
    std::shared_ptr<infra::ProjectionStore> store;
    std::unique_ptr<projections::Projector> projector;
    admin::v1::StoreStatus::State state = admin::v1::StoreStatus::FOLLOWING;
    std::string error;
    int64_t records_done = 0;
    int64_t records_total = 0;
    // Set when the slot is retired: the store's directory is deleted when
    // the store closes.
    std::shared_ptr<std::atomic<bool>> remove_dir =
        std::make_shared<std::atomic<bool>>(false);
  };

  ServingStores(infra::EventLog* log, ServingStoresOptions options);
  // Opens the store `name` and starts its projector.
  absl::StatusOr<std::unique_ptr<Slot>> OpenFollowing(
      const std::string& name, const infra::ProjectionStoreOptions& options);
  // Writes DATA/stores from active_slot_ and standby_.
  absl::Status SaveRoles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The rebuild thread's work.
  void RunRebuild(Slot* slot, infra::ProjectionStoreOptions store_options,
                  const std::string& caller);
  admin::v1::StoreStatus Describe(const Slot& slot,
                                  admin::v1::StoreStatus::Role role) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Closes `slot`'s store and deletes its directory once the last holder
  // of the store lets go.
  void Retire(std::unique_ptr<Slot> slot);

  infra::EventLog* const log_;
  const ServingStoresOptions options_;
  std::shared_ptr<infra::ActiveStore> active_;

  // Serializes Rebuild, Switch and DropStandby with each other.
  absl::Mutex admin_mu_ ABSL_ACQUIRED_BEFORE(fit_mu_);
  // One population step at a time, over both stores; the end of a rebuild
  // holds it too.
  absl::Mutex fit_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Guards the slots.
  mutable absl::Mutex mu_;
  std::unique_ptr<Slot> active_slot_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Slot> standby_ ABSL_GUARDED_BY(mu_);
  bool rebuilding_ ABSL_GUARDED_BY(mu_) = false;
  std::thread rebuild_thread_;  // started and joined under admin_mu_
  std::atomic<bool> stopping_{false};  // cuts a rebuild's replay short
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_SERVING_STORES_H_
