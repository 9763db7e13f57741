// infra/scripts/grpc_call.py, the generic client that knows nothing but the
// server's address, against a real `kehu serve` on a loopback port: it
// learns the API through server reflection, lists it, and calls it.
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Subprocess;
using testing::TempDir;

using testing::Finished;

Finished RunProgram(const std::vector<std::string>& argv) {
  return testing::RunToEnd(argv);
}

// A customer registered and with one order, as the NDJSON `kehu produce`
// reads.
constexpr char kEvents[] =
    R"({"eventId":"e1","customerId":"C42","occurredAt":"2025-03-01T09:30:00Z",)"
    R"("source":"webshop","customerRegistered":{"name":"Ada Lovelace"}})"
    "\n"
    R"({"eventId":"e2","customerId":"C42","occurredAt":"2025-03-02T10:00:00Z",)"
    R"("source":"webshop","orderPlaced":{"orderId":"O-77","currency":"EUR",)"
    R"("lines":[{"sku":"MUG-1","category":"kitchen","quantity":"2",)"
    R"("unitPriceMinor":"1250","unitCostMinor":"400"}]}})"
    "\n";

class GrpcCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Subprocess>(
        std::vector<std::string>{KEHU_BINARY, "serve", "--data",
                                 dir_.Sub("data"), "--listen", "127.0.0.1:0"});
    // "kehu serve: listening on 127.0.0.1:PORT, data in ..."
    const std::string line = server_->ReadStderrUntil("listening on ");
    ASSERT_THAT(line, HasSubstr("127.0.0.1:")) << server_->stderr_text();
    const size_t begin = line.find("listening on ") + 13;
    address_ = line.substr(begin, line.find(',', begin) - begin);
  }

  // Publishes kEvents through the ingest API and waits until they are
  // folded.
  void ProduceEvents() {
    std::ofstream(dir_.Sub("events.ndjson")) << kEvents;
    Finished produce =
        RunProgram({KEHU_BINARY, "produce", dir_.Sub("events.ndjson"),
                    "--server", address_});
    ASSERT_EQ(produce.code, 0) << produce.err;
    Finished progress = RunProgram(
        {KEHU_BINARY, "query", "progress", "--wait", "--server", address_});
    ASSERT_EQ(progress.code, 0) << progress.err;
  }

  // Runs the client with `args` against the server.
  Finished GrpcCall(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {KEHU_GRPC_CALL, "--server", address_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv);
  }

  TempDir dir_;
  std::unique_ptr<Subprocess> server_;
  std::string address_;
};

TEST_F(GrpcCallTest, ListShowsTheQueryServiceAndItsMethods) {
  Finished run = GrpcCall({"list"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("kehu.query.v1.Query\n"));
  EXPECT_THAT(run.out,
              HasSubstr("  rpc GetCustomer(kehu.query.v1.GetCustomerRequest) "
                        "returns (kehu.query.v1.CustomerView);"));
  EXPECT_THAT(run.out, HasSubstr("kehu.ingest.v1.Ingest\n"));
}

TEST_F(GrpcCallTest, DescribeShowsTheFieldsOfTheRequest) {
  Finished run = GrpcCall({"describe", "kehu.query.v1.Query/GetCustomer"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("message GetCustomerRequest {"));
  EXPECT_THAT(run.out, HasSubstr("string customer_id = 1;"));
  EXPECT_THAT(run.out, HasSubstr("google.protobuf.Timestamp as_of = 2;"));
}

TEST_F(GrpcCallTest, CallReturnsTheCustomerAsJson) {
  ASSERT_NO_FATAL_FAILURE(ProduceEvents());
  Finished run = GrpcCall(
      {"call", "kehu.query.v1.Query/GetCustomer", R"({"customer_id": "C42"})"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr(R"("customer_id": "C42")"));
  EXPECT_THAT(run.out, HasSubstr(R"("name": "Ada Lovelace")"));
  // int64 is a string in protobuf's JSON mapping.
  EXPECT_THAT(run.out, HasSubstr(R"("purchase_count": "1")")) << run.out;
  EXPECT_EQ(run.err, "");
}

TEST_F(GrpcCallTest, CallWithABadArgumentExitsNamingInvalidArgument) {
  Finished run = GrpcCall(
      {"call", "kehu.query.v1.Query/GetCustomer", R"({"customer_id": ""})"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("kehu.query.v1.Query/GetCustomer: "
                                 "INVALID_ARGUMENT: customer_id"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST_F(GrpcCallTest, RequestThatIsNotTheMessageStopsBeforeTheCall) {
  Finished run = GrpcCall(
      {"call", "kehu.query.v1.Query/GetCustomer", R"({"customer": "C42"})"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err,
              HasSubstr("not a valid kehu.query.v1.GetCustomerRequest"));
  EXPECT_THAT(run.err, Not(HasSubstr("Traceback")));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

}  // namespace
}  // namespace kehu
