#include "infra/kafka_status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kehu::infra {
namespace {

using ::testing::HasSubstr;

TEST(KafkaStatusTest, NoErrorIsOk) {
  EXPECT_TRUE(FromKafka(RD_KAFKA_RESP_ERR_NO_ERROR, "anything").ok());
  EXPECT_TRUE(FromKafkaError(nullptr, "anything").ok());
}

TEST(KafkaStatusTest, MessageSaysWhatKehuDidWhatKafkaSaidAndTheErrorName) {
  absl::Status s =
      FromKafka(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, "appending to t");
  EXPECT_THAT(s.message(), HasSubstr("appending to t: "));
  EXPECT_THAT(
      s.message(),
      HasSubstr(rd_kafka_err2str(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)));
  EXPECT_THAT(s.message(), HasSubstr("(NOT_ENOUGH_REPLICAS)"));
}

TEST(KafkaStatusTest, ErrorsMapToWhatACallerCanActOn) {
  struct Case {
    rd_kafka_resp_err_t err;
    absl::StatusCode code;
  } cases[] = {
      {RD_KAFKA_RESP_ERR__TRANSPORT, absl::StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, absl::StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
       absl::StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, absl::StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, absl::StatusCode::kDeadlineExceeded},
      {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
       absl::StatusCode::kDeadlineExceeded},
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, absl::StatusCode::kNotFound},
      {RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
       absl::StatusCode::kAlreadyExists},
      {RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
       absl::StatusCode::kUnauthenticated},
      {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
       absl::StatusCode::kPermissionDenied},
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
       absl::StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR,
       absl::StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR__QUEUE_FULL, absl::StatusCode::kResourceExhausted},
      {RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
      {RD_KAFKA_RESP_ERR__DESTROY, absl::StatusCode::kCancelled},
      {RD_KAFKA_RESP_ERR__FATAL, absl::StatusCode::kAborted},
      {RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION, absl::StatusCode::kUnimplemented},
      {RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
       absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FromKafka(c.err, "x").code(), c.code) << rd_kafka_err2name(c.err);
  }
}

TEST(KafkaStatusTest, ErrorObjectsKeepTheirOwnMessage) {
  rd_kafka_error_t* error = rd_kafka_error_new(
      RD_KAFKA_RESP_ERR__STATE, "assignment changed by %s", "someone");
  absl::Status s = FromKafkaError(error, "assigning");
  rd_kafka_error_destroy(error);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("assigning: assignment changed by someone"));
  EXPECT_THAT(s.message(), HasSubstr("_STATE"));
}

}  // namespace
}  // namespace kehu::infra
