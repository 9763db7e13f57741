#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "infra/app/client_channel.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"
#include "infra/grpc_status.h"
#include "kehu/query/v1/query.grpc.pb.h"

namespace kehu::app {
namespace {

std::unique_ptr<query::v1::Query::Stub> Connect(const ClientOptions& options) {
  return query::v1::Query::NewStub(
      MakeClientChannel(options.server, options.security));
}

void SetDeadline(grpc::ClientContext* context, const ClientOptions& options) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
}

int Fail(const std::string& command, const ClientOptions& options,
         const grpc::Status& status) {
  std::cerr << "kehu query " << command << ": ";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "cannot reach " << options.server << ": ";
  }
  std::cerr << status.error_message() << "\n";
  return kExitError;
}

// Sets `ts` from options.as_of (YYYY-MM-DD, UTC); false, after saying why,
// when it does not parse.
bool SetAsOf(const std::string& command, const ClientOptions& options,
             google::protobuf::Timestamp* ts) {
  absl::Time as_of;
  if (!ParseDay(options.as_of, &as_of)) {
    std::cerr << "kehu query " << command
              << ": --as-of: expected YYYY-MM-DD, got \"" << options.as_of
              << "\"\n";
    return false;
  }
  ts->set_seconds(absl::ToUnixSeconds(as_of));
  return true;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  // Every kehu message has a JSON form; a failure would leave json empty.
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  std::cout << json;
}

}  // namespace

int RunQueryGet(const ClientOptions& options, const std::string& customer_id) {
  auto stub = Connect(options);
  grpc::ClientContext context;
  SetDeadline(&context, options);
  query::v1::GetCustomerRequest request;
  request.set_customer_id(customer_id);
  if (!options.as_of.empty() &&
      !SetAsOf("get", options, request.mutable_as_of())) {
    return kExitError;
  }
  query::v1::CustomerView view;
  grpc::Status s = stub->GetCustomer(&context, request, &view);
  if (!s.ok()) return Fail("get", options, s);
  if (options.json) {
    PrintJson(view);
  } else {
    std::cout << FormatCustomer(view);
  }
  return kExitOk;
}

int RunQueryTop(const ClientOptions& options, const std::string& metric,
                int limit) {
  query::v1::TopCustomersRequest request;
  if (metric == "revenue") {
    request.set_metric(query::v1::METRIC_REVENUE);
  } else if (metric == "margin") {
    request.set_metric(query::v1::METRIC_MARGIN);
  } else {
    request.set_metric(query::v1::METRIC_PURCHASE_COUNT);
  }
  request.set_limit(limit);
  if (!options.as_of.empty() &&
      !SetAsOf("top", options, request.mutable_as_of())) {
    return kExitError;
  }
  auto stub = Connect(options);
  grpc::ClientContext context;
  SetDeadline(&context, options);
  query::v1::TopCustomersResponse response;
  grpc::Status s = stub->TopCustomers(&context, request, &response);
  if (!s.ok()) return Fail("top", options, s);
  if (options.json) {
    PrintJson(response);
  } else {
    std::cout << FormatTop(response);
  }
  return kExitOk;
}

int RunQueryProgress(const ClientOptions& options, bool wait) {
  auto stub = Connect(options);
  const absl::Time deadline = absl::Now() + options.timeout;
  query::v1::GetProgressResponse response;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    if (wait) context.set_wait_for_ready(true);
    response.Clear();
    grpc::Status s =
        stub->GetProgress(&context, query::v1::GetProgressRequest(), &response);
    if (!s.ok()) return Fail("progress", options, s);
    if (!wait || response.lag() == 0) break;
    if (absl::Now() >= deadline) {
      std::cerr << "kehu query progress: still " << response.lag()
                << " events behind after the timeout\n";
      return kExitError;
    }
    // An operator's command polling a server, not a test.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (options.json) {
    PrintJson(response);
    return kExitOk;
  }
  std::cout << absl::StrFormat("%9s %14s %14s %10s %12s %10s %13s\n",
                               "partition", "log end", "folded up to", "lag",
                               "folded", "duplicates", "dead letters");
  for (const auto& p : response.partitions()) {
    std::cout << absl::StrFormat("%9d %14d %14d %10d %12d %10d %13d\n",
                                 p.partition(), p.log_end_offset(),
                                 p.next_offset(), p.lag(), p.folded(),
                                 p.duplicates(), p.dead_lettered());
  }
  std::cout << absl::StrFormat("%9s %14s %14s %10d %12d %10d %13d\n", "all", "",
                               "", response.lag(), response.folded(),
                               response.duplicates(), response.dead_lettered());
  return kExitOk;
}

int RunQueryDeadLetters(const ClientOptions& options, int limit,
                        const std::string& page_token) {
  auto stub = Connect(options);
  grpc::ClientContext context;
  SetDeadline(&context, options);
  query::v1::ListDeadLettersRequest request;
  request.set_page_size(limit);
  request.set_page_token(page_token);
  query::v1::ListDeadLettersResponse response;
  grpc::Status s = stub->ListDeadLetters(&context, request, &response);
  if (!s.ok()) return Fail("deadletters", options, s);
  if (options.json) {
    PrintJson(response);
    return kExitOk;
  }
  std::cout << absl::StrFormat("%9s %10s  %-14s %-32s %s\n", "partition",
                               "offset", "key", "field", "reason");
  for (const auto& letter : response.dead_letters()) {
    std::cout << absl::StrFormat(
        "%9d %10d  %-14s %-32s %s\n", letter.partition(), letter.offset(),
        absl::CHexEscape(letter.key()),
        letter.field().empty() ? "-" : letter.field(), letter.reason());
  }
  if (!response.next_page_token().empty()) {
    std::cout << "more: --page-token " << response.next_page_token() << "\n";
  }
  return kExitOk;
}

}  // namespace kehu::app
