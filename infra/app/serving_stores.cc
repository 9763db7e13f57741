#include "infra/app/serving_stores.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "infra/status_macros.h"
#include "projections/replay.h"

namespace kehu::app {
namespace {

namespace fs = std::filesystem;
using admin::v1::StoreStatus;

constexpr char kDefaultStore[] = "store";
constexpr char kRebuiltPrefix[] = "store-";

std::string RolesPath(const std::string& data_dir) {
  return data_dir + "/stores";
}

struct Roles {
  std::string active = kDefaultStore;
  std::string standby;  // "" for none
};

// A store name the roles file may hold: "store" or "store-N".
bool ValidStoreName(const std::string& name) {
  if (name == kDefaultStore) return true;
  int n = 0;
  return absl::StartsWith(name, kRebuiltPrefix) &&
         absl::SimpleAtoi(name.substr(sizeof(kRebuiltPrefix) - 1), &n) &&
         n >= 2 && name == absl::StrCat(kRebuiltPrefix, n);
}

absl::StatusOr<Roles> ReadRoles(const std::string& data_dir) {
  const std::string path = RolesPath(data_dir);
  Roles roles;
  std::ifstream in(path);
  if (!in) return roles;  // never switched: DATA/store is active
  std::string line;
  int number = 0;
  bool has_active = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() != 2 || !ValidStoreName(fields[1]) ||
        (fields[0] != "active" && fields[0] != "standby")) {
      return absl::DataLossError(absl::StrCat(
          path, " line ", number,
          ": expected \"active NAME\" or \"standby NAME\" with NAME store or "
          "store-N, got \"",
          line, "\""));
    }
    if (fields[0] == "active") {
      roles.active = fields[1];
      has_active = true;
    } else {
      roles.standby = fields[1];
    }
  }
  if (!has_active || roles.active == roles.standby) {
    return absl::DataLossError(
        absl::StrCat(path,
                     ": needs one \"active NAME\" line, and a standby "
                     "other than the active store"));
  }
  return roles;
}

// Replaces the roles file atomically: a crash leaves the old file or the
// new one, never a mix.
absl::Status WriteRoles(const std::string& data_dir, const Roles& roles) {
  const std::string path = RolesPath(data_dir);
  const std::string temp = path + ".tmp";
  std::string text = absl::StrCat("active ", roles.active, "\n");
  if (!roles.standby.empty())
    absl::StrAppend(&text, "standby ", roles.standby, "\n");
  auto os_error = [](const std::string& what) {
    return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
  };
  const int fd =
      open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error(absl::StrCat("cannot write ", temp));
  const bool written = write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       fsync(fd) == 0;
  close(fd);
  if (!written) return os_error(absl::StrCat("cannot write ", temp));
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return os_error(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  const int dir = open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return absl::OkStatus();
}

// Opens the store `dir` as a shared_ptr whose last holder closes it, and
// then deletes the directory when `remove` was set meanwhile.
absl::StatusOr<std::shared_ptr<infra::ProjectionStore>> OpenShared(
    const std::string& dir, const infra::ProjectionStoreOptions& options,
    std::shared_ptr<std::atomic<bool>> remove) {
  KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> store,
                        infra::ProjectionStore::Open(dir, options));
  return std::shared_ptr<infra::ProjectionStore>(
      store.release(), [dir, remove](infra::ProjectionStore* s) {
        delete s;
        if (remove->load()) {
          std::error_code ec;
          fs::remove_all(dir, ec);
        }
      });
}

}  // namespace

absl::StatusOr<std::string> ActiveStoreName(const std::string& data_dir) {
  KEHU_ASSIGN_OR_RETURN(Roles roles, ReadRoles(data_dir));
  return roles.active;
}

std::string ActiveStoreCurrency(const std::string& data_dir) {
  absl::StatusOr<std::string> active = ActiveStoreName(data_dir);
  if (!active.ok()) return "";
  absl::StatusOr<std::string> currency =
      infra::ProjectionStore::ReadReportingCurrency(data_dir + "/" + *active);
  return currency.ok() ? *currency : "";
}

ServingStores::ServingStores(infra::EventLog* log, ServingStoresOptions options)
    : log_(log), options_(std::move(options)) {}

ServingStores::~ServingStores() { Stop(); }

