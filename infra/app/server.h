// Server: one `kehu serve` process — the event log, the projector, and the
// gRPC ingest, query, health and reflection services — as a library, so
// that end-to-end tests run exactly what the binary runs.
//
// Operation: Start() opens (or creates) DATA/log and DATA/store, starts the
// projector on every partition, then listens. Shutdown() stops accepting
// calls, lets in-flight calls finish, stops the projector after its batch
// in flight, and flushes the store; Start() again on the same directory
// continues exactly where it stopped.
//
// Concurrency: Start(), Shutdown() and Wait() from one controlling thread.
#ifndef KEHU_INFRA_APP_SERVER_H_
#define KEHU_INFRA_APP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/server.h"
#include "infra/embedded_log.h"
#include "infra/projection_store.h"
#include "producers/ingest_service.h"
#include "projections/projector.h"
#include "query/query_service.h"

namespace kehu::app {

struct ServerOptions {
  // Directory holding the embedded log (log/) and the projection store
  // (store/); created if missing.
  std::string data_dir = "kehu-data";
  // gRPC listen address; port 0 picks a free port (see Server::port()).
  std::string listen = "127.0.0.1:50051";
  // Partitions of a newly created log; an existing log keeps its own.
  int32_t partitions = 8;
  // Currency that money rankings use (fixed when the store is created).
  std::string reporting_currency = "EUR";
  projections::ProjectorOptions projector;
  // fsync each group of appends before acknowledging. Only tests of other
  // behaviour turn this off.
  bool sync_log = true;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the data directory, starts the projector and listens. Errors say
  // what failed (unwritable directory, address in use, ...).
  absl::Status Start();
  // Stops serving, folding and flushes; safe to call more than once.
  void Shutdown();

  // The port actually bound (useful with port 0). REQUIRES: Start() is OK.
  int port() const { return port_; }
  // "host:port" clients can dial.
  std::string address() const;

  infra::EventLog* log() const { return log_.get(); }
  infra::ProjectionStore* store() const { return store_.get(); }
  projections::Projector* projector() const { return projector_.get(); }

 private:
  const ServerOptions options_;
  std::unique_ptr<infra::EmbeddedLog> log_;
  std::unique_ptr<infra::ProjectionStore> store_;
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<producers::IngestService> ingest_;
  std::unique_ptr<query::QueryService> query_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_SERVER_H_
