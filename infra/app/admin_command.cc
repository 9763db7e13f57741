// `kehu admin`: the blue-green rebuild (rebuild, stores, switch,
// drop-standby) and the audit trail (audit) of a running server, through
// kehu.admin.v1.Admin.
#include <unistd.h>

#include <iostream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "infra/app/client_channel.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"
#include "kehu/admin/v1/admin.grpc.pb.h"

namespace kehu::app {
namespace {

using admin::v1::StoreStatus;

int Fail(const std::string& command, const ClientOptions& options,
         const grpc::Status& status) {
  std::cerr << "kehu admin " << command << ": ";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "cannot reach " << options.server << ": ";
  }
  std::cerr << status.error_message() << "\n";
  return kExitError;
}

std::string StateOf(const StoreStatus& s) {
  switch (s.state()) {
    case StoreStatus::REPLAYING:
      return absl::StrFormat("replaying %d/%d", s.records_done(),
                             s.records_total());
    case StoreStatus::FOLLOWING:
      return "following";
    case StoreStatus::FAILED:
      return "failed";
    default:
      return "-";
  }
}

std::string FormatStores(const admin::v1::ListStoresResponse& r) {
  std::string out =
      absl::StrFormat("%-10s %-8s %-22s %10s  %-8s %s\n", "store", "role",
                      "state", "lag", "currency", "population as of");
  for (const StoreStatus& s : r.stores()) {
    absl::StrAppendFormat(
        &out, "%-10s %-8s %-22s %10d  %-8s %s\n", s.name(),
        s.role() == StoreStatus::ACTIVE ? "active" : "standby", StateOf(s),
        s.lag(), s.currency().empty() ? "-" : s.currency(),
        FormatDate(s.population_as_of()));
    if (!s.error().empty()) absl::StrAppend(&out, "  error: ", s.error(), "\n");
  }
  return out;
}

std::string FormatAudit(const admin::v1::ListAuditTrailResponse& r) {
  std::string out;
  for (const admin::v1::AuditEntry& e : r.entries()) {
    const absl::Time time = absl::FromUnixSeconds(e.time().seconds()) +
                            absl::Nanoseconds(e.time().nanos());
    std::vector<std::string> args;
    for (const auto& [name, value] : e.arguments()) {
      args.push_back(absl::StrCat(name, "=", value));
    }
    std::sort(args.begin(), args.end());  // map order is unspecified
    absl::StrAppendFormat(
        &out, "%s  %-17s %-22s %s\n",
        absl::FormatTime("%Y-%m-%d %H:%M:%S", time, absl::UTCTimeZone()),
        e.action(), e.caller(), e.outcome());
    if (!args.empty())
      absl::StrAppend(&out, "    ", absl::StrJoin(args, " "), "\n");
    if (!e.detail().empty()) absl::StrAppend(&out, "    ", e.detail(), "\n");
  }
  return out;
}

// `kehu admin backfill-snapshots`: BackfillSnapshot until every boundary
// in range has a snapshot, a line for each.
int BackfillSnapshots(admin::v1::Admin::Stub& stub,
                      const ClientOptions& options, const AdminFlags& flags) {
  const std::string command = "backfill-snapshots";
  admin::v1::BackfillSnapshotRequest request;
  request.set_period(flags.every);
  for (auto [flag, text, field] :
       {std::tuple{"--from", &flags.from, request.mutable_from()},
        std::tuple{"--to", &flags.to, request.mutable_to()}}) {
    if (text->empty()) continue;
    absl::Time t;
    if (!ParseDay(*text, &t)) {
      std::cerr << "kehu admin " << command << ": " << flag
                << ": expected YYYY-MM-DD, got \"" << *text << "\"\n";
      return kExitError;
    }
    field->set_seconds(absl::ToUnixSeconds(t));
  }
  if (flags.from.empty()) request.clear_from();
  if (flags.to.empty()) request.clear_to();
  int made = 0;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
    admin::v1::BackfillSnapshotResponse r;
    const absl::Time started = absl::Now();
    grpc::Status s = stub.BackfillSnapshot(&context, request, &r);
    if (!s.ok()) return Fail(command, options, s);
    if (options.json) {
      PrintJson(r);
    } else if (!r.snapshot().empty()) {
      std::cout << absl::StrFormat(
          "snapshots/%s: %d events before it folded, population of %d "
          "customers with purchases measured (%.2f s); %d to go\n",
          r.snapshot(), r.folded(), r.purchasing_customers(),
          absl::ToDoubleSeconds(absl::Now() - started), r.remaining());
    }
    if (r.snapshot().empty()) break;
    ++made;
    if (r.remaining() == 0) break;
  }
  if (!options.json && made == 0) {
    std::cout << "every boundary in range has a snapshot\n";
  }
  return kExitOk;
}

}  // namespace

