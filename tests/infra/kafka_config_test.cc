#include "infra/kafka_config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using ::testing::HasSubstr;

TEST(KafkaConfigTest, ParsesNameValueLinesSkippingCommentsAndBlanks) {
  ASSERT_OK_AND_ASSIGN(KafkaProperties p,
                       ParseKafkaProperties("# TLS to the cluster\n"
                                            "\n"
                                            "  security.protocol = SASL_SSL \n"
                                            "sasl.password=se#cr=et\r\n"
                                            "   # indented comment\n"
                                            "linger.ms=20",
                                            "kafka.properties"));
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "security.protocol");
  EXPECT_EQ(p[0].value, "SASL_SSL");
  EXPECT_EQ(p[0].origin, "kafka.properties:3");
  // Only whole lines are comments: '#' and '=' inside a value stay.
  EXPECT_EQ(p[1].name, "sasl.password");
  EXPECT_EQ(p[1].value, "se#cr=et");
  EXPECT_EQ(p[2].origin, "kafka.properties:6");
}

TEST(KafkaConfigTest, LineWithoutEqualsSignIsRejectedByLine) {
  auto p = ParseKafkaProperties("linger.ms=5\nacks all\n", "f.properties");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("f.properties:2"));
  EXPECT_THAT(p.status().message(), HasSubstr("acks all"));
  EXPECT_FALSE(ParseKafkaProperties("=5\n", "f").ok());
}

TEST(KafkaConfigTest, MissingFileIsNotFoundAndNamed) {
  auto p = LoadKafkaProperties("/nonexistent/kafka.properties");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(p.status().message(), HasSubstr("/nonexistent/kafka.properties"));
}

TEST(KafkaConfigTest, FileIsLoaded) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("k.properties")) << "client.id=crm-eu\n";
  ASSERT_OK_AND_ASSIGN(KafkaProperties p,
                       LoadKafkaProperties(dir.Sub("k.properties")));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].origin, dir.Sub("k.properties") + ":1");
}

TEST(KafkaConfigTest, ProducerGetsKehusGuaranteesAndDefaults) {
  ASSERT_OK_AND_ASSIGN(KafkaConfPtr conf,
                       MakeKafkaConf(KafkaRole::kProducer, "b1:9092", {}));
  EXPECT_EQ(GetKafkaProperty(conf.get(), "enable.idempotence"), "true");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "acks"), "-1");  // = all
  EXPECT_EQ(GetKafkaProperty(conf.get(), "partitioner"), "murmur2_random");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "compression.type"), "lz4");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "bootstrap.servers"), "b1:9092");
}

TEST(KafkaConfigTest, GroupConsumerGetsManualOffsetsAndCooperativeSticky) {
  ASSERT_OK_AND_ASSIGN(
      KafkaConfPtr conf,
      MakeKafkaConf(KafkaRole::kGroupConsumer, "b1:9092", {}, "crm"));
  EXPECT_EQ(GetKafkaProperty(conf.get(), "group.id"), "crm");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "enable.auto.commit"), "false");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "isolation.level"), "read_committed");
  EXPECT_EQ(GetKafkaProperty(conf.get(), "partition.assignment.strategy"),
            "cooperative-sticky");
  // librdkafka stores "earliest" as its synonym "smallest".
  EXPECT_EQ(GetKafkaProperty(conf.get(), "auto.offset.reset"), "smallest");
}

// Security settings need no code: whatever librdkafka accepts passes
// through, for every kind of client.
TEST(KafkaConfigTest, AnyLibrdkafkaPropertyPassesThrough) {
  ASSERT_OK_AND_ASSIGN(
      KafkaProperties user,
      ParseKafkaProperties("security.protocol=SASL_SSL\n"
                           "sasl.mechanisms=SCRAM-SHA-512\n"
                           "sasl.username=kehu\n"
                           "sasl.password=p#ss\n"
                           "ssl.endpoint.identification.algorithm=none\n"
                           "linger.ms=50\n",
                           "f"));
  for (KafkaRole role : {KafkaRole::kProducer, KafkaRole::kReader,
                         KafkaRole::kGroupConsumer, KafkaRole::kAdmin}) {
    ASSERT_OK_AND_ASSIGN(KafkaConfPtr conf,
                         MakeKafkaConf(role, "b1:9093", user, "g"));
    EXPECT_EQ(GetKafkaProperty(conf.get(), "security.protocol"), "sasl_ssl");
    EXPECT_EQ(GetKafkaProperty(conf.get(), "sasl.mechanisms"), "SCRAM-SHA-512");
    EXPECT_EQ(GetKafkaProperty(conf.get(), "sasl.username"), "kehu");
    EXPECT_EQ(GetKafkaProperty(conf.get(), "linger.ms"), "50");
  }
}

TEST(KafkaConfigTest, UnknownOrBadPropertyIsNamedWithItsOrigin) {
  auto unknown = MakeKafkaConf(KafkaRole::kProducer, "b1",
                               {{"lingr.ms", "5", "k.properties:7"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("k.properties:7"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("lingr.ms"));

  auto bad = MakeKafkaConf(KafkaRole::kProducer, "b1",
                           {{"compression.type", "rar", "k.properties:2"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("compression.type"));
}

TEST(KafkaConfigTest, RequiredPropertiesCannotBeWeakenedEvenByAlias) {
  for (const KafkaProperty& p : std::vector<KafkaProperty>{
           {"acks", "1", "k:1"},
           {"request.required.acks", "1", "k:1"},
           {"enable.idempotence", "false", "k:1"},
           {"partitioner", "consistent_random", "k:1"}}) {
    auto conf = MakeKafkaConf(KafkaRole::kProducer, "b1", {p});
    ASSERT_FALSE(conf.ok()) << p.name;
    EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(conf.status().message(), HasSubstr("property " + p.name));
  }
  auto commit = MakeKafkaConf(KafkaRole::kGroupConsumer, "b1",
                              {{"enable.auto.commit", "true", "k:3"}}, "g");
  ASSERT_FALSE(commit.ok());
  EXPECT_THAT(commit.status().message(), HasSubstr("enable.auto.commit"));
  auto group = MakeKafkaConf(KafkaRole::kGroupConsumer, "b1",
                             {{"group.id", "other", "k:4"}}, "g");
  EXPECT_THAT(group.status().message(), HasSubstr("--group"));
  auto brokers = MakeKafkaConf(KafkaRole::kProducer, "b1",
                               {{"bootstrap.servers", "b2", "k:5"}});
  EXPECT_THAT(brokers.status().message(), HasSubstr("--kafka"));

  // Restating a required value is fine.
  EXPECT_OK(MakeKafkaConf(KafkaRole::kProducer, "b1", {{"acks", "all", "k"}}));
}

TEST(KafkaConfigTest, FileMayNameTheBrokersWhenTheFlagDoesNot) {
  ASSERT_OK_AND_ASSIGN(
      KafkaConfPtr conf,
      MakeKafkaConf(KafkaRole::kProducer, "",
                    {{"bootstrap.servers", "b2:9092", "k:1"}}));
  EXPECT_EQ(GetKafkaProperty(conf.get(), "bootstrap.servers"), "b2:9092");
}

}  // namespace
}  // namespace kehu::infra
