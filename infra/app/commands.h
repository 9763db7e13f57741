// The `kehu` subcommands, each a function that returns the process exit
// code, so that main.cc only parses flags. Errors are printed as one line
// "kehu <command>: <what went wrong>" on stderr.
#ifndef KEHU_INFRA_APP_COMMANDS_H_
#define KEHU_INFRA_APP_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "infra/app/client_channel.h"
#include "infra/app/server.h"
#include "producers/simulator.h"

namespace kehu::app {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
// `produce` finished, but some events were rejected.
inline constexpr int kExitSomeRejected = 2;

// Runs the server until SIGINT or SIGTERM, then shuts down cleanly. With
// options.security.insecure on a non-loopback address, first prints a
// warning.
int RunServe(const ServerOptions& options);

// Writes the simulated workload as NDJSON to `output` ("-" = stdout).
int RunSimulate(const producers::SimulatorOptions& options,
                const std::string& output);

struct ProduceOptions {
  // Ingest server address.
  std::string server = "127.0.0.1:50051";
  // Token and TLS of the channel to `server`.
  ClientSecurity security;
  // When set (bootstrap.servers), events go straight to this Kafka cluster's
  // topic `kafka_topic` instead of through a server: each is validated as
  // the ingest API would, then produced with key = customer_id and value =
  // the serialized Event.
  std::string kafka_brokers;
  std::string kafka_topic = "kehu.events";
  // librdkafka properties file (name=value lines), "" for none.
  std::string kafka_config_file;
  // When set, events are validated as the ingest API would and appended
  // straight to DATA/log, the embedded log of a stopped server (bulk loads
  // of history); a new log gets `partitions` partitions.
  std::string data_dir;
  int32_t partitions = 8;
  // NDJSON file, "-" = stdin.
  std::string input = "-";
  // Events per Append call.
  int batch_events = 1000;
  // Rejections printed in full (all are counted).
  int max_listed_rejections = 20;
};
// Publishes NDJSON events through the ingest API, or straight to Kafka or
// to a stopped server's embedded log; reports accepted and rejected counts.
int RunProduce(const ProduceOptions& options);

struct TopicsOptions {
  // bootstrap.servers of the Kafka cluster.
  std::string kafka_brokers;
  // The event topic; its dead-letter topic is the same name + ".dlq".
  std::string topic = "kehu.events";
  int partitions = 8;
  int replication_factor = 3;
  // retention.ms of both topics; -1 keeps everything: the event topic is
  // the system of record.
  int64_t retention_ms = -1;
  std::string kafka_config_file;
  absl::Duration timeout = absl::Seconds(30);
};
// Creates the event topic and its dead-letter topic; a topic that exists
// already is left as it is (and said so).
int RunTopicsCreate(const TopicsOptions& options);
// Prints both topics' partitions (leader, replicas, in-sync replicas) and
// configs.
int RunTopicsDescribe(const TopicsOptions& options);

// Converts a public data set to NDJSON events on `output` ("-" = stdout):
// `kind` is "cdnow" (CDNOW_master.txt layout; "cdnow-sample" for the
// sample's) or "online-retail" (the UCI CSV). Lines that cannot become
// events are reported on stderr with their line number and reason.
int RunImport(const std::string& kind, const std::string& input,
              const std::string& output);

struct ClientOptions {
  std::string server = "127.0.0.1:50051";
  // Token and TLS of the channel to `server`.
  ClientSecurity security;
  // Protobuf's canonical JSON instead of a table.
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
  // Reference time of the views, YYYY-MM-DD (UTC midnight); "" = now.
  std::string as_of;
};
// Runs the population step on a running server (admin.v1.Admin/Fit) at
// options.as_of and prints what it measured.
int RunFit(const ClientOptions& options);

// `kehu admin COMMAND`: rebuild, stores, switch, drop-standby, audit,
// snapshots, backfill-snapshots.
struct AdminFlags {
  std::string command;
  // rebuild: the new store's reporting currency ("" = the active one's),
  // and whether to wait (with progress) until it follows the log.
  std::string currency;
  bool wait = false;
  // audit: newest entries shown.
  int limit = 50;
  // backfill-snapshots: the period ("" = the server's) and the range of
  // boundaries, YYYY-MM-DD ("" = no limit).
  std::string every;
  std::string from;
  std::string to;
};
int RunAdmin(const ClientOptions& options, const AdminFlags& flags);
int RunQueryGet(const ClientOptions& options, const std::string& customer_id);
// `metric`: revenue, margin or purchases.
int RunQueryTop(const ClientOptions& options, const std::string& metric,
                int limit);
// `kehu query progress`.
struct ProgressFlags {
  // First block until the projector has caught up (or the timeout passes).
  bool wait = false;
  // Instead of the table, a line every `interval_seconds`: events appended
  // to the log and records the projector read off it per second since the
  // line before, the lag and the totals; `count` lines (0: until
  // interrupted).
  bool watch = false;
  double interval_seconds = 5;
  int count = 0;
};
// Prints how far the projector is behind the log, per partition, or with
// `watch` the throughput line by line.
int RunQueryProgress(const ClientOptions& options, const ProgressFlags& flags);
// Lists events the projector dead-lettered, in log order, `limit` per page
// from `page_token` (empty = the first).
int RunQueryDeadLetters(const ClientOptions& options, int limit,
                        const std::string& page_token);

// `kehu query list`: the flags as typed; lists are comma-separated enum
// names without their prefix ("key,potential"), ranges "MIN..MAX" with
// either side optional.
struct ListFlags {
  std::string tiers;
  std::string pareto;  // "key" or "ordinary"
  std::string stages;
  std::string cells;
  std::string relationships;
  std::string regions;
  std::string recency_score;
  std::string frequency_score;
  std::string monetary_score;
  std::string churn_risk;
  std::string satisfaction;
  std::string open_complaints;  // "yes" or "no"
  std::string order = "current-value";
  bool ascending = false;
  int limit = 20;
  std::string page_token;
  // Follow next_page_token to the end of the listing.
  bool all = false;
};
int RunQueryList(const ClientOptions& options, const ListFlags& flags);
// `by`: tier, pareto, stage, cell, relationship or region; `from`/`to`:
// YYYY-MM-DD or "" for the default period.
int RunQuerySummary(const ClientOptions& options, const std::string& by,
                    const std::string& from, const std::string& to);
// `types`: comma-separated payload names, "" for all.
int RunQueryTimeline(const ClientOptions& options,
                     const std::string& customer_id, const std::string& types,
                     int limit, const std::string& page_token);
// `view`: tier, pareto, stage, satisfaction, churn-risk or cell; lists at most
// `limit` contributing events.
int RunQueryExplain(const ClientOptions& options,
                    const std::string& customer_id, const std::string& view,
                    int limit);
// `split`: none, tier or relationship.
int RunQuerySatisfaction(const ClientOptions& options, const std::string& split,
                         const std::string& from, const std::string& to);

// `kehu replay`: the flags as typed.
struct ReplayCommandOptions {
  // Data directory whose embedded log (DIR/log) is replayed.
  std::string data_dir = "kehu-data";
  // Kafka bootstrap servers: replay the Kafka topic `kafka_topic` (all its
  // partitions) instead of DIR/log; "" for the embedded log.
  std::string kafka_brokers;
  std::string kafka_topic = "kehu.events";
  // librdkafka properties file (name=value lines), "" for none.
  std::string kafka_config_file;
  // New data directory; the store is built in INTO/store.
  std::string into;
  // Fold offsets below this in every partition; < 0: to the end.
  int64_t until_offset = -1;
  // Fold only events that occurred at or before this time: YYYY-MM-DD
  // (midnight UTC) or RFC 3339; "" for no cut.
  std::string until;
  // Run the population step at this reference time at the end: YYYY-MM-DD
  // (midnight UTC) or RFC 3339, e.g. the as_of of a scheduled fit; "" for
  // none.
  std::string fit_as_of;
  // Reporting currency of the new store; "" takes DIR/store's when there is
  // one (on the embedded log), else EUR.
  std::string currency;
  int threads = 2;
  int batch_records = 10000;
};
// Rebuilds every projection from DIR/log into a fresh INTO/store
// (projections/replay.h), with a progress bar on a terminal (plain lines
// otherwise) and a summary.
int RunReplay(const ReplayCommandOptions& options);

struct SnapshotsCommandOptions {
  // Data directory whose embedded log (DIR/log) is read and whose
  // DIR/snapshots get the snapshots.
  std::string data_dir = "kehu-data";
  // The period whose boundaries get snapshots (SnapshotPeriod's names).
  std::string every = "month";
  // Only boundaries at or after `from` / at or before `to`, YYYY-MM-DD;
  // "" for no limit.
  std::string from;
  std::string to;
  int threads = 2;
};
// `kehu snapshots backfill`: a population snapshot, built by a replay
// (PopulationSnapshots::Backfill), for every period boundary the log's
// business time crossed that has none, oldest first; each recorded in the
// audit trail. Refuses a log a running `serve` holds.
int RunSnapshotsBackfill(const SnapshotsCommandOptions& options);
// `kehu snapshots list`: the snapshots of DIR with what each population
// measured, a table or (`json`) a kehu.admin.v1.ListSnapshotsResponse;
// works beside a running `serve`.
int RunSnapshotsList(const std::string& data_dir, bool json);

// Prints the digest of the store `store_name` of DIR ("" = the active
// one: DIR/store unless a switch made another active; serving_stores.h)
// (infra/store_digest.h); with `families`, each family's row count and
// digest too.
int RunDigest(const std::string& data_dir, const std::string& store_name,
              bool families);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_COMMANDS_H_
