// The `kehu` binary: flag parsing only; each subcommand is a function in
// infra/app/commands.h.
#include <cstdlib>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"

namespace {

// The flags of a command that calls a kehu server (client_channel.h).
void AddClientSecurityFlags(CLI::App* command,
                            kehu::app::ClientSecurityOptions* options) {
  command->add_option("--token-file", options->token_file,
                      "File holding the bearer token (default: the "
                      "environment variable KEHU_TOKEN)");
  command->add_option("--tls-ca", options->tls_ca_file,
                      "PEM CA certificate of the server: use TLS");
  command->add_option("--tls-cert", options->tls_cert_file,
                      "PEM client certificate (with --tls-key)");
  command->add_option("--tls-key", options->tls_key_file,
                      "PEM private key of --tls-cert");
}

// CLI11 reports parse errors by exception; they end here, at the edge.
int Main(int argc, char** argv) {
  // Debian's Abseil is built with mutex deadlock detection on, which keeps
  // a process-wide lock graph behind every absl::Mutex (gRPC's included):
  // on the query path it serialises the server. kehu's lock order is
  // fixed by design; the detector is for debugging, not for serving.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  using namespace kehu::app;  // NOLINT
  CLI::App app{"kehu: event-sourced customer relationship management"};
  app.require_subcommand(1);

  ServerOptions serve;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "Run the event log (embedded, or --kafka), the projector, ingest and "
      "query");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory")
      ->capture_default_str();
  serve_cmd
      ->add_option("--listen", serve.listen,
                   "gRPC listen address; beyond loopback it needs TLS and "
                   "--tokens, or --insecure")
      ->capture_default_str();
  serve_cmd->add_option("--tls-cert", serve.security.tls_cert_file,
                        "PEM certificate chain: serve TLS (with --tls-key)");
  serve_cmd->add_option("--tls-key", serve.security.tls_key_file,
                        "PEM private key of --tls-cert");
  serve_cmd->add_option("--tls-client-ca", serve.security.tls_client_ca_file,
                        "PEM CA certificates: require client certificates "
                        "they signed");
  serve_cmd->add_option("--tokens", serve.security.tokens_file,
                        "Bearer token file, one NAME SCOPES TOKEN per line "
                        "(scopes: ingest,query,admin)");
  serve_cmd->add_flag("--insecure", serve.security.insecure,
                      "Allow a non-loopback --listen without TLS and tokens");
  serve_cmd
      ->add_option("--partitions", serve.partitions, "Partitions of a new log")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve_cmd
      ->add_option("--currency", serve.reporting_currency,
                   "ISO 4217 currency that money rankings use")
      ->capture_default_str();
  serve_cmd
      ->add_option("--query-threads", serve.query_threads,
                   "Threads that read queries off the connections and answer "
                   "the point lookups")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  int64_t block_cache_mb = static_cast<int64_t>(serve.block_cache_bytes >> 20);
  serve_cmd
      ->add_option("--block-cache-mb", block_cache_mb,
                   "MiB of table blocks the store keeps unpacked in memory; "
                   "about 700 B per customer keep every customer's row")
      ->check(CLI::Range(int64_t{8}, int64_t{1} << 20))
      ->capture_default_str();
  serve_cmd->add_option("--kafka", serve.kafka_brokers,
                        "Kafka bootstrap servers: use the Kafka topic as the "
                        "log and join the projector consumer group");
  serve_cmd->add_option("--topic", serve.kafka_topic, "Kafka event topic")
      ->capture_default_str();
  serve_cmd->add_option("--group", serve.kafka_group, "Kafka consumer group")
      ->capture_default_str();
  serve_cmd->add_option("--kafka-config", serve.kafka_config_file,
                        "File of librdkafka properties (name=value lines)");
  double fit_interval_hours = 24;
  serve_cmd
      ->add_option("--fit-interval-hours", fit_interval_hours,
                   "Run the population step this often (0: only on demand)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bool no_snapshots = false;
  serve_cmd->add_flag("--no-snapshots", no_snapshots,
                      "Take no population snapshot");
  std::string snapshot_every = "month";
  serve_cmd
      ->add_option("--snapshot-every", snapshot_every,
                   "Snapshot the store and its population at the start of "
                   "each UTC day, week (Monday), month, quarter or year of "
                   "business time")
      ->check(CLI::IsMember({"day", "week", "month", "quarter", "year"}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--snapshot-keep", serve.snapshot_keep,
                   "Keep the newest N snapshots, removing older ones (0: all)")
      ->check(CLI::Range(size_t{0}, size_t{1000000}))
      ->capture_default_str();

  kehu::producers::SimulatorOptions sim;
  std::string sim_output = "-";
  std::string sim_start = "2025-01-01";
  auto* sim_cmd = app.add_subcommand(
      "simulate",
      "Write a simulated workload (web shop, ERP, call center) as NDJSON");
  sim_cmd->add_option("--customers", sim.customers, "Customers")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000000}))
      ->capture_default_str();
  sim_cmd->add_option("--days", sim.days, "Days simulated")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  sim_cmd->add_option("--seed", sim.seed, "Random seed")->capture_default_str();
  sim_cmd->add_option("--start", sim_start, "First day (YYYY-MM-DD, UTC)")
      ->capture_default_str();
  sim_cmd->add_option("--currency", sim.currency, "ISO 4217 currency")
      ->capture_default_str();
  sim_cmd->add_option("-o,--output", sim_output, "Output file, - for stdout")
      ->capture_default_str();

  ProduceOptions produce;
  auto* produce_cmd = app.add_subcommand(
      "produce",
      "Publish NDJSON events (canonical JSON of kehu.events.v1.Event)");
  produce_cmd->add_option("input", produce.input, "NDJSON file, - for stdin")
      ->capture_default_str();
  produce_cmd->add_option("--server", produce.server, "Ingest server address")
      ->capture_default_str();
  produce_cmd->add_option("--batch", produce.batch_events, "Events per call")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  produce_cmd->add_option("--kafka", produce.kafka_brokers,
                          "Kafka bootstrap servers: produce straight to the "
                          "topic instead of through --server");
  produce_cmd->add_option("--topic", produce.kafka_topic, "Kafka event topic")
      ->capture_default_str();
  produce_cmd->add_option("--kafka-config", produce.kafka_config_file,
                          "File of librdkafka properties (name=value lines)");
  produce_cmd->add_option("--data", produce.data_dir,
                          "Append straight to DIR/log, the embedded log of a "
                          "stopped kehu serve (bulk loads of history)");
  produce_cmd
      ->add_option("--partitions", produce.partitions,
                   "Partitions of a log --data creates (an existing log "
                   "keeps its own)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  // One of produce, fit and query runs; they share the client's security.
  kehu::app::ClientSecurityOptions client_security;
  AddClientSecurityFlags(produce_cmd, &client_security);

  TopicsOptions topics;
  double topics_timeout_seconds = 30;
  auto* topics_cmd = app.add_subcommand(
      "topics", "Create or describe the Kafka event and dead-letter topics");
  topics_cmd->require_subcommand(1);
  topics_cmd
      ->add_option("--kafka", topics.kafka_brokers, "Kafka bootstrap servers")
      ->required();
  topics_cmd
      ->add_option("--topic", topics.topic,
                   "Event topic; the dead-letter topic is TOPIC.dlq")
      ->capture_default_str();
  topics_cmd->add_option("--kafka-config", topics.kafka_config_file,
                         "File of librdkafka properties (name=value lines)");
  topics_cmd
      ->add_option("--timeout", topics_timeout_seconds,
                   "Seconds to wait for the cluster")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* topics_create_cmd =
      topics_cmd->add_subcommand("create", "Create both topics");
  topics_create_cmd->add_option("--partitions", topics.partitions, "Partitions")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  topics_create_cmd
      ->add_option("--replication-factor", topics.replication_factor,
                   "Replicas of each partition")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  topics_create_cmd
      ->add_option("--retention-ms", topics.retention_ms,
                   "retention.ms; -1 keeps everything (the log is the system "
                   "of record)")
      ->capture_default_str();
  auto* topics_describe_cmd = topics_cmd->add_subcommand(
      "describe", "Partitions, replicas and configs of both topics");
  for (auto* sub : {topics_create_cmd, topics_describe_cmd}) sub->fallthrough();

  std::string import_kind;
  std::string import_input = "-";
  std::string import_output = "-";
  auto* import_cmd = app.add_subcommand(
      "import",
      "Convert a public data set to NDJSON events (for kehu produce)");
  import_cmd
      ->add_option("dataset", import_kind,
                   "cdnow, cdnow-sample or online-retail")
      ->required()
      ->check(CLI::IsMember({"cdnow", "cdnow-sample", "online-retail"}));
  import_cmd->add_option("input", import_input, "File, - for stdin")
      ->capture_default_str();
  import_cmd
      ->add_option("-o,--output", import_output, "Output file, - for stdout")
      ->capture_default_str();

  ReplayCommandOptions replay;
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "Rebuild every projection from the log (embedded, or --kafka) into a "
      "fresh store");
  auto* replay_data =
      replay_cmd
          ->add_option("--data", replay.data_dir,
                       "Data directory whose log (DIR/log) is replayed; no "
                       "serve may run on it")
          ->capture_default_str();
  auto* replay_kafka =
      replay_cmd
          ->add_option("--kafka", replay.kafka_brokers,
                       "Kafka bootstrap servers: replay every partition of "
                       "the topic instead of DIR/log (the audit entry goes to "
                       "INTO's trail)")
          ->excludes(replay_data);
  replay_cmd->add_option("--topic", replay.kafka_topic, "Kafka event topic")
      ->needs(replay_kafka)
      ->capture_default_str();
  replay_cmd
      ->add_option("--kafka-config", replay.kafka_config_file,
                   "File of librdkafka properties (name=value lines)")
      ->needs(replay_kafka);
  replay_cmd
      ->add_option("--into", replay.into,
                   "New, empty data directory; the store goes to INTO/store")
      ->required();
  replay_cmd
      ->add_option("--until-offset", replay.until_offset,
                   "Fold offsets below N in every partition")
      ->check(CLI::NonNegativeNumber);
  replay_cmd->add_option(
      "--until", replay.until,
      "Fold only events that occurred at or before this time (YYYY-MM-DD = "
      "midnight UTC, or RFC 3339)");
  replay_cmd->add_option("--fit-as-of", replay.fit_as_of,
                         "Run the population step at this reference time "
                         "(YYYY-MM-DD = midnight UTC, or RFC 3339) after "
                         "folding");
  replay_cmd->add_option("--currency", replay.currency,
                         "Reporting currency of the new store (default: "
                         "DIR/store's on the embedded log, else EUR)");
  replay_cmd
      ->add_option("--threads", replay.threads,
                   "Threads of each stage (partitions read, customers folded)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  replay_cmd->add_option("--batch", replay.batch_records, "Records per commit")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();

  std::string digest_data = "kehu-data";
  std::string digest_store;
  bool digest_families = false;
  auto* digest_cmd = app.add_subcommand(
      "digest",
      "Print a SHA-256 of the projection store's contents (DIR/store)");
  digest_cmd->add_option("--data", digest_data, "Data directory")
      ->capture_default_str();
  digest_cmd->add_option("--store", digest_store,
                         "A store of DIR by name (store, store-2, ...; "
                         "default: the active one)");
  digest_cmd->add_flag("--families", digest_families,
                       "Also each column family's row count and digest");

  SnapshotsCommandOptions snapshots;
  auto* snapshots_cmd = app.add_subcommand(
      "snapshots", "List population snapshots, or backfill missing ones");
  snapshots_cmd->require_subcommand(1);
  snapshots_cmd->add_option("--data", snapshots.data_dir, "Data directory")
      ->capture_default_str();
  auto* snapshots_list_cmd = snapshots_cmd->add_subcommand(
      "list", "The snapshots of DIR/snapshots and their populations");
  bool snapshots_json = false;
  snapshots_list_cmd->add_flag("--json", snapshots_json,
                               "Print canonical JSON");
  auto* snapshots_backfill_cmd = snapshots_cmd->add_subcommand(
      "backfill",
      "Snapshot, by a replay of the log, every period boundary without one "
      "(no serve may run on DIR)");
  snapshots_backfill_cmd
      ->add_option("--every", snapshots.every,
                   "Period whose boundaries get snapshots")
      ->check(CLI::IsMember({"day", "week", "month", "quarter", "year"}))
      ->capture_default_str();
  snapshots_backfill_cmd->add_option("--from", snapshots.from,
                                     "Only boundaries at or after YYYY-MM-DD");
  snapshots_backfill_cmd->add_option("--to", snapshots.to,
                                     "Only boundaries at or before YYYY-MM-DD");
  snapshots_backfill_cmd
      ->add_option("--threads", snapshots.threads, "Threads of each replay")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  for (auto* sub : {snapshots_list_cmd, snapshots_backfill_cmd}) {
    sub->fallthrough();
  }

  ClientOptions client;
  double fit_timeout_seconds = 600;
  auto* fit_cmd = app.add_subcommand(
      "fit",
      "Measure the population (RFM cuts, tiers, lifetime-value models) now");
  fit_cmd->add_option("--server", client.server, "Server address")
      ->capture_default_str();
  fit_cmd->add_option("--as-of", client.as_of,
                      "Reference date YYYY-MM-DD (UTC)");
  fit_cmd->add_option("--timeout", fit_timeout_seconds, "Seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddClientSecurityFlags(fit_cmd, &client_security);

  AdminFlags admin;
  double admin_timeout_seconds = 120;
  auto* admin_cmd = app.add_subcommand(
      "admin", "Rebuild and switch stores while serving; the audit trail");
  admin_cmd->require_subcommand(1);
  admin_cmd->add_option("--server", client.server, "Server address")
      ->capture_default_str();
  admin_cmd->add_flag("--json", client.json, "Print canonical JSON");
  admin_cmd->add_option("--timeout", admin_timeout_seconds, "Seconds per call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddClientSecurityFlags(admin_cmd, &client_security);
  auto* rebuild_cmd = admin_cmd->add_subcommand(
      "rebuild", "Replay the log into a new standby store while serving");
  rebuild_cmd->add_option("--currency", admin.currency,
                          "Reporting currency of the new store (default: the "
                          "active store's)");
  rebuild_cmd->add_flag("--wait", admin.wait,
                        "Show progress until the standby follows the log");
  auto* stores_cmd = admin_cmd->add_subcommand(
      "stores", "The active and the standby store, and how far each is");
  auto* switch_cmd = admin_cmd->add_subcommand(
      "switch", "Make the standby active (once caught up); again to undo");
  auto* drop_cmd = admin_cmd->add_subcommand(
      "drop-standby", "Close and delete the standby store");
  auto* audit_cmd = admin_cmd->add_subcommand(
      "audit", "Administrative actions on the server's data, newest first");
  audit_cmd->add_option("-n,--limit", admin.limit, "Entries")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  auto* backfill_cmd = admin_cmd->add_subcommand(
      "backfill-snapshots",
      "Snapshot, by replays while serving, every period boundary without one");
  backfill_cmd
      ->add_option("--every", admin.every,
                   "Period whose boundaries get snapshots (default: the "
                   "server's --snapshot-every)")
      ->check(CLI::IsMember({"day", "week", "month", "quarter", "year"}));
  backfill_cmd->add_option("--from", admin.from,
                           "Only boundaries at or after YYYY-MM-DD");
  backfill_cmd->add_option("--to", admin.to,
                           "Only boundaries at or before YYYY-MM-DD");
  auto* admin_snapshots_cmd = admin_cmd->add_subcommand(
      "snapshots", "The population snapshots as-of reads use");
  for (auto* sub : {rebuild_cmd, stores_cmd, switch_cmd, drop_cmd, audit_cmd,
                    backfill_cmd, admin_snapshots_cmd}) {
    sub->fallthrough();
  }

  auto* query_cmd = app.add_subcommand("query", "Ask the query service");
  query_cmd->require_subcommand(1);
  query_cmd->add_option("--server", client.server, "Query server address")
      ->capture_default_str();
  query_cmd->add_flag("--json", client.json, "Print canonical JSON");
  AddClientSecurityFlags(query_cmd, &client_security);
  query_cmd->add_option("--as-of", client.as_of,
                        "Reference date YYYY-MM-DD (UTC) of the views");
  double timeout_seconds = 10;
  query_cmd->add_option("--timeout", timeout_seconds, "Seconds per call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  std::string customer_id;
  auto* get_cmd = query_cmd->add_subcommand("get", "One customer's view");
  get_cmd->add_option("customer_id", customer_id, "Customer id")->required();

  std::string metric = "margin";
  int limit = 10;
  auto* top_cmd = query_cmd->add_subcommand("top", "Top customers by a metric");
  top_cmd->add_option("--metric", metric, "revenue, margin or purchases")
      ->check(CLI::IsMember({"revenue", "margin", "purchases"}))
      ->capture_default_str();
  top_cmd->add_option("-n,--limit", limit, "How many")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  ProgressFlags progress;
  auto* progress_cmd = query_cmd->add_subcommand(
      "progress", "How far the projector is behind the log");
  progress_cmd->add_flag("--wait", progress.wait,
                         "Wait until caught up (up to --timeout)");
  progress_cmd->add_flag("--watch", progress.watch,
                         "A line per --interval: events appended to and read "
                         "off the log per second, lag, totals");
  progress_cmd
      ->add_option("--interval", progress.interval_seconds,
                   "Seconds between --watch lines")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  progress_cmd
      ->add_option("--count", progress.count,
                   "--watch lines to print (0: until interrupted)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  int dead_limit = 20;
  std::string page_token;
  auto* dead_cmd = query_cmd->add_subcommand(
      "deadletters", "Events the projector could not fold, with the reason");
  dead_cmd->add_option("-n,--limit", dead_limit, "How many")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  dead_cmd->add_option("--page-token", page_token,
                       "Continue where an earlier listing stopped");

  ListFlags list;
  auto* list_cmd = query_cmd->add_subcommand(
      "list", "The customers of a segment, in an order, a page at a time");
  list_cmd->add_option("--tier", list.tiers,
                       "Pyramid tiers: key,potential,regular,one_time,inactive");
  list_cmd->add_option("--pareto", list.pareto, "key or ordinary")
      ->check(CLI::IsMember({"key", "ordinary"}));
  list_cmd->add_option("--stage", list.stages,
                       "Lifecycle stages: potential,new,repeat,loyal,at_risk,"
                       "churned,won_back");
  list_cmd->add_option("--cell", list.cells,
                       "Value-matrix cells: vip,maintain,improve,abandon");
  list_cmd->add_option("--relationship", list.relationships,
                       "retail_consumer,business,distributor,internal");
  list_cmd->add_option("--region", list.regions, "Regions, comma-separated");
  list_cmd->add_option("--recency-score", list.recency_score, "MIN..MAX, 1-5");
  list_cmd->add_option("--frequency-score", list.frequency_score,
                       "MIN..MAX, 1-5");
  list_cmd->add_option("--monetary-score", list.monetary_score,
                       "MIN..MAX, 1-5");
  list_cmd->add_option("--churn-risk", list.churn_risk, "MIN..MAX, 0-1");
  list_cmd->add_option("--satisfaction", list.satisfaction, "MIN..MAX, 0-100");
  list_cmd->add_option("--open-complaints", list.open_complaints, "yes or no")
      ->check(CLI::IsMember({"yes", "no"}));
  list_cmd
      ->add_option("--order", list.order,
                   "current-value, historical-value, recency, satisfaction "
                   "or churn-risk")
      ->check(CLI::IsMember({"current-value", "historical-value", "recency",
                             "satisfaction", "churn-risk"}))
      ->capture_default_str();
  list_cmd->add_flag("--ascending", list.ascending, "Lowest first");
  list_cmd->add_option("-n,--limit", list.limit, "Page size")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list_cmd->add_option("--page-token", list.page_token,
                       "Continue where an earlier page stopped");
  list_cmd->add_flag("--all", list.all, "Fetch every page");

  std::string summary_by = "tier";
  std::string from_day, to_day;
  auto* summary_cmd = query_cmd->add_subcommand(
      "summary", "Customers, revenue and margin per segment, and transitions");
  summary_cmd
      ->add_option("--by", summary_by,
                   "tier, pareto, stage, cell, relationship or region")
      ->check(CLI::IsMember(
          {"tier", "pareto", "stage", "cell", "relationship", "region"}))
      ->capture_default_str();
  summary_cmd->add_option("--from", from_day,
                          "First month of the transitions (YYYY-MM-DD)");
  summary_cmd->add_option("--to", to_day,
                          "Last month of the transitions (YYYY-MM-DD)");

  std::string timeline_types;
  int timeline_limit = 20;
  std::string timeline_token;
  auto* timeline_cmd = query_cmd->add_subcommand(
      "timeline", "One customer's events, newest first");
  timeline_cmd->add_option("customer_id", customer_id, "Customer id")
      ->required();
  timeline_cmd->add_option(
      "--type", timeline_types,
      "Payload names, comma-separated (order_placed,complaint_filed,...)");
  timeline_cmd->add_option("-n,--limit", timeline_limit, "Page size")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  timeline_cmd->add_option("--page-token", timeline_token,
                           "Continue where an earlier page stopped");

  std::string split = "none";
  auto* satisfaction_cmd = query_cmd->add_subcommand(
      "satisfaction", "CSI, NPS, CSAT, complaints and resolution by month");
  satisfaction_cmd->add_option("--split", split, "none, tier or relationship")
      ->check(CLI::IsMember({"none", "tier", "relationship"}))
      ->capture_default_str();
  satisfaction_cmd->add_option("--from", from_day, "First month (YYYY-MM-DD)");
  satisfaction_cmd->add_option("--to", to_day, "Last month (YYYY-MM-DD)");

  std::string explain_view = "tier";
  int explain_limit = 20;
  auto* explain_cmd = query_cmd->add_subcommand(
      "explain",
      "Why a customer is in a tier, stage or band: facts, thresholds, events");
  explain_cmd->add_option("customer_id", customer_id, "Customer id")
      ->required();
  explain_cmd
      ->add_option("--view", explain_view,
                   "tier, pareto, stage, satisfaction, churn-risk or cell")
      ->check(CLI::IsMember({"tier", "pareto", "stage", "satisfaction",
                             "churn-risk", "cell"}))
      ->capture_default_str();
  explain_cmd
      ->add_option("-n,--limit", explain_limit,
                   "Contributing events listed at most")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  // `kehu query get C1 --server ADDR` as well as `kehu query --server ADDR get
  // C1`.
  for (auto* sub : {get_cmd, top_cmd, progress_cmd, dead_cmd, list_cmd,
                    summary_cmd, timeline_cmd, satisfaction_cmd, explain_cmd})
    sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (produce_cmd->parsed() || fit_cmd->parsed() || query_cmd->parsed() ||
      admin_cmd->parsed()) {
    auto security = LoadClientSecurity(client_security);
    if (!security.ok()) {
      std::cerr << "kehu "
                << (produce_cmd->parsed() ? "produce"
                    : fit_cmd->parsed()   ? "fit"
                    : admin_cmd->parsed() ? "admin"
                                          : "query")
                << ": " << security.status().message() << "\n";
      return kExitError;
    }
    produce.security = *security;
    client.security = *security;
  }

  if (serve_cmd->parsed()) {
    serve.fit_interval = absl::Hours(fit_interval_hours);
    serve.block_cache_bytes = static_cast<size_t>(block_cache_mb) << 20;
    if (no_snapshots) serve.snapshot_poll = absl::ZeroDuration();
    serve.snapshot_period = *ParseSnapshotPeriod(snapshot_every);
    return RunServe(serve);
  }
  if (replay_cmd->parsed()) return RunReplay(replay);
  if (digest_cmd->parsed()) return RunDigest(digest_data, digest_store, digest_families);
  if (snapshots_list_cmd->parsed()) {
    return RunSnapshotsList(snapshots.data_dir, snapshots_json);
  }
  if (snapshots_backfill_cmd->parsed()) return RunSnapshotsBackfill(snapshots);
  if (import_cmd->parsed())
    return RunImport(import_kind, import_input, import_output);
  if (fit_cmd->parsed()) {
    client.timeout = absl::Seconds(fit_timeout_seconds);
    return RunFit(client);
  }
  if (admin_cmd->parsed()) {
    client.timeout = absl::Seconds(admin_timeout_seconds);
    // Each backfill call is a replay of the whole log: an hour unless
    // --timeout says otherwise.
    if (backfill_cmd->parsed() &&
        admin_cmd->get_option("--timeout")->count() == 0) {
      client.timeout = absl::Hours(1);
    }
    admin.command = admin_cmd->get_subcommands().front()->get_name();
    return RunAdmin(client, admin);
  }
  if (sim_cmd->parsed()) {
    absl::Time start;
    if (!ParseDay(sim_start, &start)) {
      std::cerr << "kehu simulate: --start: expected YYYY-MM-DD, got \""
                << sim_start << "\"\n";
      return kExitError;
    }
    sim.start = start;
    return RunSimulate(sim, sim_output);
  }
  if (produce_cmd->parsed()) return RunProduce(produce);
  topics.timeout = absl::Seconds(topics_timeout_seconds);
  if (topics_create_cmd->parsed()) return RunTopicsCreate(topics);
  if (topics_describe_cmd->parsed()) return RunTopicsDescribe(topics);
  client.timeout = absl::Seconds(timeout_seconds);
  if (get_cmd->parsed()) return RunQueryGet(client, customer_id);
  if (top_cmd->parsed()) return RunQueryTop(client, metric, limit);
  if (progress_cmd->parsed()) return RunQueryProgress(client, progress);
  if (dead_cmd->parsed())
    return RunQueryDeadLetters(client, dead_limit, page_token);
  if (list_cmd->parsed()) return RunQueryList(client, list);
  if (summary_cmd->parsed())
    return RunQuerySummary(client, summary_by, from_day, to_day);
  if (timeline_cmd->parsed()) {
    return RunQueryTimeline(client, customer_id, timeline_types,
                            timeline_limit, timeline_token);
  }
  if (satisfaction_cmd->parsed())
    return RunQuerySatisfaction(client, split, from_day, to_day);
  if (explain_cmd->parsed()) {
    return RunQueryExplain(client, customer_id, explain_view, explain_limit);
  }
  return kExitError;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