int RunAdmin(const ClientOptions& options, const AdminFlags& flags) {
  auto stub = admin::v1::Admin::NewStub(
      MakeClientChannel(options.server, options.security));
  auto context = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
    return c;
  };
  const std::string& command = flags.command;

  if (command == "stores") {
    admin::v1::ListStoresResponse r;
    grpc::Status s = stub->ListStores(context().get(), {}, &r);
    if (!s.ok()) return Fail(command, options, s);
    options.json ? PrintJson(r) : void(std::cout << FormatStores(r));
    return kExitOk;
  }
  if (command == "audit") {
    admin::v1::ListAuditTrailRequest request;
    request.set_limit(flags.limit);
    admin::v1::ListAuditTrailResponse r;
    grpc::Status s = stub->ListAuditTrail(context().get(), request, &r);
    if (!s.ok()) return Fail(command, options, s);
    options.json ? PrintJson(r) : void(std::cout << FormatAudit(r));
    return kExitOk;
  }
  if (command == "snapshots") {
    admin::v1::ListSnapshotsResponse r;
    grpc::Status s = stub->ListSnapshots(context().get(), {}, &r);
    if (!s.ok()) return Fail(command, options, s);
    options.json ? PrintJson(r) : void(std::cout << FormatSnapshots(r));
    return kExitOk;
  }
  if (command == "switch") {
    admin::v1::SwitchResponse r;
    grpc::Status s = stub->Switch(context().get(), {}, &r);
    if (!s.ok()) return Fail(command, options, s);
    if (options.json) {
      PrintJson(r);
    } else {
      std::cout << "active " << r.active() << ", standby " << r.standby()
                << " (switch again to undo)\n";
    }
    return kExitOk;
  }
  if (command == "drop-standby") {
    admin::v1::DropStandbyResponse r;
    grpc::Status s = stub->DropStandby(context().get(), {}, &r);
    if (!s.ok()) return Fail(command, options, s);
    options.json ? PrintJson(r)
                 : void(std::cout << "dropped " << r.dropped() << "\n");
    return kExitOk;
  }
  if (command == "backfill-snapshots")
    return BackfillSnapshots(*stub, options, flags);
  if (command != "rebuild") {
    std::cerr << "kehu admin: unknown command \"" << command << "\"\n";
    return kExitError;
  }

  admin::v1::RebuildRequest request;
  request.set_currency(flags.currency);
  admin::v1::RebuildResponse started;
  grpc::Status s = stub->Rebuild(context().get(), request, &started);
  if (!s.ok()) return Fail(command, options, s);
  if (!flags.wait) {
    if (options.json) {
      PrintJson(started);
    } else {
      std::cout << "rebuilding into " << started.store()
                << "; `kehu admin stores` shows how far it is\n";
    }
    return kExitOk;
  }
  // Until the new store follows the log (or failed), a line of progress
  // now and then: a bar on a terminal.
  const bool tty = isatty(STDERR_FILENO) == 1;
  const absl::Time begin = absl::Now();
  while (true) {
    admin::v1::ListStoresResponse r;
    grpc::Status listed = stub->ListStores(context().get(), {}, &r);
    if (!listed.ok()) return Fail(command, options, listed);
    const StoreStatus* standby = nullptr;
    for (const StoreStatus& store : r.stores()) {
      if (store.name() == started.store()) standby = &store;
    }
    if (standby == nullptr) {
      std::cerr << "kehu admin rebuild: store " << started.store()
                << " is gone (dropped meanwhile?)\n";
      return kExitError;
    }
    if (standby->state() == StoreStatus::FAILED) {
      if (tty) std::cerr << "\n";
      std::cerr << "kehu admin rebuild: " << started.store()
                << " failed: " << standby->error() << "\n";
      return kExitError;
    }
    if (standby->state() == StoreStatus::FOLLOWING) {
      if (tty) std::cerr << "\n";
      options.json ? PrintJson(r) : void(std::cout << FormatStores(r));
      return kExitOk;
    }
    if (standby->records_total() == 0) {  // the replay has not begun yet
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const std::string line =
        FormatProgress(standby->records_done(), standby->records_total(),
                       absl::Now() - begin, tty);
    if (tty) {
      std::cerr << "\r" << line << "\033[K" << std::flush;
    } else {
      std::cerr << "kehu admin rebuild: " << line << "\n";
    }
    std::this_thread::sleep_for(tty ? std::chrono::milliseconds(250)
                                    : std::chrono::seconds(5));
  }
}

}  // namespace kehu::app
