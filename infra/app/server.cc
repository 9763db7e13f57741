#include "infra/app/server.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "infra/kafka_log.h"
#include "infra/status_macros.h"

namespace kehu::app {

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
  KEHU_RETURN_IF_ERROR(on_kafka() ? StartKafka() : StartEmbedded());

  ingest_ = std::make_unique<producers::IngestService>(log_.get());
  query_ = std::make_unique<query::QueryService>(store_.get(), log_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, a second server could bind the same port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_send_message_bytes);
  builder.AddListeningPort(options_.listen, credentials, &port_);
  builder.RegisterService(ingest_.get());
  builder.RegisterService(query_.get());
  admin_ = std::make_unique<AdminService>(store_.get(), options_.population,
                                          [] { return absl::Now(); });
  builder.RegisterService(admin_.get());
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
  if (options_.fit_interval > absl::ZeroDuration()) {
    fit_thread_ = std::thread([this] { RunFitSchedule(); });
  }
  return absl::OkStatus();
}

absl::Status Server::StartEmbedded() {
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = options_.partitions;
  log_options.sync = options_.sync_log;
  KEHU_ASSIGN_OR_RETURN(
      log_, infra::EmbeddedLog::Open(options_.data_dir + "/log", log_options));

  infra::ProjectionStoreOptions store_options;
  store_options.reporting_currency = options_.reporting_currency;
  KEHU_ASSIGN_OR_RETURN(
      store_, infra::ProjectionStore::Open(options_.data_dir + "/store",
                                           store_options));

  projector_ = std::make_unique<projections::Projector>(
      log_.get(), store_.get(), options_.projector);
  return projector_->Start();
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
  KEHU_ASSIGN_OR_RETURN(
      store_, infra::ProjectionStore::Open(options_.data_dir + "/store",
                                           store_options));

  projections::GroupProjectorOptions projector_options;
  projector_options.brokers = options_.kafka_brokers;
  projector_options.topic = options_.kafka_topic;
  projector_options.group = options_.kafka_group;
  projector_options.properties = properties;
  projector_options.max_batch_events = options_.projector.max_batch_events;
  projector_options.cache_customers = options_.projector.cache_customers;
  projector_options.poll_timeout = options_.projector.idle_wait;
  group_projector_ = std::make_unique<projections::GroupProjector>(
      store_.get(), projector_options);
  return group_projector_->Start();
}

absl::Status Server::status() const {
  if (projector_ != nullptr) return projector_->status();
  if (group_projector_ != nullptr) {
    KEHU_RETURN_IF_ERROR(group_projector_->status());
    if (kafka_log_ != nullptr) return kafka_log_->producer()->health();
  }
  return absl::OkStatus();
}

bool Server::WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                             absl::Time deadline) const {
  if (projector_ != nullptr) {
    return projector_->WaitUntilFolded(end_offsets, deadline);
  }
  if (group_projector_ != nullptr) {
    return group_projector_->WaitUntilFolded(end_offsets, deadline);
  }
  return false;
}

void Server::RunFitSchedule() {
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(fit_mu_) {
    return fit_stopping_;
  };
  absl::Time next = absl::Now();
  auto last = store_->GetPopulation();
  if (last.ok() && last->has_value()) {
    next = absl::FromUnixMicros((*last)->as_of_us()) + options_.fit_interval;
  }
  while (true) {
    {
      absl::MutexLock lock(&fit_mu_);
      fit_mu_.AwaitWithDeadline(absl::Condition(&stopping), next);
      if (fit_stopping_) return;
    }
    auto result = admin_->RunFit(absl::Now());
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
  if (fit_thread_.joinable()) {
    {
      absl::MutexLock lock(&fit_mu_);
      fit_stopping_ = true;
    }
    fit_thread_.join();
  }
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
    grpc_server_.reset();
  }
  if (log_ != nullptr) log_->Shutdown();
  if (projector_ != nullptr) {
    projector_->Stop();
    projector_.reset();
  }
  if (group_projector_ != nullptr) {
    group_projector_->Stop();
    group_projector_.reset();
  }
  ingest_.reset();
  query_.reset();
  if (store_ != nullptr) {
    store_->Flush().IgnoreError();
    store_.reset();
  }
  kafka_log_ = nullptr;
  log_.reset();
}

std::string Server::address() const {
  std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  return absl::StrCat(host, ":", port_);
}

}  // namespace kehu::app
