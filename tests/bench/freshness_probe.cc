#include "tests/bench/freshness_probe.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "infra/check.h"

namespace kehu::bench {
namespace {

int64_t Nanos(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

double Micros(int64_t nanos) { return nanos / 1000.0; }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string ErrorName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// The percentiles reported for one histogram, in microseconds.
struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

Percentiles PercentilesOf(const LatencyHistogram& h) {
  return {Micros(h.ValueAtQuantile(0.5)), Micros(h.ValueAtQuantile(0.99)),
          Micros(h.ValueAtQuantile(0.999)), Micros(h.max())};
}

std::string PercentilesJson(const Percentiles& p) {
  return absl::StrFormat(
      R"({"p50_us":%.1f,"p99_us":%.1f,"p999_us":%.1f,"max_us":%.1f})", p.p50,
      p.p99, p.p999, p.max);
}

}  // namespace

events::v1::Event ProbeEvent(const std::string& event_id,
                             const std::string& customer_id,
                             absl::Time occurred_at) {
  events::v1::Event event;
  event.set_event_id(event_id);
  event.set_customer_id(customer_id);
  const absl::Duration since_epoch = occurred_at - absl::UnixEpoch();
  event.mutable_occurred_at()->set_seconds(absl::ToInt64Seconds(since_epoch));
  event.set_source("bench");
  auto* call = event.mutable_call_logged();
  call->set_direction(events::v1::DIRECTION_INBOUND);
  call->set_duration_seconds(60);
  call->set_reason("freshness probe");
  call->set_outcome(events::v1::CALL_OUTCOME_RESOLVED);
  return event;
}

bool Reflects(const query::v1::CustomerView& view, int32_t partition,
              int64_t offset) {
  return view.has_position() && view.position().partition() == partition &&
         view.position().offset() >= offset;
}

absl::StatusOr<std::unique_ptr<FreshnessProbe>> FreshnessProbe::Connect(
    const FreshnessOptions& options) {
  if (absl::Status s = CheckLoopbackTarget(options.server); !s.ok()) return s;
  auto format = CustomerIdFormat::Parse(options.id_format);
  if (!format.ok()) return format.status();
  std::unique_ptr<FreshnessProbe> probe(new FreshnessProbe(options));
  auto channel =
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", options.server,
                                               " (no connection within 10 s)"));
  }
  probe->ingest_ = ingest::v1::Ingest::NewStub(channel);
  probe->query_ = query::v1::Query::NewStub(channel);
  return probe;
}

FreshnessProbe::FreshnessProbe(const FreshnessOptions& options)
    : options_(options), id_format_([&] {
        auto format = CustomerIdFormat::Parse(options.id_format);
        KEHU_CHECK(format.ok());
        return *format;
      }()) {}

FreshnessRun FreshnessProbe::Run(int run) {
  using Clock = std::chrono::steady_clock;
  FreshnessRun result;
  std::mt19937_64 random(options_.seed + static_cast<uint64_t>(run));
  std::uniform_int_distribution<int64_t> pick(
      1, std::max<int64_t>(1, options_.customers));
  const auto interval = std::chrono::nanoseconds(
      static_cast<int64_t>(1e9 / std::max(options_.rate, 1e-3)));
  const auto deadline = absl::ToChronoNanoseconds(options_.deadline);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < options_.samples; ++i) {
    std::this_thread::sleep_until(start + i * interval);
    ++result.probes;
    const std::string customer_id = id_format_.Format(pick(random));
    ingest::v1::AppendRequest append;
    *append.add_events() =
        ProbeEvent(absl::StrCat(options_.event_id_prefix, "-", run, "-", i),
                   customer_id, options_.occurred_at);
    ingest::v1::AppendResponse answer;
    const Clock::time_point sent = Clock::now();
    grpc::ClientContext append_context;
    append_context.set_deadline(std::chrono::system_clock::now() + deadline);
    grpc::Status status = ingest_->Append(&append_context, append, &answer);
    const Clock::time_point acked = Clock::now();
    if (!status.ok()) {
      ++result.errors[ErrorName(status.error_code())];
      continue;
    }
    if (answer.accepted_size() != 1) {
      ++result.errors["REJECTED"];
      continue;
    }
    const int32_t partition = answer.accepted(0).partition();
    const int64_t offset = answer.accepted(0).offset();

    query::v1::GetCustomerRequest get;
    get.set_customer_id(customer_id);
    int64_t polls = 0;
    bool visible = false;
    bool failed = false;
    Clock::time_point seen;
    while (Clock::now() - acked < deadline) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + deadline);
      query::v1::CustomerView view;
      ++polls;
      status = query_->GetCustomer(&context, get, &view);
      // NOT_FOUND: a customer the projector has not folded yet.
      if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
        ++result.errors[ErrorName(status.error_code())];
        failed = true;
        break;
      }
      if (status.ok() && Reflects(view, partition, offset)) {
        seen = Clock::now();
        visible = true;
        break;
      }
    }
    if (failed) continue;
    if (!visible) {
      ++result.timed_out;
      continue;
    }
    ++result.visible;
    result.polls += polls;
    result.send_to_ack.Record(Nanos(acked - sent));
    result.ack_to_visible.Record(Nanos(seen - acked));
    result.send_to_visible.Record(Nanos(seen - sent));
  }
  result.elapsed = absl::FromChrono(Clock::now() - start);
  return result;
}

