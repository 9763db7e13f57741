#include "infra/app/server.h"

#include <filesystem>
#include <iostream>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "infra/kafka_log.h"
#include "infra/status_macros.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"

namespace kehu::app {
namespace {

// How often, at most, the snapshot schedule looks at a Kafka log's end.
constexpr absl::Duration kKafkaSnapshotPoll = absl::Seconds(10);

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  // Before anything is opened or bound: a refused address must leave no
  // trace, and must never have been listened on.
  KEHU_RETURN_IF_ERROR(CheckListenSecurity(options_.listen, options_.security));
  KEHU_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                        MakeServerCredentials(options_.security));
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", options_.data_dir, ": ",
                     ec.message()));
  }
  {
    absl::MutexLock lock(&schedule_mu_);
    stopping_ = false;
  }
  audit_ = std::make_unique<AuditTrail>(options_.data_dir);
  KEHU_ASSIGN_OR_RETURN(
      snapshots_,
      PopulationSnapshots::Open(options_.data_dir, options_.population));
  KEHU_RETURN_IF_ERROR(on_kafka() ? StartKafka() : StartEmbedded());

  ingest_ = std::make_unique<producers::IngestService>(log_.get());
  query::QueryServiceOptions query_options;
  if (on_kafka()) {
    query_options.folded_partitions = [this] { return FoldedPartitions(); };
  }
  query_options.history = std::shared_ptr<const query::PopulationHistory>(
      snapshots_.get(), [](const query::PopulationHistory*) {});
  query_ = std::make_unique<query::QueryService>(active_, log_.get(),
                                                 query_options);

  // gRPC's own health service would poll from threads of its own
  // (health_service.h); kehu answers health checks itself.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, a second server could bind the same port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_send_message_bytes);
  builder.AddListeningPort(options_.listen, credentials, &port_);
  builder.RegisterService(ingest_.get());
  builder.RegisterService(query_.get());
  auto clock = [] { return absl::Now(); };
  SnapshotBackfill backfill{snapshots_.get(), log_.get(),
                            options_.snapshot_period};
  if (on_kafka()) backfill.partitions = [this] { return FoldedPartitions(); };
  admin_ = stores_ != nullptr
               ? std::make_unique<AdminService>(
                     stores_.get(), options_.population, clock, audit_.get(),
                     absl::Minutes(5), std::move(backfill))
               : std::make_unique<AdminService>(
                     kafka_store_.get(), options_.population, clock,
                     absl::Minutes(5), audit_.get(), std::move(backfill));
  builder.RegisterService(admin_.get());
  health_ = std::make_unique<HealthService>(
      std::vector<std::string>{ingest::v1::Ingest::service_full_name(),
                               query::v1::Query::service_full_name(),
                               admin::v1::Admin::service_full_name(),
                               grpc::health::v1::Health::service_full_name()});
  builder.RegisterService(health_.get());
  call_queues_ =
      std::make_unique<infra::CallQueues>(builder, options_.query_threads);
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port_ == 0) {
    grpc_server_.reset();
    Shutdown();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen,
        options_.security.tls()
            ? " (address in use, not an address of this machine, or "
              "--tls-key not the key of --tls-cert?)"
            : " (address in use, or not an address of this machine?)"));
  }
  query_->Serve(*call_queues_);
  health_->Serve(*call_queues_);
  call_queues_->Start();
  if (absl::Status recorded = audit_->Record(StartEntry()); !recorded.ok()) {
    Shutdown();
    return recorded;
  }
  if (options_.fit_interval > absl::ZeroDuration()) {
    fit_thread_ = std::thread([this] { RunFitSchedule(); });
  }
  if (options_.snapshot_poll > absl::ZeroDuration()) {
    snapshot_thread_ = std::thread([this] { RunSnapshotSchedule(); });
  }
  return absl::OkStatus();
}

