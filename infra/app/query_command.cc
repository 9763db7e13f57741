#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

// Parses a comma-separated list of enum names (without `prefix`, any case)
// into `add`; false, after naming the flag and the bad name, on an unknown
// one.
template <typename Add>
bool ParseEnumList(const std::string& command, const std::string& flag,
                   const std::string& text,
                   const google::protobuf::EnumDescriptor* type,
                   const std::string& prefix, Add add) {
  if (text.empty()) return true;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::string name = absl::AsciiStrToUpper(
        absl::StripAsciiWhitespace(std::string(part)));
    std::replace(name.begin(), name.end(), '-', '_');
    const auto* value = type->FindValueByName(prefix + name);
    if (value == nullptr || value->number() == 0) {
      std::cerr << "kehu query " << command << ": " << flag << ": unknown \""
                << std::string(part) << "\"; one of:";
      for (int i = 1; i < type->value_count(); ++i) {
        std::cerr << " "
                  << absl::AsciiStrToLower(
                         type->value(i)->name().substr(prefix.size()));
      }
      std::cerr << "\n";
      return false;
    }
    add(value->number());
  }
  return true;
}

// Parses "MIN..MAX" (either side may be empty) into `range`.
template <typename Range>
bool ParseRange(const std::string& command, const std::string& flag,
                const std::string& text, Range* range) {
  if (text.empty()) return true;
  const size_t dots = text.find("..");
  double min = 0, max = 0;
  const std::string lo = dots == std::string::npos ? "" : text.substr(0, dots);
  const std::string hi =
      dots == std::string::npos ? "" : text.substr(dots + 2);
  if (dots == std::string::npos || (lo.empty() && hi.empty()) ||
      (!lo.empty() && !absl::SimpleAtod(lo, &min)) ||
      (!hi.empty() && !absl::SimpleAtod(hi, &max))) {
    std::cerr << "kehu query " << command << ": " << flag
              << ": expected MIN..MAX (either side may be left out), got \""
              << text << "\"\n";
    return false;
  }
  if (!lo.empty()) range->set_min(min);
  if (!hi.empty()) range->set_max(max);
  return true;
}

// Sets `ts` from a YYYY-MM-DD flag value; "" leaves it unset.
bool SetDay(const std::string& command, const std::string& flag,
            const std::string& text, google::protobuf::Timestamp* ts) {
  if (text.empty()) return true;
  absl::Time day;
  if (!ParseDay(text, &day)) {
    std::cerr << "kehu query " << command << ": " << flag
              << ": expected YYYY-MM-DD, got \"" << text << "\"\n";
    return false;
  }
  ts->set_seconds(absl::ToUnixSeconds(day));
  return true;
}

