#include "infra/app/server.h"

#include <filesystem>

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
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(ingest_.get());
  builder.RegisterService(query_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port_ == 0) {
    grpc_server_.reset();
    Shutdown();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen,
                     " (address in use, or not an address of this machine?)"));
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

void Server::Shutdown() {
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