bool Server::StoppingBy(absl::Time deadline) {
  absl::MutexLock lock(&schedule_mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(schedule_mu_) {
    return stopping_;
  };
  schedule_mu_.AwaitWithDeadline(absl::Condition(&stopping), deadline);
  return stopping_;
}

std::vector<int32_t> Server::FoldedPartitions() const {
  if (group_projector_ != nullptr) return group_projector_->assignment();
  std::vector<int32_t> all(log_->partition_count());
  std::iota(all.begin(), all.end(), 0);
  return all;
}

absl::Status Server::TakeDueSnapshot() {
  const std::vector<int32_t> partitions = FoldedPartitions();
  // On Kafka every partition asked can take a broker round trip: a
  // shutdown waits for one at most.
  auto stopping = [this] { return StoppingBy(absl::Now()); };
  std::optional<absl::Time> business =
      LogBusinessTime(*log_, partitions, stopping);
  if (stopping()) return absl::CancelledError("shutting down");
  if (!business.has_value()) return absl::OkStatus();
  const SnapshotPeriod period = options_.snapshot_period;
  if (!next_snapshot_.has_value()) {
    const std::optional<absl::Time> latest = snapshots_->latest();
    // Crossed while no server ran, or by history loaded before any
    // snapshot was taken (`kehu produce --data`): said once, with the
    // remedy.
    const std::optional<absl::Time> since =
        latest.has_value() ? latest
                           : LogFirstBusinessTime(*log_, partitions, stopping);
    if (stopping()) return absl::CancelledError("shutting down");
    const std::vector<absl::Time> none =
        since.has_value() ? BoundariesBetween(period, *since, *business)
                          : std::vector<absl::Time>();
    if (!none.empty()) {
      std::cerr << "kehu serve: " << none.size() << " "
                << SnapshotPeriodName(period) << " boundaries since "
                << (latest.has_value() ? "the last snapshot ("
                                       : "the log's first events (")
                << PopulationSnapshots::NameOf(*since)
                << ") have none: " << PopulationSnapshots::NameOf(none[0])
                << (none.size() > 1
                        ? " to " + PopulationSnapshots::NameOf(none.back())
                        : "")
                << "; `kehu admin backfill-snapshots` makes them\n";
    }
    next_snapshot_ = NextPeriodStart(
        period, std::max(*business, latest.value_or(absl::InfinitePast())));
    return absl::OkStatus();
  }
  if (*business < *next_snapshot_) return absl::OkStatus();
  // The latest boundary passed: the start of the period `business` is in.
  const absl::Time boundary = PeriodStart(period, *business);
  std::vector<int64_t> ends(log_->partition_count(), 0);
  for (int32_t p : partitions) {
    if (stopping()) return absl::CancelledError("shutting down");
    ends[p] = log_->EndOffset(p);
  }
  while (!WaitUntilFolded(ends, absl::Now() + absl::Seconds(1))) {
    KEHU_RETURN_IF_ERROR(status());
    if (stopping()) return absl::CancelledError("shutting down");
    // The consumer group moved partitions: look again at the next poll.
    if (FoldedPartitions() != partitions) return absl::OkStatus();
  }
  // Boundaries crossed on the way to this one get no snapshot here.
  std::vector<std::string> passed_over;
  for (absl::Time b : BoundariesBetween(
           period, *next_snapshot_ - absl::Nanoseconds(1), boundary)) {
    if (b < boundary) passed_over.push_back(PopulationSnapshots::NameOf(b));
  }
  std::shared_ptr<infra::ProjectionStore> store = active_->Get();
  const absl::Time started = absl::Now();
  absl::Status taken = snapshots_->Take(store.get(), boundary, stopping);
  next_snapshot_ = NextPeriodStart(period, boundary);
  admin::v1::AuditEntry entry;
  entry.set_action("snapshot");
  entry.set_caller("schedule");
  (*entry.mutable_arguments())["boundary"] = PopulationSnapshots::NameOf(boundary);
  (*entry.mutable_arguments())["period"] = SnapshotPeriodName(period);
  entry.set_outcome(taken.ok() ? "ok" : std::string(taken.message()));
  if (taken.ok()) {
    entry.set_detail(absl::StrCat(
        "snapshots/", PopulationSnapshots::NameOf(boundary), " of ",
        stores_ != nullptr ? stores_->List()[0].name() : "store",
        on_kafka()
            ? absl::StrCat(" (partitions ", absl::StrJoin(partitions, ","), ")")
            : "",
        ", population measured at the boundary, in ",
        absl::FormatDuration(
            absl::Trunc(absl::Now() - started, absl::Milliseconds(1)))));
  }
  if (!passed_over.empty()) {
    // The log crossed them at once (an import of history): say so, and how
    // to make them.
    entry.set_detail(absl::StrCat(
        entry.detail(), entry.detail().empty() ? "" : "; ",
        "passed over without a snapshot: ", absl::StrJoin(passed_over, ", "),
        " (`kehu admin backfill-snapshots` makes them)"));
  }
  KEHU_RETURN_IF_ERROR(audit_->Record(entry));
  KEHU_RETURN_IF_ERROR(taken);
  return RemoveOldSnapshots();
}

absl::Status Server::RemoveOldSnapshots() {
  absl::StatusOr<std::vector<std::string>> removed =
      snapshots_->RemoveOldest(options_.snapshot_keep);
  if (removed.ok() && removed->empty()) return absl::OkStatus();
  admin::v1::AuditEntry entry;
  entry.set_action("snapshot-removed");
  entry.set_caller("schedule");
  (*entry.mutable_arguments())["keep"] = absl::StrCat(options_.snapshot_keep);
  entry.set_outcome(removed.ok() ? "ok"
                                 : std::string(removed.status().message()));
  if (removed.ok()) {
    entry.set_detail(absl::StrCat("removed snapshots/",
                                  absl::StrJoin(*removed, ", snapshots/")));
  }
  KEHU_RETURN_IF_ERROR(audit_->Record(entry));
  return removed.status();
}

void Server::RunSnapshotSchedule() {
  // On Kafka each look asks the brokers for the end of every partition
  // held: not more often than every kKafkaSnapshotPoll.
  const absl::Duration poll =
      on_kafka() ? std::max(options_.snapshot_poll, kKafkaSnapshotPoll)
                 : options_.snapshot_poll;
  while (!StoppingBy(absl::Now() + poll)) {
    absl::Status s = TakeDueSnapshot();
    if (!s.ok() && !absl::IsCancelled(s)) {
      std::cerr << "kehu serve: population snapshot failed: " << s.message()
                << "\n";
    }
  }
}

admin::v1::AuditEntry Server::StartEntry() const {
  admin::v1::AuditEntry entry;
  entry.set_action("serve-start");
  entry.set_caller(LocalUserCaller());
  entry.set_outcome("ok");
  auto& args = *entry.mutable_arguments();
  args["listen"] = address();
  args["tls"] = options_.security.tls() ? "on" : "off";
  args["tokens"] = options_.security.tokens() ? "on" : "off";
  if (options_.security.insecure) args["insecure"] = "yes";
  args["fit_interval"] = absl::FormatDuration(options_.fit_interval);
  args["snapshots"] =
      options_.snapshot_poll > absl::ZeroDuration()
          ? std::string(SnapshotPeriodName(options_.snapshot_period))
          : "off";
  if (options_.snapshot_keep > 0) {
    args["snapshot_keep"] = absl::StrCat(options_.snapshot_keep);
  }
  args["partitions"] = absl::StrCat(log_->partition_count());
  args["currency"] = store()->reporting_currency();
  args["block_cache_mb"] = absl::StrCat(options_.block_cache_bytes >> 20);
  args["batch_events"] = absl::StrCat(options_.projector.max_batch_events);
  if (on_kafka()) {
    args["kafka_brokers"] = options_.kafka_brokers;
    args["kafka_topic"] = options_.kafka_topic;
    args["kafka_group"] = options_.kafka_group;
  } else {
    entry.set_detail(absl::StrCat("active: ", stores_->List()[0].name()));
  }
  return entry;
}

absl::Status Server::StartEmbedded() {
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = options_.partitions;
  log_options.sync = options_.sync_log;
  KEHU_ASSIGN_OR_RETURN(
      log_, infra::EmbeddedLog::Open(options_.data_dir + "/log", log_options));

  ServingStoresOptions stores;
  stores.data_dir = options_.data_dir;
  stores.store.reporting_currency = options_.reporting_currency;
  stores.store.block_cache_bytes = options_.block_cache_bytes;
  stores.projector = options_.projector;
  stores.population = options_.population;
  stores.audit = audit_.get();
  KEHU_ASSIGN_OR_RETURN(stores_, ServingStores::Open(log_.get(), stores));
  active_ = stores_->active();
  return absl::OkStatus();
}

absl::Status Server::StartKafka() {
  infra::KafkaProperties properties;
  if (!options_.kafka_config_file.empty()) {
    KEHU_ASSIGN_OR_RETURN(
        properties, infra::LoadKafkaProperties(options_.kafka_config_file));
  }
  properties.insert(properties.end(), options_.kafka_properties.begin(),
                    options_.kafka_properties.end());

  infra::KafkaLogOptions log_options;
  log_options.brokers = options_.kafka_brokers;
  log_options.topic = options_.kafka_topic;
  log_options.properties = properties;
  KEHU_ASSIGN_OR_RETURN(auto log, infra::KafkaLog::Open(log_options));
  kafka_log_ = log.get();
  log_ = std::move(log);

  infra::ProjectionStoreOptions store_options;
  store_options.reporting_currency = options_.reporting_currency;
  store_options.block_cache_bytes = options_.block_cache_bytes;
  KEHU_ASSIGN_OR_RETURN(
      std::unique_ptr<infra::ProjectionStore> store,
      infra::ProjectionStore::Open(options_.data_dir + "/store", store_options));
  kafka_store_ = std::move(store);
  active_ = std::make_shared<infra::ActiveStore>(kafka_store_);

  projections::GroupProjectorOptions projector_options;
  projector_options.brokers = options_.kafka_brokers;
  projector_options.topic = options_.kafka_topic;
  projector_options.group = options_.kafka_group;
  projector_options.properties = properties;
  projector_options.max_batch_events = options_.projector.max_batch_events;
  projector_options.cache_customers = options_.projector.cache_customers;
  projector_options.poll_timeout = options_.projector.idle_wait;
  group_projector_ = std::make_unique<projections::GroupProjector>(
      kafka_store_.get(), projector_options);
  return group_projector_->Start();
}

absl::Status Server::status() const {
  if (stores_ != nullptr) return stores_->status();
  if (group_projector_ != nullptr) {
    KEHU_RETURN_IF_ERROR(group_projector_->status());
    if (kafka_log_ != nullptr) return kafka_log_->producer()->health();
  }
  return absl::OkStatus();
}

bool Server::WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                             absl::Time deadline) const {
  if (stores_ != nullptr) {
    return stores_->active_projector()->WaitUntilFolded(end_offsets, deadline);
  }
  if (group_projector_ != nullptr) {
    return group_projector_->WaitUntilFolded(end_offsets, deadline);
  }
  return false;
}