absl::StatusOr<std::unique_ptr<ServingStores>> ServingStores::Open(
    infra::EventLog* log, ServingStoresOptions options) {
  KEHU_ASSIGN_OR_RETURN(Roles roles, ReadRoles(options.data_dir));
  std::unique_ptr<ServingStores> stores(
      new ServingStores(log, std::move(options)));
  KEHU_ASSIGN_OR_RETURN(
      std::unique_ptr<Slot> active,
      stores->OpenFollowing(roles.active, stores->options_.store));
  std::unique_ptr<Slot> standby;
  if (!roles.standby.empty()) {
    absl::StatusOr<std::unique_ptr<Slot>> opened =
        stores->OpenFollowing(roles.standby, stores->options_.store);
    if (opened.ok()) {
      standby = *std::move(opened);
    } else {
      // The active store is what serving needs; the standby's failure is
      // shown by ListStores, and DropStandby clears it.
      standby = std::make_unique<Slot>();
      standby->name = roles.standby;
      standby->state = StoreStatus::FAILED;
      standby->error = std::string(opened.status().message());
    }
  }
  stores->active_ = std::make_shared<infra::ActiveStore>(active->store);
  absl::MutexLock lock(&stores->mu_);
  stores->active_slot_ = std::move(active);
  stores->standby_ = std::move(standby);
  return stores;
}

absl::StatusOr<std::unique_ptr<ServingStores::Slot>>
ServingStores::OpenFollowing(const std::string& name,
                             const infra::ProjectionStoreOptions& options) {
  auto slot = std::make_unique<Slot>();
  slot->name = name;
  KEHU_ASSIGN_OR_RETURN(slot->store, OpenShared(options_.data_dir + "/" + name,
                                                options, slot->remove_dir));
  slot->projector = std::make_unique<projections::Projector>(
      log_, slot->store.get(), options_.projector);
  absl::Status started = slot->projector->Start();
  if (!started.ok()) {
    return absl::Status(started.code(),
                        absl::StrCat("store ", name, ": ", started.message()));
  }
  return slot;
}

void ServingStores::Stop() {
  stopping_ = true;
  absl::MutexLock admin(&admin_mu_);
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  absl::MutexLock lock(&mu_);
  for (Slot* slot : {standby_.get(), active_slot_.get()}) {
    if (slot == nullptr) continue;
    if (slot->projector != nullptr) slot->projector->Stop();
    if (slot->store != nullptr) slot->store->Flush().IgnoreError();
  }
}

projections::Projector* ServingStores::active_projector() const {
  absl::ReaderMutexLock lock(&mu_);
  return active_slot_->projector.get();
}

absl::Status ServingStores::status() const {
  absl::ReaderMutexLock lock(&mu_);
  return active_slot_->projector->status();
}

absl::Status ServingStores::SaveRoles() {
  Roles roles;
  roles.active = active_slot_->name;
  if (standby_ != nullptr) roles.standby = standby_->name;
  return WriteRoles(options_.data_dir, roles);
}

absl::StatusOr<std::string> ServingStores::Rebuild(const std::string& currency,
                                                   const std::string& caller) {
  absl::MutexLock admin(&admin_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (standby_ != nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", standby_->name, " is the standby already",
                       rebuilding_ ? " (still replaying)"
                       : standby_->state == StoreStatus::FAILED
                           ? absl::StrCat(" (failed: ", standby_->error, ")")
                           : "",
                       "; switch to it or drop it first"));
    }
  }
  if (rebuild_thread_.joinable()) rebuild_thread_.join();

  // What a rebuild cut short left behind, and the name after the highest.
  std::string active_name;
  {
    absl::ReaderMutexLock lock(&mu_);
    active_name = active_slot_->name;
  }
  int highest = 1;
  std::error_code ec;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(options_.data_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == kDefaultStore ||
        !ValidStoreName(name)) {
      continue;
    }
    int n = 0;
    absl::SimpleAtoi(name.substr(sizeof(kRebuiltPrefix) - 1), &n);
    if (name == active_name) {
      highest = std::max(highest, n);
    } else {
      fs::remove_all(entry.path(), ec);
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", options_.data_dir, ": ", ec.message()));
  }

  infra::ProjectionStoreOptions store_options = options_.store;
  store_options.reporting_currency =
      currency.empty() ? active_store()->reporting_currency() : currency;
  auto slot = std::make_unique<Slot>();
  slot->name = absl::StrCat(kRebuiltPrefix, highest + 1);
  slot->state = StoreStatus::REPLAYING;
  Slot* building = slot.get();
  {
    absl::MutexLock lock(&mu_);
    standby_ = std::move(slot);
    rebuilding_ = true;
  }
  rebuild_thread_ = std::thread([this, building, store_options, caller] {
    RunRebuild(building, store_options, caller);
  });
  return building->name;
}

