#include "tests/bench/load_runner.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/support/time.h"
#include "infra/check.h"

namespace kehu::bench {
namespace {

using query::v1::CustomerView;
using query::v1::ListCustomersResponse;
using query::v1::SegmentSummaryResponse;

// Steady-clock nanoseconds: the one clock of every measurement.
int64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// User + system CPU time of the whole process, seconds.
double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Open loop: how long an answer may wait on the queue, at most, before
// its thread wakes to take it (and time it) while waiting to send.
constexpr int64_t kMaxReapDelayNanos = 100000;

void SleepUntilNanos(int64_t deadline_ns) {
  timespec ts;
  ts.tv_sec = deadline_ns / 1000000000;
  ts.tv_nsec = deadline_ns % 1000000000;
  // An absolute deadline makes a restart after a signal exact.
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

}  // namespace

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[kStatusCodeCount] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < kStatusCodeCount ? kNames[code] : "UNKNOWN";
}

namespace {

// One request in flight. Its address is the completion queue tag: Send()
// releases it to the queue and Reap() takes ownership back.
class PendingCall {
 public:
  virtual ~PendingCall() = default;

  grpc::ClientContext context;
  grpc::Status status;
  int64_t due_ns = 0;
  bool measured = false;
};

template <typename Response>
class TypedCall final : public PendingCall {
 public:
  Response response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
};

}  // namespace

// Everything one client thread owns.
struct QueryLoad::ClientThread {
  explicit ClientThread(int index, uint64_t seed) : index(index), rng(seed) {}

  const int index;
  grpc::CompletionQueue cq;
  // The rest is used only by the client's thread, which sends on `cq` and
  // reaps its answers.
  std::mt19937_64 rng;
  size_t next_stub = 0;
  LatencyHistogram send_lag;
  // Requests whose deadline passed before they could be sent.
  LatencyHistogram unsent_latency;
  int64_t unsent = 0;
  int64_t warmup_unsent = 0;
  // Sent on `cq` and not yet reaped.
  int64_t outstanding = 0;
  bool sending_done = false;
  LatencyHistogram latency;
  int64_t calls = 0;
  int64_t ok = 0;
  std::array<int64_t, kStatusCodeCount> errors_by_code{};
  int64_t warmup_errors = 0;
  int64_t answers_in_window = 0;
  int64_t ok_in_window = 0;
  int64_t answers = 0;
};

absl::StatusOr<std::unique_ptr<QueryLoad>> QueryLoad::Connect(
    const LoadOptions& options) {
  query::v1::ListCustomersRequest list;
  if (options.tier) list.mutable_filter()->add_pyramid_tiers(*options.tier);
  if (options.stage) list.mutable_filter()->add_stages(*options.stage);
  list.set_page_size(options.page_size);
  query::v1::SegmentSummaryRequest summary;
  summary.set_dimension(options.dimension);

  std::unique_ptr<QueryLoad> load(new QueryLoad(options, list, summary));
  for (int c = 0; c < options.channels; ++c) {
    grpc::ChannelArguments args;
    // Channels with equal arguments would share one connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("kehu.bench.channel", c);
    // No retry policy is set, so no call is retried either way, but gRPC
    // keeps each call's messages for a retry unless retries are off: 2-4 us
    // of client CPU per GetCustomer on 2 cores (README, Query latency).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    auto channel = grpc::CreateCustomChannel(
        options.server, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat(
          "cannot reach ", options.server, " (no connection within 10 s)"));
    }
    load->stubs_.push_back(query::v1::Query::NewStub(channel));
  }
  return load;
}

QueryLoad::QueryLoad(const LoadOptions& options,
                     query::v1::ListCustomersRequest list,
                     query::v1::SegmentSummaryRequest summary)
    : options_(options),
      id_format_([&] {
        auto format = CustomerIdFormat::Parse(options.id_format);
        KEHU_CHECK(format.ok());
        return *format;
      }()),
      list_request_(std::move(list)),
      summary_request_(std::move(summary)) {}

QueryLoad::~QueryLoad() = default;

