#include <algorithm>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "infra/app/audit_trail.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"
#include "infra/app/serving_stores.h"
#include "infra/kafka_config.h"
#include "infra/kafka_log.h"
#include "infra/projection_store.h"
#include "projections/replay.h"

namespace kehu::app {
namespace {

// Partitions a replay of a Kafka topic reads at once, at most.
constexpr int32_t kKafkaReaders = 16;

}  // namespace

int RunReplay(const ReplayCommandOptions& options) {
  auto fail = [](const std::string& message) {
    std::cerr << "kehu replay: " << message << "\n";
    return kExitError;
  };
  if (options.into.empty()) return fail("--into: a new directory is required");
  projections::ReplayOptions replay;
  if (options.until_offset >= 0) replay.until_offset = options.until_offset;
  if (!options.until.empty()) {
    absl::Time until;
    if (!ParseDayOrTime(options.until, &until)) {
      return fail(
          absl::StrCat("--until: expected YYYY-MM-DD or an RFC 3339 time "
                       "(2025-03-31T23:59:59Z), got \"",
                       options.until, "\""));
    }
    replay.until = until;
  }
  if (!options.fit_as_of.empty()) {
    absl::Time as_of;
    if (!ParseDayOrTime(options.fit_as_of, &as_of)) {
      return fail(absl::StrCat(
          "--fit-as-of: expected YYYY-MM-DD or an RFC 3339 time, got \"",
          options.fit_as_of, "\""));
    }
    replay.fit_as_of = as_of;
  }
  replay.threads = options.threads;
  replay.batch_records = static_cast<size_t>(options.batch_records);

  std::error_code ec;
  if (std::filesystem::exists(options.into, ec) &&
      (!std::filesystem::is_directory(options.into, ec) ||
       !std::filesystem::is_empty(options.into, ec))) {
    return fail(absl::StrCat("--into ", options.into,
                             ": exists and is not an empty directory; a "
                             "replay builds a fresh store"));
  }
  const bool on_kafka = !options.kafka_brokers.empty();
  const std::string store_dir = options.into + "/store";
  infra::ProjectionStoreOptions store_options;
  store_options.reporting_currency = options.currency;
  if (store_options.reporting_currency.empty() && !on_kafka) {
    store_options.reporting_currency = ActiveStoreCurrency(options.data_dir);
  }
  if (store_options.reporting_currency.empty()) {
    store_options.reporting_currency = "EUR";
  }

  absl::StatusOr<projections::ReplayResult> result;
  if (on_kafka) {
    infra::KafkaLogOptions log_options;
    log_options.brokers = options.kafka_brokers;
    log_options.topic = options.kafka_topic;
    log_options.read_only = true;
    if (!options.kafka_config_file.empty()) {
      auto properties = infra::LoadKafkaProperties(options.kafka_config_file);
      if (!properties.ok()) {
        return fail(std::string(properties.status().message()));
      }
      log_options.properties = std::move(*properties);
    }
    // Nothing is written before the topic is known to be there.
    auto log = infra::KafkaLog::Open(log_options);
    if (!log.ok()) return fail(std::string(log.status().message()));
    // Reading a partition mostly waits for the brokers: read them all at
    // once (up to 16), whatever --threads gives the other stages.
    replay.read_threads = std::max(
        replay.threads, std::min((*log)->partition_count(), kKafkaReaders));
    ReplayProgressDisplay progress("replay", "", &replay);
    result = projections::ReplayIntoNewStore(log->get(), store_dir,
                                             store_options, replay);
  } else {
    ReplayProgressDisplay progress("replay", "", &replay);
    result = projections::ReplayEmbeddedLog(options.data_dir + "/log",
                                            store_dir, store_options, replay);
  }
  // The replay of DIR's log goes into DIR's audit trail (a log that is not
  // there has no trail to write to); a replay of a Kafka topic into INTO's,
  // the data directory a `serve --kafka` of the new store will use.
  if (!absl::IsNotFound(result.status())) {
    admin::v1::AuditEntry entry;
    entry.set_action("replay");
    entry.set_caller(LocalUserCaller());
    entry.set_outcome(result.ok() ? "ok"
                                  : std::string(result.status().message()));
    auto& args = *entry.mutable_arguments();
    args["into"] = options.into;
    if (on_kafka) {
      args["kafka"] = options.kafka_brokers;
      args["topic"] = options.kafka_topic;
    }
    args["currency"] = store_options.reporting_currency;
    if (!options.until.empty()) args["until"] = options.until;
    if (options.until_offset >= 0) {
      args["until_offset"] = absl::StrCat(options.until_offset);
    }
    if (!options.fit_as_of.empty()) args["fit_as_of"] = options.fit_as_of;
    if (result.ok()) {
      entry.set_detail(absl::StrCat(result->records, " records, ",
                                    result->folded, " folded"));
    }
    absl::Status recorded =
        AuditTrail(on_kafka ? options.into : options.data_dir).Record(entry);
    if (!recorded.ok()) {
      std::cerr << "kehu replay: not recorded in the audit trail: "
                << recorded.message() << "\n";
    }
  }
  if (!result.ok()) {
    if (absl::IsNotFound(result.status())) {
      return fail(absl::StrCat("--data ", options.data_dir, ": ",
                               result.status().message()));
    }
    return fail(std::string(result.status().message()));
  }

  const double seconds = absl::ToDoubleSeconds(result->fold_time);
  std::cout << absl::StrFormat(
      "replayed %d events in %.2f s (%.0f events/s) into %s\n", result->records,
      seconds, seconds > 0 ? result->records / seconds : 0.0, store_dir);
  std::cout << "  reporting currency " << store_options.reporting_currency
            << (on_kafka
                    ? absl::StrCat(", from Kafka topic ", options.kafka_topic)
                    : std::string())
            << "\n";
  std::cout << absl::StrFormat(
      "  reading the log %.2f s, folding by customer %.2f s, ordered rows "
      "%.2f s\n",
      absl::ToDoubleSeconds(result->read_time),
      absl::ToDoubleSeconds(result->customer_time),
      absl::ToDoubleSeconds(result->ordered_time));
  std::cout << "  up to offsets " << absl::StrJoin(result->stop_offsets, ",")
            << " (per partition)\n";
  std::cout << absl::StrFormat(
      "  %d folded, %d duplicates, %d dead-lettered, %d unknown, %d after "
      "the cut\n",
      result->folded, result->duplicates, result->dead_lettered,
      result->unknown_skipped, result->after_cut);
  if (result->fit.has_value()) {
    google::protobuf::Timestamp as_of;
    as_of.set_seconds(result->fit->population.as_of_us() / 1000000);
    std::cout << absl::StrFormat(
        "  population as of %s: %d customers with purchases, %d standings "
        "refreshed (%.2f s)\n",
        FormatDate(as_of), result->fit->population.purchasing_customers(),
        result->fit->indexed_customers,
        absl::ToDoubleSeconds(result->fit_time));
  }
  return kExitOk;
}

}  // namespace kehu::app
