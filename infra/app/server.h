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
// With ServerOptions::kafka_brokers set, the log is the Kafka topic
// (infra/kafka_log.h: ingest appends through the idempotent producer) and
// the projector a member of the Kafka consumer group
// (projections/group_projector.h) that folds the partitions the group
// assigns this server into DATA/store; DATA/log is not used. Queries are
// answered from DATA/store as on the embedded log.
//
// The Admin service runs the population step on demand (`kehu fit`), and a
// background thread runs it on a schedule (ServerOptions::fit_interval).
// On the embedded log the stores are ServingStores (serving_stores.h):
// the active store answers queries, and an admin call can rebuild a
// standby from the log and switch to it while serving (blue-green).
// Administrative actions, and each start with its configuration, are
// recorded in DATA/audit.ndjson (audit_trail.h). At each boundary of
// business time (each month by default) the server snapshots the store with its
// population (population_snapshots.h), which GetCustomer as of a past date
// uses.
//
// Security (server_security.h, auth_tokens.h): ServerOptions::security
// adds TLS, optionally requiring client certificates, and bearer tokens
// whose scopes (ingest, query, admin) are checked per method before any
// handler runs; health checks stay open. Start() refuses a non-loopback
// listen address unless both TLS and tokens are configured or `insecure`
// is set, before it opens or binds anything.
//
// Message sizes: the server accepts requests up to
// max_receive_message_bytes and sends responses up to
// max_send_message_bytes (64 MiB each by default); a larger message fails
// that call with RESOURCE_EXHAUSTED. kehu's clients (client_channel.h)
// accept responses of the same size.
//
// Concurrency: Start(), Shutdown() and Wait() from one controlling thread.
#ifndef KEHU_INFRA_APP_SERVER_H_
#define KEHU_INFRA_APP_SERVER_H_

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "infra/active_store.h"
#include "infra/app/admin_service.h"
#include "infra/app/audit_trail.h"
#include "infra/app/health_service.h"
#include "infra/app/population_snapshots.h"
#include "infra/app/server_security.h"
#include "infra/app/serving_stores.h"
#include "infra/call_queues.h"
#include "infra/embedded_log.h"
#include "infra/kafka_config.h"
#include "infra/kafka_log.h"
#include "infra/projection_store.h"
#include "producers/ingest_service.h"
#include "projections/group_projector.h"
#include "projections/projector.h"
#include "query/query_service.h"

namespace kehu::app {

// Default limit of one gRPC message, each way (gRPC's own default for
// received messages is 4 MiB).
inline constexpr int kMaxMessageBytes = 64 << 20;

struct ServerOptions {
  // Directory holding the embedded log (log/) and the projection store
  // (store/); created if missing.
  std::string data_dir = "kehu-data";
  // gRPC listen address; port 0 picks a free port (see Server::port()).
  // Anything but a loopback address needs `security` with TLS and tokens,
  // or security.insecure.
  std::string listen = "127.0.0.1:50051";
  // TLS, bearer tokens and the non-loopback rule (server_security.h).
  ServerSecurityOptions security;
  // Largest request message accepted, and largest response message sent.
  int max_receive_message_bytes = kMaxMessageBytes;
  int max_send_message_bytes = kMaxMessageBytes;
  // Threads that answer queries (infra/call_queues.h), each reading its
  // calls off the connections itself; the scanning calls go on to the
  // query service's workers. One per core: on 2 cores, one thread
  // answered at most 13,980 GetCustomer/s of a million customers and two
  // 17,210/s (README, Query latency).
  int query_threads =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // The projection store's block cache: the table blocks read last, kept
  // unpacked. A read whose block is not there costs a system call and a
  // decompression. About 700 bytes per customer hold every customer's row
  // (the customers family unpacked, 640 MB at a million customers); on 2
  // cores at 10,000 GetCustomer/s of a million customers, 1 GiB instead of
  // 256 MiB took the server's CPU per call from 78-88 to 67-79 us
  // (README, Query latency). A rebuilt standby store has a cache of its
  // own until the switch closes the old store.
  size_t block_cache_bytes = size_t{1} << 30;
  // Partitions of a newly created log; an existing log keeps its own.
  int32_t partitions = 8;
  // Currency that money rankings use (fixed when the store is created).
  std::string reporting_currency = "EUR";
  projections::ProjectorOptions projector;
  // fsync each group of appends before acknowledging. Only tests of other
  // behaviour turn this off.
  bool sync_log = true;

  // Kafka. When `kafka_brokers` (bootstrap.servers) is set, the event log
  // is the Kafka topic `kafka_topic`, which must exist (`kehu topics
  // create`), and the projector joins the consumer group `kafka_group`;
  // `partitions` is then the topic's, not this option.
  std::string kafka_brokers;
  std::string kafka_topic = "kehu.events";
  std::string kafka_group = "kehu-projector";
  // A file of librdkafka properties (`name=value` lines, infra/
  // kafka_config.h), passed through to every Kafka client; "" for none.
  std::string kafka_config_file;
  // More librdkafka properties, applied after the file's (for tests).
  infra::KafkaProperties kafka_properties;