void QueryLoad::Send(ClientThread& client, int64_t due_ns, bool measured) {
  query::v1::Query::Stub* stub = stubs_[client.next_stub].get();
  client.next_stub = (client.next_stub + 1) % stubs_.size();

  // The queue hands the call back to Reap(), which deletes it.
  auto start = [&](auto typed, auto prepare, const auto& request) {
    auto* call = typed.release();
    call->due_ns = due_ns;
    call->measured = measured;
    // The deadline runs from the due time: a request sent late has less.
    const int64_t remaining_ns =
        due_ns + absl::ToInt64Nanoseconds(options_.deadline) - NowNanos();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::nanoseconds(remaining_ns));
    call->reader = (stub->*prepare)(&call->context, request, &client.cq);
    call->reader->StartCall();
    ++client.outstanding;
    call->reader->Finish(&call->response, &call->status, call);
  };
  switch (options_.call) {
    case CallKind::kGetCustomer: {
      std::uniform_int_distribution<int64_t> pick(1, options_.customers);
      query::v1::GetCustomerRequest request;
      request.set_customer_id(id_format_.Format(pick(client.rng)));
      if (options_.as_of) {
        request.mutable_as_of()->set_seconds(
            absl::ToUnixSeconds(*options_.as_of));
      }
      start(std::make_unique<TypedCall<CustomerView>>(),
            &query::v1::Query::Stub::PrepareAsyncGetCustomer, request);
      break;
    }
    case CallKind::kListCustomers:
      start(std::make_unique<TypedCall<ListCustomersResponse>>(),
            &query::v1::Query::Stub::PrepareAsyncListCustomers, list_request_);
      break;
    case CallKind::kSegmentSummary:
      start(std::make_unique<TypedCall<SegmentSummaryResponse>>(),
            &query::v1::Query::Stub::PrepareAsyncSegmentSummary,
            summary_request_);
      break;
  }
}

void QueryLoad::Reap(ClientThread& client, void* tag, int64_t now_ns) {
  std::unique_ptr<PendingCall> call(static_cast<PendingCall*>(tag));
  --client.outstanding;
  ++client.answers;
  const bool ok = call->status.ok();
  if (now_ns >= window_start_ns_ && now_ns < window_end_ns_) {
    ++client.answers_in_window;
    if (ok) ++client.ok_in_window;
  }
  if (!call->measured) {
    if (!ok) ++client.warmup_errors;
    return;
  }
  client.latency.Record(now_ns - call->due_ns);
  ++client.calls;
  if (ok) {
    ++client.ok;
  } else {
    const int code = static_cast<int>(call->status.error_code());
    ++client.errors_by_code[code >= 0 && code < kStatusCodeCount ? code : 2];
  }
}

void QueryLoad::SendOnSchedule(ClientThread& client, int64_t total) {
  // Wake-ups as punctual as the kernel allows (the default slack is 50 us).
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const double period_ns = 1e9 / options_.rate;
  const int64_t start_ns =
      window_start_ns_ - absl::ToInt64Nanoseconds(options_.warmup);
  const int64_t max_outstanding =
      std::max<int64_t>(1, options_.max_outstanding / options_.threads);
  const int64_t deadline_ns = absl::ToInt64Nanoseconds(options_.deadline);
  for (int64_t i = client.index; i < total; i += options_.threads) {
    const int64_t due_ns =
        start_ns + static_cast<int64_t>(static_cast<double>(i) * period_ns);
    const bool measured = due_ns >= window_start_ns_;
    // Too many in flight: wait for answers, up to this request's deadline;
    // the wait counts in its latency.
    ReapReady(client);
    while (client.outstanding >= max_outstanding &&
           NowNanos() < due_ns + deadline_ns) {
      SleepUntilNanos(NowNanos() + 50000);
      ReapReady(client);
    }
    // Until it is due, wake to take answers at least every
    // kMaxReapDelayNanos while any are awaited.
    for (int64_t now_ns = NowNanos(); now_ns < due_ns; now_ns = NowNanos()) {
      SleepUntilNanos(client.outstanding > 0
                          ? std::min(due_ns, now_ns + kMaxReapDelayNanos)
                          : due_ns);
      ReapReady(client);
    }
    const int64_t sent_ns = NowNanos();
    if (sent_ns >= due_ns + deadline_ns) {
      // Its deadline passed before it could be sent: it failed, as the
      // server would have failed it, and is not sent at all.
      if (measured) {
        client.unsent_latency.Record(sent_ns - due_ns);
        ++client.unsent;
      } else {
        ++client.warmup_unsent;
      }
      continue;
    }
    if (measured) client.send_lag.Record(sent_ns - due_ns);
    Send(client, due_ns, measured);
  }
  client.sending_done = true;
}

void QueryLoad::ReapReady(ClientThread& client) {
  while (client.outstanding > 0) {
    void* tag = nullptr;
    bool ok = false;
    // A deadline already past: gRPC polls the connections once, without
    // waiting, and hands back what is ready.
    const auto event =
        client.cq.AsyncNext(&tag, &ok, gpr_inf_past(GPR_CLOCK_MONOTONIC));
    if (event != grpc::CompletionQueue::GOT_EVENT) return;
    Reap(client, tag, NowNanos());
  }
}

void QueryLoad::ReapUntilDone(ClientThread& client, bool closed_loop) {
  while (!client.sending_done || client.outstanding > 0) {
    void* tag = nullptr;
    bool ok = false;
    const gpr_timespec wait_until = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(50, GPR_TIMESPAN));
    const auto event = client.cq.AsyncNext(&tag, &ok, wait_until);
    if (event == grpc::CompletionQueue::SHUTDOWN) return;
    if (event == grpc::CompletionQueue::TIMEOUT) {
      if (closed_loop && NowNanos() >= window_end_ns_) {
        client.sending_done = true;
      }
      continue;
    }
    const int64_t now_ns = NowNanos();
    Reap(client, tag, now_ns);
    if (!closed_loop) continue;
    if (now_ns < window_end_ns_) {
      Send(client, now_ns, now_ns >= window_start_ns_);
    } else {
      client.sending_done = true;
    }
  }
}