// One unary call: connect, call with the deadline, then print the response
// as JSON or through `format`; a failed call is reported as `command`'s.
template <typename Request, typename Response, typename Format>
int CallAndPrint(const std::string& command, const ClientOptions& options,
                 grpc::Status (query::v1::Query::Stub::*method)(
                     grpc::ClientContext*, const Request&, Response*),
                 const Request& request, Format format) {
  auto stub = Connect(options);
  grpc::ClientContext context;
  SetDeadline(&context, options);
  Response response;
  grpc::Status s = ((*stub).*method)(&context, request, &response);
  if (!s.ok()) return Fail(command, options, s);
  if (options.json) {
    PrintJson(response);
  } else {
    std::cout << format(response);
  }
  return kExitOk;
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

namespace {

// `kehu query progress --watch`: a line per interval, the rates from the
// difference between two answers (the first line has none).
int WatchProgress(const ClientOptions& options, query::v1::Query::Stub* stub,
                  const ProgressFlags& flags) {
  struct Sample {
    absl::Time at;
    int64_t appended = 0;  // records on the log, partitions held
    int64_t read = 0;      // records the projector read off them
  };
  std::optional<Sample> previous;
  if (!options.json) {
    std::cout << absl::StrFormat("%-8s %12s %12s %10s %12s %10s %13s\n", "time",
                                 "appended/s", "read/s", "lag", "folded",
                                 "duplicates", "dead letters");
  }
  for (int line = 0; flags.count == 0 || line < flags.count; ++line) {
    if (line > 0) absl::SleepFor(absl::Seconds(flags.interval_seconds));
    grpc::ClientContext context;
    SetDeadline(&context, options);
    query::v1::GetProgressResponse response;
    grpc::Status s =
        stub->GetProgress(&context, query::v1::GetProgressRequest(), &response);
    if (!s.ok()) return Fail("progress", options, s);
    Sample now{absl::Now()};
    for (const auto& p : response.partitions()) {
      if (p.not_held()) continue;  // another member's
      now.appended += p.log_end_offset();
      now.read += p.next_offset();
    }
    std::optional<double> appended_rate;
    std::optional<double> read_rate;
    if (previous.has_value()) {
      const double seconds = absl::ToDoubleSeconds(now.at - previous->at);
      appended_rate = (now.appended - previous->appended) / seconds;
      read_rate = (now.read - previous->read) / seconds;
    }
    previous = now;
    auto rate = [&](const std::optional<double>& r, const char* none) {
      return r.has_value() ? absl::StrFormat("%.1f", *r) : std::string(none);
    };
    if (options.json) {
      std::cout << absl::StrFormat(
                       "{\"time\": \"%s\", \"appended_per_second\": %s, "
                       "\"read_per_second\": %s, \"lag\": %d, \"folded\": "
                       "%d, \"duplicates\": %d, \"dead_lettered\": %d}",
                       absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now.at,
                                        absl::UTCTimeZone()),
                       rate(appended_rate, "null"), rate(read_rate, "null"),
                       response.lag(), response.folded(), response.duplicates(),
                       response.dead_lettered())
                << std::endl;
    } else {
      std::cout << absl::StrFormat("%-8s %12s %12s %10d %12d %10d %13d",
                                   absl::FormatTime("%H:%M:%S", now.at,
                                                    absl::UTCTimeZone()),
                                   rate(appended_rate, "-"),
                                   rate(read_rate, "-"), response.lag(),
                                   response.folded(), response.duplicates(),
                                   response.dead_lettered())
                << std::endl;
    }
  }
  return kExitOk;
}

}  // namespace