void ServingStores::RunRebuild(Slot* slot,
                               infra::ProjectionStoreOptions store_options,
                               const std::string& caller) {
  const absl::Time started = absl::Now();
  absl::StatusOr<projections::ReplayResult> replayed;
  absl::Status outcome = [&]() -> absl::Status {
    KEHU_ASSIGN_OR_RETURN(std::shared_ptr<infra::ProjectionStore> store,
                          OpenShared(options_.data_dir + "/" + slot->name,
                                     store_options, slot->remove_dir));
    {
      absl::MutexLock lock(&mu_);
      slot->store = store;
    }
    projections::ReplayOptions replay;
    replay.threads = options_.replay_threads;
    replay.batch_records = options_.replay_batch_records;
    replay.cancelled = [this] { return stopping_.load(); };
    replay.on_progress = [&](const projections::ReplayProgress& progress) {
      absl::MutexLock lock(&mu_);
      slot->records_done = progress.records_done;
      slot->records_total = progress.records_total;
    };
    replayed = projections::Replay(log_, store.get(), replay);
    KEHU_RETURN_IF_ERROR(replayed.status());

    // The active store's last population step, at the same reference
    // time, then the projector, with no fit in between that the new store
    // would miss.
    absl::MutexLock fit(&fit_mu_);
    const int64_t as_of_us = active_store()->population()->as_of_us();
    if (as_of_us > 0) {
      KEHU_RETURN_IF_ERROR(
          projections::RunPopulationStep(
              store.get(), absl::FromUnixMicros(as_of_us), options_.population)
              .status());
    }
    auto projector = std::make_unique<projections::Projector>(
        log_, store.get(), options_.projector);
    KEHU_RETURN_IF_ERROR(projector->Start());
    absl::MutexLock lock(&mu_);
    slot->projector = std::move(projector);
    return SaveRoles();
  }();

  {
    absl::MutexLock lock(&mu_);
    slot->state = outcome.ok() ? StoreStatus::FOLLOWING : StoreStatus::FAILED;
    if (!outcome.ok()) slot->error = std::string(outcome.message());
    rebuilding_ = false;
  }
  if (options_.audit != nullptr) {
    admin::v1::AuditEntry entry;
    entry.set_action("rebuild-finished");
    entry.set_caller(caller);
    entry.set_outcome(outcome.ok() ? "ok" : std::string(outcome.message()));
    if (replayed.ok()) {
      entry.set_detail(absl::StrCat(
          slot->name, ": ", replayed->records, " records replayed in ",
          absl::FormatDuration(
              absl::Trunc(absl::Now() - started, absl::Milliseconds(1))),
          ", now the standby"));
    }
    options_.audit->Record(std::move(entry)).IgnoreError();
  }
}

bool ServingStores::WaitForRebuild(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !rebuilding_; };
  return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
}

absl::StatusOr<admin::v1::SwitchResponse> ServingStores::Switch(
    absl::Time deadline) {
  absl::MutexLock admin(&admin_mu_);
  projections::Projector* standby_projector = nullptr;
  std::string standby_name;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (standby_ == nullptr) {
      return absl::FailedPreconditionError(
          "there is no standby store: rebuild one first");
    }
    if (standby_->state != StoreStatus::FOLLOWING) {
      return absl::FailedPreconditionError(absl::StrCat(
          "standby store ", standby_->name, " cannot take over: ",
          standby_->state == StoreStatus::REPLAYING
              ? absl::StrCat("still replaying (", standby_->records_done,
                             " of ", standby_->records_total, " records)")
              : absl::StrCat("it failed: ", standby_->error)));
    }
    standby_projector = standby_->projector.get();
    standby_name = standby_->name;
  }
  std::vector<int64_t> ends;
  for (int32_t p = 0; p < log_->partition_count(); ++p) {
    ends.push_back(log_->EndOffset(p));
  }
  if (!standby_projector->WaitUntilFolded(ends, deadline)) {
    KEHU_RETURN_IF_ERROR(standby_projector->status());
    int64_t behind = 0;
    const auto progress = standby_projector->progress();
    for (size_t p = 0; p < progress.size() && p < ends.size(); ++p) {
      behind += std::max<int64_t>(0, ends[p] - progress[p].next_offset());
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "standby store ", standby_name, " is still ", behind,
        " records behind the log; nothing was switched, try again"));
  }

  absl::MutexLock lock(&mu_);
  std::swap(active_slot_, standby_);
  absl::Status saved = SaveRoles();
  if (!saved.ok()) {
    std::swap(active_slot_, standby_);
    return saved;
  }
  active_->Set(active_slot_->store);
  admin::v1::SwitchResponse response;
  response.set_active(active_slot_->name);
  response.set_standby(standby_->name);
  for (int64_t end : ends) response.add_log_positions(end);
  return response;
}