double QueryLoad::WaitForIdleServer() {
  const int64_t start_ns = NowNanos();
  for (auto& stub : stubs_) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::minutes(10));
    // Any answer will do, an error included: what matters is that it came
    // back, after whatever was queued before it.
    switch (options_.call) {
      case CallKind::kGetCustomer: {
        query::v1::GetCustomerRequest request;
        request.set_customer_id(id_format_.Format(1));
        CustomerView response;
        (void)stub->GetCustomer(&context, request, &response);
        break;
      }
      case CallKind::kListCustomers: {
        ListCustomersResponse response;
        (void)stub->ListCustomers(&context, list_request_, &response);
        break;
      }
      case CallKind::kSegmentSummary: {
        SegmentSummaryResponse response;
        (void)stub->SegmentSummary(&context, summary_request_, &response);
        break;
      }
    }
  }
  return static_cast<double>(NowNanos() - start_ns) / 1e9;
}

RunResult QueryLoad::Run(int run) {
  const double idle_wait_seconds = WaitForIdleServer();
  const bool closed_loop = options_.rate == 0;
  std::vector<std::unique_ptr<ClientThread>> clients;
  for (int t = 0; t < options_.threads; ++t) {
    // Different ids per run and per thread, the same for a seed.
    std::seed_seq seed{static_cast<uint32_t>(options_.seed),
                       static_cast<uint32_t>(options_.seed >> 32),
                       static_cast<uint32_t>(run), static_cast<uint32_t>(t)};
    std::mt19937_64 mixer(seed);
    clients.push_back(std::make_unique<ClientThread>(t, mixer()));
  }
  // A few milliseconds for the threads to start before the first request
  // is due.
  const int64_t start_ns = NowNanos() + 5000000;
  window_start_ns_ = start_ns + absl::ToInt64Nanoseconds(options_.warmup);
  window_end_ns_ =
      window_start_ns_ + absl::ToInt64Nanoseconds(options_.duration);

  const double cpu_before = ProcessCpuSeconds();
  std::vector<std::thread> threads;
  if (closed_loop) {
    for (auto& client : clients) {
      const int share =
          options_.concurrency / options_.threads +
          (client->index < options_.concurrency % options_.threads);
      threads.emplace_back([this, &client = *client, share, start_ns] {
        SleepUntilNanos(start_ns);
        for (int i = 0; i < share; ++i) {
          const int64_t now_ns = NowNanos();
          Send(client, now_ns, now_ns >= window_start_ns_);
        }
        if (share == 0) client.sending_done = true;
        ReapUntilDone(client, /*closed_loop=*/true);
      });
    }
  } else {
    const double total_seconds =
        absl::ToDoubleSeconds(options_.warmup + options_.duration);
    const int64_t total = static_cast<int64_t>(total_seconds * options_.rate);
    for (auto& client : clients) {
      threads.emplace_back([this, &client = *client, total] {
        SendOnSchedule(client, total);
        ReapUntilDone(client, /*closed_loop=*/false);
      });
    }
  }
  for (auto& thread : threads) thread.join();
  const double cpu_seconds = ProcessCpuSeconds() - cpu_before;

  RunResult result;
  result.seconds = absl::ToDoubleSeconds(options_.duration);
  result.client_cpu_seconds = cpu_seconds;
  result.idle_wait_seconds = idle_wait_seconds;
  int64_t answers_in_window = 0;
  int64_t ok_in_window = 0;
  for (auto& client : clients) {
    client->cq.Shutdown();
    void* tag;
    bool ok;
    // Every call was reaped above; the queue is empty.
    KEHU_CHECK(!client->cq.Next(&tag, &ok));
    result.latency.Merge(client->latency);
    result.send_lag.Merge(client->send_lag);
    result.calls += client->calls;
    result.ok += client->ok;
    for (int c = 0; c < kStatusCodeCount; ++c) {
      result.errors_by_code[c] += client->errors_by_code[c];
    }
    result.warmup_errors += client->warmup_errors + client->warmup_unsent;
    // Unsent requests failed with DEADLINE_EXCEEDED, after waiting.
    result.latency.Merge(client->unsent_latency);
    result.calls += client->unsent;
    result.errors_by_code[static_cast<int>(
        grpc::StatusCode::DEADLINE_EXCEEDED)] += client->unsent;
    result.unsent += client->unsent;
    answers_in_window += client->answers_in_window;
    result.all_calls += client->answers;
    ok_in_window += client->ok_in_window;
  }
  result.achieved_rate =
      static_cast<double>(answers_in_window) / result.seconds;
  result.ok_rate = static_cast<double>(ok_in_window) / result.seconds;
  return result;
}

}  // namespace kehu::bench
