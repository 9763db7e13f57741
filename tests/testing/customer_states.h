// Helpers for tests that compare the views two runs produced: a small
// simulated world, every customer's stored state, and the reference run
// on the embedded log. Header-only so that any test can include it.
#ifndef KEHU_TESTS_TESTING_CUSTOMER_STATES_H_
#define KEHU_TESTS_TESTING_CUSTOMER_STATES_H_

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/event_log.h"
#include "infra/murmur2.h"
#include "infra/projection_store.h"
#include "kehu/events/v1/events.pb.h"
#include "producers/simulator.h"
#include "projections/projector.h"

namespace kehu::testing {

using CustomerStates = std::map<std::string, std::string>;

// The event stream of `customers` simulated customers over `days` days.
inline std::vector<events::v1::Event> SimulatedEvents(int64_t customers,
                                                      int days, uint64_t seed) {
  producers::SimulatorOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = seed;
  std::vector<events::v1::Event> events;
  absl::Status s =
      producers::Simulator(options).Run([&](const events::v1::Event& e) {
        events.push_back(e);
        return absl::OkStatus();
      });
  EXPECT_TRUE(s.ok()) << s;
  return events;
}

// The log records of `events` (key = customer id, value = the event).
inline std::vector<infra::LogAppend> ToRecords(
    const std::vector<events::v1::Event>& events, size_t begin, size_t end) {
  std::vector<infra::LogAppend> records;
  for (size_t i = begin; i < end && i < events.size(); ++i) {
    records.push_back({events[i].customer_id(), events[i].SerializeAsString()});
  }
  return records;
}

// Appends events[begin, end) to `log` in chunks of `chunk`, raising each
// partition's entry of `ends` to one past the last offset written.
inline absl::Status AppendEvents(infra::EventLog* log,
                                 const std::vector<events::v1::Event>& events,
                                 size_t begin, size_t end,
                                 std::vector<int64_t>* ends,
                                 size_t chunk = 50) {
  ends->resize(log->partition_count(), 0);
  for (size_t i = begin; i < end; i += chunk) {
    auto positions =
        log->Append(ToRecords(events, i, std::min(end, i + chunk)));
    if (!positions.ok()) return positions.status();
    for (const auto& p : *positions) {
      (*ends)[p.partition] = std::max((*ends)[p.partition], p.offset + 1);
    }
  }
  return absl::OkStatus();
}

// Every customer's stored CustomerState bytes, by customer id.
inline CustomerStates StoredStates(infra::ProjectionStore* store) {
  CustomerStates states;
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(),
      store->family(infra::schema::Family::kCustomers)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    states[it->key().ToString()] = it->value().ToString();
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return states;
}

// The states of `states` whose customer lives in one of `partitions`.
inline CustomerStates StatesOfPartitions(const CustomerStates& states,
                                         const std::vector<int32_t>& partitions,
                                         int32_t partition_count) {
  CustomerStates subset;
  for (const auto& [id, state] : states) {
    if (std::find(partitions.begin(), partitions.end(),
                  infra::PartitionForKey(id, partition_count)) !=
        partitions.end()) {
      subset[id] = state;
    }
  }
  return subset;
}

// The reference: events[0, end) folded through the embedded log with
// `partitions` partitions, in a store under `dir`.
inline CustomerStates EmbeddedStates(
    const std::vector<events::v1::Event>& events, size_t end,
    int32_t partitions, const std::string& dir) {
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = partitions;
  log_options.sync = false;
  auto log = infra::EmbeddedLog::Open(dir + "/log", log_options);
  EXPECT_TRUE(log.ok()) << log.status();
  auto store = infra::ProjectionStore::Open(dir + "/store", {});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!log.ok() || !store.ok()) return {};
  projections::Projector projector(log->get(), store->get());
  EXPECT_TRUE(projector.Start().ok());
  std::vector<int64_t> ends;
  EXPECT_TRUE(AppendEvents(log->get(), events, 0, end, &ends).ok());
  EXPECT_TRUE(projector.WaitUntilFolded(ends, absl::Now() + absl::Seconds(60)));
  projector.Stop();
  return StoredStates(store->get());
}

// Expects `actual` to hold exactly the customers of `expected`, each with
// the same stored state, byte for byte.
inline void ExpectSameStates(const CustomerStates& actual,
                             const CustomerStates& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  int shown = 0;
  for (const auto& [id, state] : expected) {
    auto it = actual.find(id);
    if (it == actual.end()) {
      ADD_FAILURE() << "customer " << id << " is missing";
    } else if (it->second != state) {
      ADD_FAILURE() << "customer " << id << " differs";
    } else {
      continue;
    }
    if (++shown >= 5) {
      ADD_FAILURE() << "... and maybe more";
      return;
    }
  }
}

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_CUSTOMER_STATES_H_
