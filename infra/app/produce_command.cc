#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "infra/app/client_channel.h"
#include "infra/app/commands.h"
#include "infra/embedded_log.h"
#include "infra/event_validation.h"
#include "infra/kafka_producer.h"
#include "producers/ndjson.h"
#include "producers/publisher.h"

namespace kehu::app {

int RunSimulate(const producers::SimulatorOptions& options,
                const std::string& output) {
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (output != "-") {
    file.open(output);
    if (!file) {
      std::cerr << "kehu simulate: cannot write " << output << "\n";
      return kExitError;
    }
    out = &file;
  }
  producers::Simulator simulator(options);
  absl::Status s = simulator.Run([&](const events::v1::Event& event) {
    auto line = producers::ToNdjsonLine(event);
    if (!line.ok()) return line.status();
    *out << *line;
    if (!*out) return absl::UnavailableError("output closed");
    return absl::OkStatus();
  });
  out->flush();
  if (!s.ok()) {
    std::cerr << "kehu simulate: " << s.message() << "\n";
    return kExitError;
  }
  const auto& stats = simulator.stats();
  std::cerr << "kehu simulate: " << stats.events << " events ("
            << stats.orders_placed << " orders, " << stats.orders_returned
            << " returns, " << stats.complaints_filed << " complaints, "
            << stats.surveys_answered << " surveys) for " << options.customers
            << " customers over " << options.days << " days\n";
  return kExitOk;
}

namespace {

// Reads NDJSON from `in` and publishes every event that parses through
// `publisher`; prints the rejections (line, event, field, reason) and the
// counts. `where` follows the counts (e.g. the Kafka topic).
int Publish(const ProduceOptions& options, std::istream* in,
            producers::Publisher* publisher, const std::string& where) {
  producers::NdjsonReader reader(in);
  // The input line of each event the publisher took, by publisher index.
  std::vector<int64_t> lines;
  int64_t bad_lines = 0;
  int listed = 0;
  events::v1::Event event;
  while (true) {
    absl::StatusOr<bool> got = reader.Next(&event);
    if (!got.ok()) {
      ++bad_lines;
      if (listed++ < options.max_listed_rejections) {
        std::cerr << "kehu produce: " << got.status().message() << "\n";
      }
      if (got.status().code() == absl::StatusCode::kDataLoss) break;
      continue;
    }
    if (!*got) break;
    absl::Status s = publisher->Add(std::move(event));
    if (!s.ok()) {
      std::cerr << "kehu produce: " << s.message() << "\n";
      return kExitError;
    }
    lines.push_back(reader.line_number());
  }
  absl::Status s = publisher->Flush();
  if (!s.ok()) {
    std::cerr << "kehu produce: " << s.message() << "\n";
    return kExitError;
  }
  const auto& report = publisher->report();
  for (const auto& r : report.rejections) {
    if (listed++ >= options.max_listed_rejections) break;
    std::cerr << "kehu produce: line " << lines[r.index] << " (event "
              << r.event_id << "): " << r.field << ": " << r.reason << "\n";
  }
  const int64_t rejected = report.rejected + bad_lines;
  std::cerr << "kehu produce: " << report.accepted << " accepted, " << rejected
            << " rejected" << where << "\n";
  return rejected == 0 ? kExitOk : kExitSomeRejected;
}

// `kehu produce --kafka`: validates each event as the ingest API does and
// produces the valid ones to the topic in batches, each record's delivery
// checked.
int ProduceToKafka(const ProduceOptions& options, std::istream* in) {
  infra::KafkaProducerOptions producer_options;
  producer_options.brokers = options.kafka_brokers;
  producer_options.topic = options.kafka_topic;
  if (!options.kafka_config_file.empty()) {
    auto properties = infra::LoadKafkaProperties(options.kafka_config_file);
    if (!properties.ok()) {
      std::cerr << "kehu produce: " << properties.status().message() << "\n";
      return kExitError;
    }
    producer_options.properties = std::move(*properties);
  }
  auto producer = infra::KafkaProducer::Create(producer_options);
  if (!producer.ok()) {
    std::cerr << "kehu produce: " << producer.status().message() << "\n";
    return kExitError;
  }
  producers::PublisherOptions publisher_options;
  publisher_options.max_batch_events = options.batch_events;
  producers::Publisher publisher(producer->get(), publisher_options);
  return Publish(options, in, &publisher,
                 absl::StrCat(" (Kafka topic ", options.kafka_topic, ")"));
}

// `kehu produce --data DIR`: validates each event as the ingest API does
// and appends the valid ones to DIR/log in batches, each durable before
// the next is read.
int ProduceToLog(const ProduceOptions& options, std::istream* in) {
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = options.partitions;
  const std::string dir = options.data_dir + "/log";
  auto log = infra::EmbeddedLog::Open(dir, log_options);
  if (!log.ok()) {
    std::cerr << "kehu produce: --data " << options.data_dir
              << ": cannot open the log " << dir
              << " (a running kehu serve holds it: stop it first, or "
                 "produce through --server): "
              << log.status().message() << "\n";
    return kExitError;
  }
  producers::PublisherOptions publisher_options;
  publisher_options.max_batch_events = options.batch_events;
  producers::Publisher publisher(log->get(), "embedded log " + dir,
                                 publisher_options);
  return Publish(options, in, &publisher, absl::StrCat(" (", dir, ")"));
}

}  // namespace

int RunProduce(const ProduceOptions& options) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.input != "-") {
    file.open(options.input);
    if (!file) {
      std::cerr << "kehu produce: cannot read " << options.input << "\n";
      return kExitError;
    }
    in = &file;
  }
  if (!options.kafka_brokers.empty()) return ProduceToKafka(options, in);
  if (!options.data_dir.empty()) return ProduceToLog(options, in);
  producers::PublisherOptions publisher_options;
  publisher_options.max_batch_events = options.batch_events;
  producers::Publisher publisher(
      MakeClientChannel(options.server, options.security), options.server,
      publisher_options);
  return Publish(options, in, &publisher, "");
}

}  // namespace kehu::app
