// The `kehu` binary on Kafka, run as a child process against librdkafka's
// mock cluster in this test process (or the cluster named by
// KEHU_KAFKA_BROKERS): `produce --kafka`, `serve --kafka`, `topics`.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/kafka_log.h"
#include "producers/ndjson.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/kafka_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using testing::KafkaBackend;
using testing::KafkaTestCluster;
using testing::Subprocess;
using testing::TempDir;

// Runs kehu to its end; returns the exit code and fills `err` (and `out`,
// when given, with its standard output).
int RunKehu(const std::vector<std::string>& args, std::string* err,
            std::string* out = nullptr) {
  TempDir dir;
  std::vector<std::string> argv = {KEHU_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  if (out != nullptr) {
    // Subprocess discards stdout: send it to a file through the shell.
    std::string command;
    for (const auto& a : argv) command += "'" + a + "' ";
    command += "> '" + dir.Sub("stdout") + "'";
    argv = {"/bin/sh", "-c", command};
  }
  Subprocess kehu(argv);
  int code = kehu.Wait();
  *err = kehu.stderr_text();
  if (out != nullptr) {
    std::stringstream text;
    text << std::ifstream(dir.Sub("stdout")).rdbuf();
    *out = text.str();
  }
  return code;
}

class KafkaCliTest : public ::testing::TestWithParam<KafkaBackend> {
 protected:
  void SetUp() override {
    KEHU_SKIP_UNLESS_KAFKA_BACKEND(GetParam());
    ASSERT_OK_AND_ASSIGN(cluster_, KafkaTestCluster::Start(GetParam()));
    ASSERT_OK_AND_ASSIGN(topic_, cluster_->CreateTopic("cli", 3));
  }

  // The test's librdkafka properties as a config file.
  std::string ConfigFile(const TempDir& dir) const {
    std::ofstream file(dir.Sub("kafka.properties"));
    file << "# written by the test\n";
    for (const auto& p : cluster_->properties()) {
      file << p.name << "=" << p.value << "\n";
    }
    return dir.Sub("kafka.properties");
  }

  std::unique_ptr<KafkaTestCluster> cluster_;
  std::string topic_;
};

TEST_P(KafkaCliTest, ProduceWritesValidEventsStraightToTheTopic) {
  TempDir dir;
  {
    std::ofstream ndjson(dir.Sub("events.ndjson"));
    using namespace kehu::testing;  // NOLINT: event builders
    for (const auto& e : {Registered("e1", "C1", 0), Registered("e2", "C2", 0),
                          Order("e3", "C1", 1, "O1", {{"A", -2, 100}}),
                          Order("e4", "C2", 2, "O2", {{"A", 1, 100}})}) {
      ndjson << *producers::ToNdjsonLine(e);
    }
  }
  std::string err;
  EXPECT_EQ(RunKehu({"produce", dir.Sub("events.ndjson"), "--kafka",
                     cluster_->brokers(), "--topic", topic_, "--kafka-config",
                     ConfigFile(dir)},
                    &err),
            2)
      << err;
  EXPECT_THAT(err, HasSubstr("line 3 (event e3): order_placed.lines[0]."
                             "quantity"));
  EXPECT_THAT(err, HasSubstr("3 accepted, 1 rejected"));

  infra::KafkaLogOptions options;
  options.brokers = cluster_->brokers();
  options.topic = topic_;
  ASSERT_OK_AND_ASSIGN(auto log, infra::KafkaLog::Open(options));
  int64_t records = 0;
  for (int32_t p = 0; p < log->partition_count(); ++p) {
    records += log->EndOffset(p);
  }
  EXPECT_EQ(records, 3);
}

TEST_P(KafkaCliTest, ServeOnKafkaStartsAndStopsCleanly) {
  TempDir dir;
  Subprocess kehu({KEHU_BINARY, "serve", "--kafka", cluster_->brokers(),
                   "--topic", topic_, "--group", topic_ + "-g", "--data",
                   dir.Sub("data"), "--listen", "127.0.0.1:0", "--kafka-config",
                   ConfigFile(dir)});
  EXPECT_THAT(kehu.ReadStderrUntil("listening on"),
              HasSubstr("3 partitions of Kafka topic " + topic_));
  kehu.Signal(SIGTERM);
  EXPECT_EQ(kehu.Wait(), 0) << kehu.stderr_text();
  EXPECT_THAT(kehu.stderr_text(), HasSubstr("stopped cleanly"));
}

TEST_P(KafkaCliTest, BadKafkaConfigStopsServeWithOneClearMessage) {
  TempDir dir;
  std::ofstream(dir.Sub("bad.properties")) << "acks=1\n";
  std::string err;
  EXPECT_EQ(RunKehu({"serve", "--kafka", cluster_->brokers(), "--topic", topic_,
                     "--data", dir.Sub("data"), "--listen", "127.0.0.1:0",
                     "--kafka-config", dir.Sub("bad.properties")},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("kehu serve: " + dir.Sub("bad.properties") +
                             ":1: property acks"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_P(KafkaCliTest, TopicsDescribeListsPartitionsAndReplicas) {
  std::string err;
  std::string out;
  // The mock cluster does not answer DescribeConfigs: keep its wait short.
  const int code =
      RunKehu({"topics", "describe", "--kafka", cluster_->brokers(), "--topic",
               topic_, "--timeout", "1"},
              &err, &out);
  EXPECT_THAT(out, HasSubstr("topic " + topic_ + ": 3 partitions"));
  EXPECT_THAT(out, HasSubstr("partition 2  leader "));
  EXPECT_THAT(out, HasSubstr("in-sync "));
  // No dead-letter topic was created here.
  EXPECT_EQ(code, cluster_->mock() != nullptr ? 0 : 1) << err;
}

TEST_P(KafkaCliTest, TopicsCreateMakesTheEventAndDeadLetterTopics) {
  if (cluster_->mock() != nullptr) {
    GTEST_SKIP() << "the mock cluster does not implement CreateTopics";
  }
  const std::string topic = topic_ + "-created";
  std::string err;
  ASSERT_EQ(
      RunKehu({"topics", "create", "--kafka", cluster_->brokers(), "--topic",
               topic, "--partitions", "4", "--replication-factor", "1"},
              &err),
      0)
      << err;
  EXPECT_THAT(err, HasSubstr("created event topic " + topic));
  EXPECT_THAT(err, HasSubstr("created dead-letter topic " + topic + ".dlq"));
  // Creating again leaves them alone.
  EXPECT_EQ(RunKehu({"topics", "create", "--kafka", cluster_->brokers(),
                     "--topic", topic},
                    &err),
            0);
  EXPECT_THAT(err, HasSubstr("exists already"));
  std::string out;
  ASSERT_EQ(RunKehu({"topics", "describe", "--kafka", cluster_->brokers(),
                     "--topic", topic},
                    &err, &out),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("topic " + topic + ": 4 partitions"));
  EXPECT_THAT(out, HasSubstr("retention.ms=-1"));
}

// The first word of `kehu digest --data DIR`'s output; "" on error.
std::string DigestOf(const std::string& data_dir) {
  std::string err;
  std::string out;
  if (RunKehu({"digest", "--data", data_dir}, &err, &out) != 0) {
    ADD_FAILURE() << err;
    return "";
  }
  return out.substr(0, out.find_first_of(" \n"));
}

TEST_P(KafkaCliTest, ReplayOfTheTopicGivesTheStoreOfTheSameEventsReplayed) {
  TempDir dir;
  std::string err;
  ASSERT_EQ(RunKehu({"simulate", "--customers", "60", "--seed", "4", "-o",
                     dir.Sub("events.ndjson")},
                    &err),
            0)
      << err;
  // The same events on the topic and, with as many partitions, on an
  // embedded log: each partition gets the same records in the same order.
  ASSERT_EQ(RunKehu({"produce", dir.Sub("events.ndjson"), "--kafka",
                     cluster_->brokers(), "--topic", topic_, "--kafka-config",
                     ConfigFile(dir)},
                    &err),
            0)
      << err;
  ASSERT_EQ(RunKehu({"produce", dir.Sub("events.ndjson"), "--data",
                     dir.Sub("embedded"), "--partitions", "3"},
                    &err),
            0)
      << err;

  std::string out;
  ASSERT_EQ(RunKehu({"replay", "--kafka", cluster_->brokers(), "--topic",
                     topic_, "--kafka-config", ConfigFile(dir), "--into",
                     dir.Sub("from-kafka"), "--fit-as-of", "2026-01-01",
                     "--currency", "USD"},
                    &err, &out),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("events/s) into " + dir.Sub("from-kafka")));
  EXPECT_THAT(out,
              HasSubstr("reporting currency USD, from Kafka topic " + topic_));
  EXPECT_THAT(out, HasSubstr("population as of 2026-01-01"));
  ASSERT_EQ(RunKehu({"replay", "--data", dir.Sub("embedded"), "--into",
                     dir.Sub("from-embedded"), "--fit-as-of", "2026-01-01",
                     "--currency", "USD"},
                    &err),
            0)
      << err;
  const std::string from_kafka = DigestOf(dir.Sub("from-kafka"));
  EXPECT_EQ(from_kafka.size(), 64u);
  EXPECT_EQ(from_kafka, DigestOf(dir.Sub("from-embedded")));

  // There is no log directory to keep the audit entry: the new data
  // directory keeps it, for the `serve --kafka` that will use it.
  std::stringstream audit;
  audit << std::ifstream(dir.Sub("from-kafka/audit.ndjson")).rdbuf();
  EXPECT_THAT(audit.str(), HasSubstr("\"action\":\"replay\""));
  EXPECT_THAT(audit.str(), HasSubstr("\"topic\":\"" + topic_ + "\""));

  // A server of a new consumer group starts on the replayed store where
  // the replay stopped: it folds what came since, and nothing twice.
  {
    std::ofstream more(dir.Sub("more.ndjson"));
    more << *producers::ToNdjsonLine(testing::Registered("late-1", "late", 0));
  }
  ASSERT_EQ(RunKehu({"produce", dir.Sub("more.ndjson"), "--kafka",
                     cluster_->brokers(), "--topic", topic_, "--kafka-config",
                     ConfigFile(dir)},
                    &err),
            0)
      << err;
  Subprocess server({KEHU_BINARY, "serve", "--kafka", cluster_->brokers(),
                     "--topic", topic_, "--group", topic_ + "-replayed",
                     "--data", dir.Sub("from-kafka"), "--listen", "127.0.0.1:0",
                     "--kafka-config", ConfigFile(dir), "--fit-interval-hours",
                     "0", "--no-snapshots", "--currency", "USD"});
  const std::string listening = server.ReadStderrUntil("listening on ");
  const size_t begin = listening.find("listening on ") + 13;
  ASSERT_NE(listening.find("listening on "), std::string::npos)
      << server.stderr_text();
  const std::string address =
      listening.substr(begin, listening.find(',', begin) - begin);
  ASSERT_EQ(RunKehu({"query", "progress", "--wait", "--timeout", "120",
                     "--server", address},
                    &err, &out),
            0)
      << err;
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(), 0) << server.stderr_text();
  // The last line: "all", lag, folded, duplicates, dead letters.
  std::istringstream all(out.substr(out.rfind("all")));
  std::string label;
  int64_t lag = -1, folded = -1, duplicates = -1;
  all >> label >> lag >> folded >> duplicates;
  std::ifstream events(dir.Sub("events.ndjson"));
  const int64_t simulated = std::count(std::istreambuf_iterator<char>(events),
                                       std::istreambuf_iterator<char>(), '\n');
  EXPECT_EQ(lag, 0) << out;
  EXPECT_EQ(folded, simulated + 1) << out;
  EXPECT_EQ(duplicates, 0) << out;

  // A bad property, or (on a real cluster, since the mock one creates
  // any topic a client asks about) a topic that is not there: said so,
  // and nothing is made.
  std::ofstream(dir.Sub("bad.properties")) << "fetch.wait.max.ms=soon\n";
  EXPECT_EQ(RunKehu({"replay", "--kafka", cluster_->brokers(), "--topic",
                     topic_, "--kafka-config", dir.Sub("bad.properties"),
                     "--into", dir.Sub("nothing")},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr(dir.Sub("bad.properties") +
                             ":1: property fetch.wait.max.ms"));
  if (cluster_->mock() == nullptr) {
    EXPECT_EQ(RunKehu({"replay", "--kafka", cluster_->brokers(), "--topic",
                       topic_ + "-missing", "--kafka-config", ConfigFile(dir),
                       "--into", dir.Sub("nothing")},
                      &err),
              1);
    EXPECT_THAT(err, HasSubstr("Kafka topic " + topic_ + "-missing"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("nothing")));
  // The log is the topic or DIR/log, not both.
  EXPECT_NE(RunKehu({"replay", "--kafka", cluster_->brokers(), "--data",
                     dir.Sub("embedded"), "--into", dir.Sub("both")},
                    &err),
            0);
  EXPECT_THAT(err, HasSubstr("--data"));
  EXPECT_NE(
      RunKehu({"replay", "--topic", topic_, "--into", dir.Sub("topic")}, &err),
      0);
  EXPECT_THAT(err, HasSubstr("--kafka"));
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaCliTest,
                         ::testing::Values(KafkaBackend::kMock,
                                           KafkaBackend::kReal),
                         testing::KafkaBackendName);

}  // namespace
}  // namespace kehu
