// As-of reads for audits: GetCustomer with a past as_of answers what the
// customer's own events said then — the view a replay of the log cut at
// that time (`kehu replay --until`) gives — for every customer, at several
// dates, also when events arrived late.
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "projections/replay.h"
#include "query/query_service.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::query {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr int32_t kPartitions = 4;
// The simulated year starts 2025-01-01.
const absl::Time kStart = absl::FromUnixSeconds(1735689600);

std::unique_ptr<infra::ProjectionStore> Replayed(
    infra::EventLog* log, const std::string& dir,
    std::optional<absl::Time> until) {
  auto store = infra::ProjectionStore::Open(dir, {});
  EXPECT_OK(store);
  projections::ReplayOptions options;
  options.until = until;
  EXPECT_OK(projections::Replay(log, store->get(), options).status());
  return std::move(*store);
}

QueryServiceOptions Options() {
  QueryServiceOptions options;
  // A fixed "now" after the simulated year, so that every date is past.
  options.clock = [] { return kStart + absl::Hours(24 * 400); };
  return options;
}

grpc::Status Get(QueryService& service, const std::string& id, absl::Time as_of,
                 query::v1::CustomerView* view) {
  query::v1::GetCustomerRequest request;
  request.set_customer_id(id);
  request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(as_of));
  return service.ViewCustomer(request, view);
}

TEST(AsOfTest, AsOfReadEqualsAReplayCutAtThatTimeForEveryCustomer) {
  TempDir dir;
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = kPartitions;
  log_options.sync = false;
  auto log = infra::EmbeddedLog::Open(dir.Sub("log"), log_options);
  ASSERT_OK(log.status());

  // A simulated year, then a backfill: a tenth of the events again with
  // new ids, appended after everything else although they occurred early.
  std::vector<events::v1::Event> events = testing::SimulatedEvents(120, 365, 5);
  std::mt19937 random(3);
  const size_t simulated = events.size();
  for (size_t i = 0; i < simulated; i += 10) {
    events::v1::Event late = events[random() % simulated];
    late.set_event_id(late.event_id() + "-backfill-" + std::to_string(i));
    events.push_back(late);
  }
  std::vector<int64_t> ends;
  ASSERT_OK(
      testing::AppendEvents(log->get(), events, 0, events.size(), &ends, 500));
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.customer_id());

  auto live = Replayed(log->get(), dir.Sub("live"), std::nullopt);
  QueryService live_service(live.get(), log->get(), Options());

  int compared = 0, absent = 0;
  for (int day : {45, 180, 300}) {
    // An instant inside the day, so that some events of the day are in
    // and some out.
    const absl::Time as_of = kStart + absl::Hours(24 * day + 13);
    auto cut =
        Replayed(log->get(), dir.Sub("cut-" + std::to_string(day)), as_of);
    QueryService cut_service(cut.get(), log->get(), Options());
    for (const std::string& id : ids) {
      query::v1::CustomerView expected, actual;
      grpc::Status want = Get(cut_service, id, as_of, &expected);
      grpc::Status got = Get(live_service, id, as_of, &actual);
      ASSERT_EQ(got.error_code(), want.error_code())
          << id << " on day " << day << ": " << got.error_message();
      if (!want.ok()) {
        ++absent;
        continue;
      }
      std::string difference;
      google::protobuf::util::MessageDifferencer differ;
      differ.ReportDifferencesToString(&difference);
      EXPECT_TRUE(differ.Compare(expected, actual))
          << id << " on day " << day << ":\n"
          << difference;
      ++compared;
    }
  }
  // Both kinds occurred: customers who existed then, and not yet.
  EXPECT_GT(compared, 100);
  EXPECT_GT(absent, 10);
}

TEST(AsOfTest, BeforeTheFirstEventIsNotFoundNamingAsOf) {
  TempDir dir;
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = kPartitions;
  log_options.sync = false;
  auto log = infra::EmbeddedLog::Open(dir.Sub("log"), log_options);
  ASSERT_OK(log.status());
  std::vector<int64_t> ends;
  const std::vector<events::v1::Event> events = {
      testing::Registered("e1", "C1", 10, "Ada"),
      testing::Order("e2", "C1", 20, "O1", {{"A", 1, 1000, 600}}),
  };
  ASSERT_OK(testing::AppendEvents(log->get(), events, 0, events.size(), &ends));
  auto store = Replayed(log->get(), dir.Sub("store"), std::nullopt);
  QueryService service(store.get(), log->get(), Options());

  query::v1::CustomerView view;
  grpc::Status s = Get(service, "C1", kStart + absl::Hours(24 * 5), &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("as_of"));

  // Between the two events: registered, no purchase yet; the position is
  // the registration's.
  ASSERT_TRUE(Get(service, "C1", kStart + absl::Hours(24 * 15), &view).ok());
  EXPECT_EQ(view.profile().name(), "Ada");
  EXPECT_EQ(view.orders().purchase_count(), 0);
  EXPECT_EQ(view.position().event_id(), "e1");
  ASSERT_TRUE(Get(service, "C1", kStart + absl::Hours(24 * 25), &view).ok());
  EXPECT_EQ(view.orders().purchase_count(), 1);
  EXPECT_EQ(view.position().event_id(), "e2");
}

}  // namespace
}  // namespace kehu::query