  // The population step (RFM cuts, tiers, lifetime-value models) runs at
  // start when the store has never been measured or its last measure is
  // older than this, and then every `fit_interval`; zero turns the
  // schedule off (`kehu fit` still runs it on demand).
  absl::Duration fit_interval = absl::Hours(24);
  projections::PopulationOptions population;

  // Population snapshots at each boundary of business time
  // (population_snapshots.h): the period between them, and how often the
  // log's business time is looked at (on Kafka every 10 s at most); zero
  // turns the schedule off (tests then call TakeDueSnapshot() themselves).
  // Snapshots already taken are read by as-of queries either way.
  SnapshotPeriod snapshot_period = SnapshotPeriod::kMonth;
  // After each snapshot the schedule takes, the oldest are removed until
  // this many are left; 0 keeps all.
  size_t snapshot_keep = 0;
  absl::Duration snapshot_poll = absl::Seconds(1);
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Checks the listen address against the security options, opens the
  // data directory, starts the projector and listens. Errors say what
  // failed (non-loopback address without TLS and tokens, unreadable
  // certificate or token file, unwritable directory, address in use, ...).
  absl::Status Start();
  // Stops serving, folding and flushes; safe to call more than once.
  void Shutdown();

  // The port actually bound (useful with port 0). REQUIRES: Start() is OK.
  int port() const { return port_; }
  // "host:port" clients can dial.
  std::string address() const;

  // True when the log is Kafka (ServerOptions::kafka_brokers).
  bool on_kafka() const { return !options_.kafka_brokers.empty(); }

  infra::EventLog* log() const { return log_.get(); }
  // The store queries read now (a switch changes it).
  infra::ProjectionStore* store() const { return active_->Get().get(); }
  // The embedded log's stores; nullptr on Kafka.
  ServingStores* stores() const { return stores_.get(); }
  // The projector of the active store on the embedded log; nullptr on
  // Kafka.
  projections::Projector* projector() const {
    return stores_ != nullptr ? stores_->active_projector() : nullptr;
  }
  // The consumer-group projector; nullptr on the embedded log.
  projections::GroupProjector* group_projector() const {
    return group_projector_.get();
  }

  // OK while the server can do its job; otherwise why not: the projector
  // stopped (store write failed, offsets gone from the topic), or the
  // Kafka producer hit a fatal error. `kehu serve` then shuts down.
  absl::Status status() const;

  // The population snapshots (DATA/snapshots) as-of reads use.
  PopulationSnapshots* snapshots() const { return snapshots_.get(); }
  // One step of the snapshot schedule: when the business time of the
  // partitions the store folds has passed the next period boundary, waits
  // until the active store has folded them so far and takes the snapshot
  // of the latest boundary passed. The first call only notes where the log
  // stands. On Kafka, when the group moves partitions meanwhile, it takes
  // none and the next call looks again. After a snapshot, the oldest
  // beyond `snapshot_keep` are removed. Each snapshot and each removal is
  // recorded in the audit trail; so are the boundaries passed over when
  // the log crossed several at once, which `kehu snapshots backfill` can
  // make later.
  absl::Status TakeDueSnapshot();

  // Blocks until the projector has folded every partition p below
  // end_offsets[p], it failed, or `deadline` passed; true when folded.
  bool WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                       absl::Time deadline) const;

 private:
  absl::Status StartEmbedded();
  absl::Status StartKafka();
  // The audit entry of this start, with its configuration.
  admin::v1::AuditEntry StartEntry() const;
  // Runs the population step on the schedule until Shutdown().
  void RunFitSchedule();
  // The partitions the active store folds: all on the embedded log, the
  // ones this member of the consumer group holds on Kafka.
  std::vector<int32_t> FoldedPartitions() const;
  // Removes the oldest snapshots beyond snapshot_keep; records it.
  absl::Status RemoveOldSnapshots();
  // Runs TakeDueSnapshot() every snapshot_poll until Shutdown().
  void RunSnapshotSchedule();
  // Waits on schedule_mu_ until `deadline` or Shutdown(); true on the latter.
  bool StoppingBy(absl::Time deadline);

  const ServerOptions options_;
  std::unique_ptr<infra::EventLog> log_;
  // log_ when it is Kafka, for the producer's health; nullptr otherwise.
  infra::KafkaLog* kafka_log_ = nullptr;
  std::unique_ptr<AuditTrail> audit_;
  // The embedded log's stores; on Kafka, the one store.
  std::unique_ptr<ServingStores> stores_;
  std::shared_ptr<infra::ProjectionStore> kafka_store_;
  std::shared_ptr<const infra::ActiveStore> active_;
  std::unique_ptr<projections::GroupProjector> group_projector_;
  // The threads that answer the query service's calls.
  std::unique_ptr<infra::CallQueues> call_queues_;
  std::unique_ptr<producers::IngestService> ingest_;
  std::unique_ptr<query::QueryService> query_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;

  std::unique_ptr<PopulationSnapshots> snapshots_;
  // The next period boundary to snapshot; unset until the log is looked at.
  std::optional<absl::Time> next_snapshot_;  // TakeDueSnapshot() only

  std::thread fit_thread_;
  std::thread snapshot_thread_;
  absl::Mutex schedule_mu_;
  bool stopping_ ABSL_GUARDED_BY(schedule_mu_) = false;
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_SERVER_H_