std::string FormatFreshnessRun(int run, int runs, const FreshnessRun& r) {
  const Percentiles ack = PercentilesOf(r.send_to_ack);
  const Percentiles fresh = PercentilesOf(r.ack_to_visible);
  std::string errors;
  for (const auto& [code, count] : r.errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : ", ", code, " ", count);
  }
  return absl::StrFormat(
      "run %d/%d: %d probes at %.1f/s, %d visible, %d timed out, errors %s; "
      "ack -> visible p50 %.1f p99 %.1f p999 %.1f max %.1f us; "
      "send -> ack p50 %.1f p99 %.1f us; %.1f polls per probe\n",
      run + 1, runs, r.probes,
      r.probes / std::max(absl::ToDoubleSeconds(r.elapsed), 1e-9), r.visible,
      r.timed_out, errors.empty() ? "none" : errors, fresh.p50, fresh.p99,
      fresh.p999, fresh.max, ack.p50, ack.p99,
      r.visible > 0 ? static_cast<double>(r.polls) / r.visible : 0.0);
}

std::string FreshnessJson(const FreshnessOptions& options,
                          const std::vector<FreshnessRun>& runs) {
  std::vector<std::string> run_objects;
  // The median over the runs of each percentile of each histogram.
  std::vector<Percentiles> acks, freshness, totals;
  for (const FreshnessRun& r : runs) {
    acks.push_back(PercentilesOf(r.send_to_ack));
    freshness.push_back(PercentilesOf(r.ack_to_visible));
    totals.push_back(PercentilesOf(r.send_to_visible));
    std::vector<std::string> errors;
    for (const auto& [code, count] : r.errors) {
      errors.push_back(absl::StrFormat(R"("%s":%d)", code, count));
    }
    run_objects.push_back(absl::StrFormat(
        R"({"probes":%d,"visible":%d,"timed_out":%d,"errors":{%s},)"
        R"("polls":%d,"elapsed_s":%.3f,"send_to_ack":%s,)"
        R"("ack_to_visible":%s,"send_to_visible":%s})",
        r.probes, r.visible, r.timed_out, absl::StrJoin(errors, ","), r.polls,
        absl::ToDoubleSeconds(r.elapsed), PercentilesJson(acks.back()),
        PercentilesJson(freshness.back()), PercentilesJson(totals.back())));
  }
  const auto median = [](const std::vector<Percentiles>& v) {
    Percentiles m;
    for (double Percentiles::*field : {&Percentiles::p50, &Percentiles::p99,
                                       &Percentiles::p999, &Percentiles::max}) {
      std::vector<double> values;
      for (const Percentiles& p : v) values.push_back(p.*field);
      m.*field = Median(std::move(values));
    }
    return m;
  };
  return absl::StrFormat(
      R"({"label":"%s","server":"%s","samples":%d,"rate":%g,"customers":%d,)"
      R"("runs":[%s],"median":{"send_to_ack":%s,"ack_to_visible":%s,)"
      R"("send_to_visible":%s}})",
      options.label, options.server, options.samples, options.rate,
      options.customers, absl::StrJoin(run_objects, ","),
      PercentilesJson(median(acks)), PercentilesJson(median(freshness)),
      PercentilesJson(median(totals)));
}

}  // namespace kehu::bench