int RunQueryProgress(const ClientOptions& options, const ProgressFlags& flags) {
  const bool wait = flags.wait;
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
    if (!wait || (response.lag() == 0 && !response.no_partition_held())) {
      break;
    }
    if (absl::Now() >= deadline) {
      if (response.no_partition_held()) {
        std::cerr << "kehu query progress: the server still holds no "
                     "partition of the topic after the timeout\n";
      } else {
        std::cerr << "kehu query progress: still " << response.lag()
                  << " events behind after the timeout\n";
      }
      return kExitError;
    }
    // An operator's command polling a server, not a test.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (flags.watch) return WatchProgress(options, stub.get(), flags);
  if (options.json) {
    PrintJson(response);
    return kExitOk;
  }
  std::cout << absl::StrFormat("%9s %14s %14s %10s %12s %10s %13s\n",
                               "partition", "log end", "folded up to", "lag",
                               "folded", "duplicates", "dead letters");
  for (const auto& p : response.partitions()) {
    std::cout << absl::StrFormat(
        "%9d %14d %14d %10s %12d %10d %13d%s\n", p.partition(),
        p.log_end_offset(), p.next_offset(),
        p.not_held() ? "-" : absl::StrCat(p.lag()), p.folded(), p.duplicates(),
        p.dead_lettered(), p.not_held() ? "  another member's" : "");
  }
  if (response.no_partition_held()) {
    std::cout << "this server holds no partition of the topic yet\n";
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

int RunQueryList(const ClientOptions& options, const ListFlags& flags) {
  const std::string cmd = "list";
  query::v1::ListCustomersRequest request;
  query::v1::CustomerFilter* f = request.mutable_filter();
  const bool parsed =
      ParseEnumList(cmd, "--tier", flags.tiers,
                    query::v1::PyramidTier_descriptor(), "PYRAMID_TIER_",
                    [&](int v) {
                      f->add_pyramid_tiers(
                          static_cast<query::v1::PyramidTier>(v));
                    }) &&
      ParseEnumList(cmd, "--stage", flags.stages,
                    query::v1::LifecycleStage_descriptor(), "LIFECYCLE_STAGE_",
                    [&](int v) {
                      f->add_stages(static_cast<query::v1::LifecycleStage>(v));
                    }) &&
      ParseEnumList(cmd, "--cell", flags.cells,
                    query::v1::ValueMatrixCell_descriptor(),
                    "VALUE_MATRIX_CELL_",
                    [&](int v) {
                      f->add_matrix_cells(
                          static_cast<query::v1::ValueMatrixCell>(v));
                    }) &&
      ParseEnumList(cmd, "--relationship", flags.relationships,
                    events::v1::RelationshipType_descriptor(),
                    "RELATIONSHIP_TYPE_",
                    [&](int v) {
                      f->add_relationship_types(
                          static_cast<events::v1::RelationshipType>(v));
                    }) &&
      ParseRange(cmd, "--recency-score", flags.recency_score,
                 f->mutable_recency_score()) &&
      ParseRange(cmd, "--frequency-score", flags.frequency_score,
                 f->mutable_frequency_score()) &&
      ParseRange(cmd, "--monetary-score", flags.monetary_score,
                 f->mutable_monetary_score()) &&
      ParseRange(cmd, "--churn-risk", flags.churn_risk,
                 f->mutable_churn_risk()) &&
      ParseRange(cmd, "--satisfaction", flags.satisfaction,
                 f->mutable_satisfaction());
  if (!parsed) return kExitError;
  if (!flags.regions.empty()) {
    for (absl::string_view r : absl::StrSplit(flags.regions, ',')) {
      f->add_regions(std::string(r));
    }
  }
  if (!flags.pareto.empty()) f->set_pareto_key(flags.pareto == "key");
  if (!flags.open_complaints.empty()) {
    f->set_has_open_complaints(flags.open_complaints == "yes");
  }
  static const std::pair<const char*, query::v1::CustomerOrder> kOrders[] = {
      {"current-value", query::v1::CUSTOMER_ORDER_CURRENT_VALUE},
      {"historical-value", query::v1::CUSTOMER_ORDER_HISTORICAL_VALUE},
      {"recency", query::v1::CUSTOMER_ORDER_RECENCY},
      {"satisfaction", query::v1::CUSTOMER_ORDER_SATISFACTION},
      {"churn-risk", query::v1::CUSTOMER_ORDER_CHURN_RISK},
  };
  for (const auto& [name, order] : kOrders) {
    if (flags.order == name) request.set_order(order);
  }
  request.set_ascending(flags.ascending);
  request.set_page_size(flags.limit);
  request.set_page_token(flags.page_token);

  auto stub = Connect(options);
  query::v1::ListCustomersResponse all;
  while (true) {
    grpc::ClientContext context;
    SetDeadline(&context, options);
    query::v1::ListCustomersResponse response;
    grpc::Status s = stub->ListCustomers(&context, request, &response);
    if (!s.ok()) return Fail(cmd, options, s);
    all.mutable_customers()->MergeFrom(response.customers());
    all.set_examined(all.examined() + response.examined());
    all.set_currency(response.currency());
    all.set_next_page_token(response.next_page_token());
    if (!flags.all || response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (options.json) {
    PrintJson(all);
  } else {
    std::cout << FormatCustomerList(all, all.currency());
  }
  return kExitOk;
}

int RunQuerySummary(const ClientOptions& options, const std::string& by,
                    const std::string& from, const std::string& to) {
  static const std::pair<const char*, query::v1::Dimension> kDimensions[] = {
      {"tier", query::v1::DIMENSION_PYRAMID_TIER},
      {"pareto", query::v1::DIMENSION_PARETO},
      {"stage", query::v1::DIMENSION_LIFECYCLE_STAGE},
      {"cell", query::v1::DIMENSION_MATRIX_CELL},
      {"relationship", query::v1::DIMENSION_RELATIONSHIP_TYPE},
      {"region", query::v1::DIMENSION_REGION},
  };
  query::v1::SegmentSummaryRequest request;
  for (const auto& [name, dimension] : kDimensions) {
    if (by == name) request.set_dimension(dimension);
  }
  if (!SetDay("summary", "--from", from, request.mutable_from()) ||
      !SetDay("summary", "--to", to, request.mutable_to())) {
    return kExitError;
  }
  if (from.empty()) request.clear_from();
  if (to.empty()) request.clear_to();
  return CallAndPrint("summary", options, &query::v1::Query::Stub::SegmentSummary,
                      request, [](const auto& r) { return FormatSegmentSummary(r); });
}

int RunQueryTimeline(const ClientOptions& options,
                     const std::string& customer_id, const std::string& types,
                     int limit, const std::string& page_token) {
  query::v1::TimelineRequest request;
  request.set_customer_id(customer_id);
  if (!types.empty()) {
    for (absl::string_view t : absl::StrSplit(types, ',')) {
      request.add_event_types(std::string(t));
    }
  }
  request.set_page_size(limit);
  request.set_page_token(page_token);
  return CallAndPrint("timeline", options, &query::v1::Query::Stub::Timeline,
                      request, [](const auto& r) { return FormatTimeline(r); });
}

int RunQuerySatisfaction(const ClientOptions& options, const std::string& split,
                         const std::string& from, const std::string& to) {
  query::v1::SatisfactionReportRequest request;
  if (split == "tier") request.set_split(query::v1::REPORT_SPLIT_PYRAMID_TIER);
  if (split == "relationship") {
    request.set_split(query::v1::REPORT_SPLIT_RELATIONSHIP_TYPE);
  }
  if (!SetDay("satisfaction", "--from", from, request.mutable_from()) ||
      !SetDay("satisfaction", "--to", to, request.mutable_to())) {
    return kExitError;
  }
  if (from.empty()) request.clear_from();
  if (to.empty()) request.clear_to();
  return CallAndPrint("satisfaction", options, &query::v1::Query::Stub::SatisfactionReport,
                      request, [](const auto& r) { return FormatSatisfaction(r); });
}

int RunQueryExplain(const ClientOptions& options,
                    const std::string& customer_id, const std::string& view,
                    int limit) {
  static const std::pair<const char*, query::v1::Classification> kViews[] = {
      {"tier", query::v1::CLASSIFICATION_PYRAMID_TIER},
      {"pareto", query::v1::CLASSIFICATION_PARETO},
      {"stage", query::v1::CLASSIFICATION_LIFECYCLE_STAGE},
      {"satisfaction", query::v1::CLASSIFICATION_SATISFACTION_BAND},
      {"churn-risk", query::v1::CLASSIFICATION_CHURN_RISK_BAND},
      {"cell", query::v1::CLASSIFICATION_VALUE_MATRIX_CELL},
  };
  query::v1::ExplainRequest request;
  request.set_customer_id(customer_id);
  for (const auto& [name, classification] : kViews) {
    if (view == name) request.set_classification(classification);
  }
  request.set_max_events(limit);
  if (!options.as_of.empty() &&
      !SetAsOf("explain", options, request.mutable_as_of())) {
    return kExitError;
  }
  return CallAndPrint("explain", options, &query::v1::Query::Stub::Explain,
                      request,
                      [](const auto& r) { return FormatExplanation(r); });
}

}  // namespace kehu::app
