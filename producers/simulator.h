// Simulator: a synthetic but realistic workload of three upstream systems —
// a web shop ("webshop"), an ERP ("erp") and a call center ("callcenter") —
// for `kehu simulate`, benchmarks and end-to-end tests.
//
// Operation
//   Customers register over the period (a base imported in the first week,
//   the rest spread evenly), ids "C000001", "C000002", ... in registration
//   order. Each has a relationship type (mostly retail consumers, some
//   businesses, a few distributors, a handful internal), a region, an
//   acquisition channel and contact data. Buying follows a BG/NBD-like
//   process: a purchase rate drawn from a gamma distribution, inter-purchase
//   gaps whose regularity varies by customer, and after every purchase a
//   chance to drop out for good (higher when the customer is unhappy).
//   Spend per customer is lognormal, so a small share brings most revenue.
//   Orders carry 1-5 lines from a fixed catalog of eight categories; some
//   are cancelled (about 2%), some partly returned (about 6%), all that are
//   not cancelled are paid (retail mostly at dispatch, businesses on invoice
//   with due dates, some late). Late deliveries and damaged goods lead to
//   complaints, which are resolved (the customer satisfied or not) or left
//   open. Survey answers follow the customer's experience so far. Marketing
//   and service emails, inbound and outbound calls and profile updates fill
//   in the contact history.
//
//   Unit cost: ERP orders carry unit_cost_minor (the ERP knows the cost of
//   goods); web-shop orders never do, as a real shop front would not.
//   Catalog prices are in minor units of a two-decimal currency; addresses
//   look German whatever the currency.
//
//   Events are delivered in non-decreasing occurred_at order across all
//   customers (a discrete-event simulation over one priority queue). Event
//   ids are "sim-<seed>-<n>", n counting delivered events from 1.
//
// Determinism
//   Same options, same stream, byte for byte, on every platform with IEEE
//   754 doubles: the engine is std::mt19937_64, whose output the standard
//   fixes, and every distribution (and the log/exp they need) is written
//   here from +, -, *, / and sqrt, because std:: distributions and libm are
//   implementation-defined. Floating-point contraction (FMA) must be off
//   for simulator.cc (the default for x86-64 builds).
//
// Concurrency
//   A Simulator is not thread-safe; Run() is synchronous and calls the sink
//   on the caller's thread.
//
// Limitations
//   Memory grows with the number of customers (a few hundred bytes each),
//   not with days or events: 1M customers need a few hundred MB.
#ifndef KEHU_PRODUCERS_SIMULATOR_H_
#define KEHU_PRODUCERS_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kehu/events/v1/events.pb.h"

namespace kehu::producers {

struct SimulatorOptions {
  // Number of customers registered over the period; at most 10^9.
  int64_t customers = 1000;
  // Length of the period; events occur in [start, start + days).
  int32_t days = 365;
  // Same seed and options give the same event stream.
  uint64_t seed = 1;
  // First instant of the period (default 2025-01-01T00:00:00Z).
  absl::Time start = absl::FromUnixSeconds(1735689600);
  // ISO 4217 code of every amount (three upper-case letters).
  std::string currency = "EUR";
};

// What one Run() delivered, by payload.
struct SimulatorStats {
  int64_t events = 0;
  int64_t customers_registered = 0;
  int64_t profiles_updated = 0;
  int64_t orders_placed = 0;
  int64_t orders_cancelled = 0;
  int64_t orders_returned = 0;
  int64_t payments_received = 0;
  int64_t calls_logged = 0;
  int64_t emails_logged = 0;
  int64_t complaints_filed = 0;
  int64_t complaints_resolved = 0;
  int64_t surveys_answered = 0;
};

class Simulator {
 public:
  // Receives each event in turn; a non-OK status stops the run.
  using Sink = std::function<absl::Status(const events::v1::Event&)>;

  explicit Simulator(SimulatorOptions options);

  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Generates the whole period from the start and hands every event to
  // `sink`, in occurred_at order. Each call replays the same stream.
  // Returns InvalidArgument for bad options, or the first error the sink
  // returned (nothing more is delivered after it).
  absl::Status Run(const Sink& sink);

  // Counts of the events the last Run() delivered.
  const SimulatorStats& stats() const { return stats_; }

  const SimulatorOptions& options() const { return options_; }

 private:
  SimulatorOptions options_;
  SimulatorStats stats_;
};

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_SIMULATOR_H_