absl::StatusOr<std::string> ServingStores::DropStandby() {
  absl::MutexLock admin(&admin_mu_);
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  std::unique_ptr<Slot> slot;
  {
    absl::MutexLock lock(&mu_);
    if (standby_ == nullptr) {
      return absl::FailedPreconditionError("there is no standby store");
    }
    slot = std::move(standby_);
    absl::Status saved = SaveRoles();
    if (!saved.ok()) {
      standby_ = std::move(slot);
      return saved;
    }
  }
  const std::string name = slot->name;
  Retire(std::move(slot));
  return name;
}

void ServingStores::Retire(std::unique_ptr<Slot> slot) {
  if (slot->projector != nullptr) slot->projector->Stop();
  slot->remove_dir->store(true);
  if (slot->store == nullptr) {
    // Never opened (failed at start): nothing holds it.
    std::error_code ec;
    fs::remove_all(options_.data_dir + "/" + slot->name, ec);
  }
  // The store closes, and its directory goes, with its last holder: this
  // slot, or a query or listing still reading it.
}

absl::StatusOr<projections::PopulationStepResult> ServingStores::Fit(
    absl::Time as_of) {
  absl::MutexLock fit(&fit_mu_);
  std::shared_ptr<infra::ProjectionStore> active, standby;
  std::string standby_name;
  {
    absl::ReaderMutexLock lock(&mu_);
    active = active_slot_->store;
    if (standby_ != nullptr && standby_->state == StoreStatus::FOLLOWING) {
      standby = standby_->store;
      standby_name = standby_->name;
    }
  }
  KEHU_ASSIGN_OR_RETURN(
      projections::PopulationStepResult result,
      projections::RunPopulationStep(active.get(), as_of, options_.population));
  if (standby != nullptr) {
    absl::StatusOr<projections::PopulationStepResult> other =
        projections::RunPopulationStep(standby.get(), as_of,
                                       options_.population);
    if (!other.ok()) {
      return absl::Status(
          other.status().code(),
          absl::StrCat("the active store was measured, the standby store ",
                       standby_name, " not: ", other.status().message()));
    }
  }
  return result;
}

StoreStatus ServingStores::Describe(const Slot& slot,
                                    StoreStatus::Role role) const {
  StoreStatus out;
  out.set_name(slot.name);
  out.set_role(role);
  out.set_state(slot.state);
  out.set_error(slot.error);
  out.set_records_done(slot.records_done);
  out.set_records_total(slot.records_total);
  if (slot.store != nullptr) {
    out.set_currency(slot.store->reporting_currency());
    const int64_t as_of_us = slot.store->population()->as_of_us();
    if (as_of_us > 0) {
      *out.mutable_population_as_of() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(as_of_us);
    }
  }
  if (slot.projector != nullptr) {
    int64_t lag = 0;
    const auto progress = slot.projector->progress();  // by partition
    for (int32_t p = 0; p < static_cast<int32_t>(progress.size()); ++p) {
      lag +=
          std::max<int64_t>(0, log_->EndOffset(p) - progress[p].next_offset());
    }
    out.set_lag(lag);
    if (!slot.projector->status().ok()) {
      out.set_state(StoreStatus::FAILED);
      out.set_error(std::string(slot.projector->status().message()));
    }
  }
  return out;
}

std::vector<StoreStatus> ServingStores::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<StoreStatus> out;
  out.push_back(Describe(*active_slot_, StoreStatus::ACTIVE));
  if (standby_ != nullptr) {
    out.push_back(Describe(*standby_, StoreStatus::STANDBY));
  }
  return out;
}

}  // namespace kehu::app