void Server::RunFitSchedule() {
  absl::Time next = absl::Now();
  auto last = store()->GetPopulation();
  if (last.ok() && last->has_value()) {
    next = absl::FromUnixMicros((*last)->as_of_us()) + options_.fit_interval;
  }
  while (true) {
    if (StoppingBy(next)) return;
    auto result = admin_->RunFit(absl::Now(), "schedule");
    if (result.ok()) {
      std::cerr << "kehu serve: population measured: "
                << result->purchasing_customers()
                << " customers with purchases, " << result->active_customers()
                << " active, in " << result->seconds() << " s\n";
    } else {
      std::cerr << "kehu serve: population step failed: "
                << result.status().message() << "\n";
    }
    next = absl::Now() + options_.fit_interval;
  }
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&schedule_mu_);
    stopping_ = true;
  }
  if (fit_thread_.joinable()) fit_thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  if (health_ != nullptr) health_->SetNotServing();
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
  }
  // After the server's Shutdown() and before the server goes (the calls
  // left on the queues refer to it), and before the services: a call a
  // worker still holds then finishes to no one.
  call_queues_.reset();
  grpc_server_.reset();
  if (log_ != nullptr) log_->Shutdown();
  if (stores_ != nullptr) stores_->Stop();  // stops projectors, flushes
  if (group_projector_ != nullptr) {
    group_projector_->Stop();
    group_projector_.reset();
  }
  ingest_.reset();
  query_.reset();
  admin_.reset();
  health_.reset();
  if (kafka_store_ != nullptr) kafka_store_->Flush().IgnoreError();
  active_.reset();
  kafka_store_.reset();
  stores_.reset();
  kafka_log_ = nullptr;
  log_.reset();
}

std::string Server::address() const {
  std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  return absl::StrCat(host, ":", port_);
}

}  // namespace kehu::app
