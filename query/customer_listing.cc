#include "query/customer_listing.h"

#include <random>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "rocksdb/snapshot.h"

namespace kehu::query {
namespace {

namespace schema = infra::schema;
using infra::schema::Family;
using infra::schema::SegmentOrder;
using TimeUtil = google::protobuf::util::TimeUtil;

constexpr int32_t kDefaultPageSize = 100;
// Bounds on a filter's lists, so that matching stays cheap.
constexpr int kMaxFilterValues = 64;
constexpr size_t kMaxRegionBytes = 128;
constexpr char kTokenVersion = 'L';

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

template <typename Values, typename IsValid>
absl::Status CheckEnums(const std::string& field, const Values& values,
                        IsValid is_valid) {
  if (values.size() > kMaxFilterValues) {
    return Invalid(field, absl::StrCat("at most ", kMaxFilterValues,
                                       " values, got ", values.size()));
  }
  for (int i = 0; i < values.size(); ++i) {
    if (!is_valid(values[i]) || values[i] == 0) {
      return Invalid(absl::StrCat(field, "[", i, "]"),
                     absl::StrCat("unknown or unspecified value ", values[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRange(const std::string& field, bool has_min, double min,
                        bool has_max, double max, double lowest,
                        double highest) {
  if (has_min && (min < lowest || min > highest)) {
    return Invalid(absl::StrCat(field, ".min"),
                   absl::StrCat("must lie in ", lowest, "..", highest,
                                ", got ", min));
  }
  if (has_max && (max < lowest || max > highest)) {
    return Invalid(absl::StrCat(field, ".max"),
                   absl::StrCat("must lie in ", lowest, "..", highest,
                                ", got ", max));
  }
  if (has_min && has_max && min > max) {
    return Invalid(field, absl::StrCat("min ", min, " exceeds max ", max));
  }
  return absl::OkStatus();
}

absl::Status CheckScores(const std::string& field,
                         const query::v1::IntRange& r) {
  return CheckRange(field, r.has_min(), r.min(), r.has_max(), r.max(), 0, 5);
}

bool InRange(const query::v1::IntRange& r, int32_t v) {
  return (!r.has_min() || v >= r.min()) && (!r.has_max() || v <= r.max());
}

bool InRange(const query::v1::DoubleRange& r, double v) {
  return (!r.has_min() || v >= r.min()) && (!r.has_max() || v <= r.max());
}

bool IsSet(const query::v1::DoubleRange& r) {
  return r.has_min() || r.has_max();
}

template <typename Values>
bool AnyOf(const Values& values, int32_t v) {
  if (values.empty()) return true;
  for (const auto& x : values) {
    if (static_cast<int32_t>(x) == v) return true;
  }
  return false;
}

absl::StatusOr<SegmentOrder> ToSegmentOrder(query::v1::CustomerOrder order) {
  switch (order) {
    case query::v1::CUSTOMER_ORDER_UNSPECIFIED:
    case query::v1::CUSTOMER_ORDER_CURRENT_VALUE:
      return SegmentOrder::kCurrentValue;
    case query::v1::CUSTOMER_ORDER_HISTORICAL_VALUE:
      return SegmentOrder::kHistoricalValue;
    case query::v1::CUSTOMER_ORDER_RECENCY:
      return SegmentOrder::kRecency;
    case query::v1::CUSTOMER_ORDER_SATISFACTION:
      return SegmentOrder::kSatisfaction;
    case query::v1::CUSTOMER_ORDER_CHURN_RISK:
      return SegmentOrder::kChurnRisk;
    default:
      return Invalid("order", absl::StrCat("unknown value ",
                                           static_cast<int>(order)));
  }
}

// FNV-1a: a fingerprint that ties a page token to its request.
uint64_t Fingerprint(const query::v1::ListCustomersRequest& request) {
  query::v1::ListCustomersRequest shape = request;
  shape.clear_page_size();
  shape.clear_page_token();
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : shape.SerializeAsString()) {
    h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

struct Token {
  uint64_t instance = 0;
  uint64_t listing = 0;
  uint64_t fingerprint = 0;
  std::string last_key;
};

std::string EncodeToken(const Token& t) {
  std::string bytes(1, kTokenVersion);
  schema::PutFixed64BE(&bytes, t.instance);
  schema::PutFixed64BE(&bytes, t.listing);
  schema::PutFixed64BE(&bytes, t.fingerprint);
  bytes.append(t.last_key);
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<Token> DecodeToken(const std::string& text) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(text, &bytes) || bytes.size() < 25 ||
      bytes[0] != kTokenVersion) {
    return Invalid("page_token",
                   "malformed; pass next_page_token of an earlier response");
  }
  Token t;
  t.instance = schema::DecodeFixed64BE(bytes.data() + 1);
  t.listing = schema::DecodeFixed64BE(bytes.data() + 9);
  t.fingerprint = schema::DecodeFixed64BE(bytes.data() + 17);
  t.last_key = bytes.substr(25);
  return t;
}

}  // namespace

absl::Status ValidateFilter(const query::v1::CustomerFilter& f) {
  KEHU_RETURN_IF_ERROR(CheckEnums("filter.pyramid_tiers", f.pyramid_tiers(),
                                  query::v1::PyramidTier_IsValid));
  KEHU_RETURN_IF_ERROR(CheckEnums("filter.stages", f.stages(),
                                  query::v1::LifecycleStage_IsValid));
  KEHU_RETURN_IF_ERROR(CheckEnums("filter.matrix_cells", f.matrix_cells(),
                                  query::v1::ValueMatrixCell_IsValid));
  KEHU_RETURN_IF_ERROR(CheckEnums("filter.relationship_types",
                                  f.relationship_types(),
                                  events::v1::RelationshipType_IsValid));
  KEHU_RETURN_IF_ERROR(CheckScores("filter.recency_score", f.recency_score()));
  KEHU_RETURN_IF_ERROR(
      CheckScores("filter.frequency_score", f.frequency_score()));
  KEHU_RETURN_IF_ERROR(
      CheckScores("filter.monetary_score", f.monetary_score()));
  KEHU_RETURN_IF_ERROR(CheckRange(
      "filter.churn_risk", f.churn_risk().has_min(), f.churn_risk().min(),
      f.churn_risk().has_max(), f.churn_risk().max(), 0, 1));
  KEHU_RETURN_IF_ERROR(CheckRange(
      "filter.satisfaction", f.satisfaction().has_min(),
      f.satisfaction().min(), f.satisfaction().has_max(),
      f.satisfaction().max(), 0, 100));
  if (f.regions_size() > kMaxFilterValues) {
    return Invalid("filter.regions", absl::StrCat("at most ", kMaxFilterValues,
                                                  " values, got ",
                                                  f.regions_size()));
  }
  for (int i = 0; i < f.regions_size(); ++i) {
    if (f.regions(i).size() > kMaxRegionBytes) {
      return Invalid(absl::StrCat("filter.regions[", i, "]"),
                     absl::StrCat("at most ", kMaxRegionBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

bool Matches(const query::v1::CustomerFilter& f,
             const store::v1::Standing& s) {
  if (!AnyOf(f.pyramid_tiers(), s.pyramid_tier())) return false;
  if (f.has_pareto_key() && f.pareto_key() != s.pareto_key()) return false;
  if (!AnyOf(f.stages(), s.stage())) return false;
  if (!AnyOf(f.matrix_cells(), s.matrix_cell())) return false;
  if (!InRange(f.recency_score(), s.recency_score())) return false;
  if (!InRange(f.frequency_score(), s.frequency_score())) return false;
  if (!InRange(f.monetary_score(), s.monetary_score())) return false;
  if (!AnyOf(f.relationship_types(), s.relationship_type())) return false;
  if (!f.regions().empty()) {
    bool found = false;
    for (const auto& r : f.regions()) found = found || r == s.region();
    if (!found) return false;
  }
  if (IsSet(f.churn_risk()) &&
      (!s.has_churn_risk() || !InRange(f.churn_risk(), s.churn_risk()))) {
    return false;
  }
  if (IsSet(f.satisfaction()) &&
      (!s.has_satisfaction() || !InRange(f.satisfaction(), s.satisfaction()))) {
    return false;
  }
  if (f.has_has_open_complaints() &&
      f.has_open_complaints() != (s.open_complaints() > 0)) {
    return false;
  }
  return true;
}

query::v1::CustomerSummary ToCustomerSummary(const store::v1::Standing& s) {
  query::v1::CustomerSummary out;
  out.set_customer_id(s.customer_id());
  out.set_name(s.name());
  out.set_relationship_type(s.relationship_type());
  out.set_region(s.region());
  *out.mutable_standing_as_of() = TimeUtil::MicrosecondsToTimestamp(s.as_of_us());
  out.set_stage(static_cast<query::v1::LifecycleStage>(s.stage()));
  out.set_pyramid_tier(static_cast<query::v1::PyramidTier>(s.pyramid_tier()));
  out.set_pareto_key(s.pareto_key());
  out.set_matrix_cell(static_cast<query::v1::ValueMatrixCell>(s.matrix_cell()));
  out.set_recency_score(s.recency_score());
  out.set_frequency_score(s.frequency_score());
  out.set_monetary_score(s.monetary_score());
  out.set_has_churn_risk(s.has_churn_risk());
  out.set_churn_risk(s.churn_risk());
  out.set_has_satisfaction(s.has_satisfaction());
  out.set_satisfaction(s.satisfaction());
  out.set_open_complaints(s.open_complaints());
  out.set_historical_value_minor(s.historical_value_minor());
  out.set_has_current_value(s.has_current_value());
  out.set_current_value_minor(s.current_value_minor());
  if (s.last_purchase_us() != 0) {
    *out.mutable_last_purchase_at() =
        TimeUtil::MicrosecondsToTimestamp(s.last_purchase_us());
  }
  out.set_window_revenue_minor(s.window_revenue_minor());
  out.set_window_margin_minor(s.window_margin_minor());
  return out;
}

CustomerListings::CustomerListings(
    std::shared_ptr<const infra::ActiveStore> stores, ListingOptions options,
    std::function<absl::Time()> clock)
    : stores_(std::move(stores)),
      options_(options),
      clock_(std::move(clock)),
      instance_((static_cast<uint64_t>(std::random_device()()) << 32) ^
                static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))) {}

CustomerListings::~CustomerListings() {
  absl::MutexLock lock(&mu_);
  open_.clear();
}

size_t CustomerListings::open_listings() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

void CustomerListings::Evict(absl::Time now) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (now - it->second.last_used > options_.idle_timeout) {
      open_.erase(it++);
    } else {
      ++it;
    }
  }
  while (open_.size() > options_.max_open) {
    auto oldest = open_.begin();
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    open_.erase(oldest);
  }
}

absl::Status CustomerListings::List(
    const query::v1::ListCustomersRequest& request,
    query::v1::ListCustomersResponse* response,
    const std::function<bool()>& cancelled) {
  const int32_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size < 1 || page_size > kMaxPageSize) {
    return Invalid("page_size", absl::StrCat("must lie in 1..", kMaxPageSize,
                                             ", got ", request.page_size()));
  }
  KEHU_ASSIGN_OR_RETURN(SegmentOrder order, ToSegmentOrder(request.order()));
  KEHU_RETURN_IF_ERROR(ValidateFilter(request.filter()));
  const uint64_t fingerprint = Fingerprint(request);

  uint64_t listing_id = 0;
  std::string resume;
  std::shared_ptr<infra::ProjectionStore> store;
  std::shared_ptr<const rocksdb::Snapshot> snapshot;
  const absl::Time now = clock_();
  {
    absl::MutexLock lock(&mu_);
    Evict(now);
    if (request.page_token().empty()) {
      listing_id = next_id_++;
      store = stores_->Get();
      // The deleter holds the store: a snapshot is released before its
      // store can close.
      snapshot = std::shared_ptr<const rocksdb::Snapshot>(
          store->db()->GetSnapshot(), [store](const rocksdb::Snapshot* s) {
            store->db()->ReleaseSnapshot(s);
          });
      open_[listing_id] = Listing{store, snapshot, fingerprint, now};
    } else {
      KEHU_ASSIGN_OR_RETURN(Token token, DecodeToken(request.page_token()));
      auto it = open_.find(token.listing);
      if (token.instance != instance_ || it == open_.end()) {
        return Invalid(
            "page_token",
            absl::StrCat("expired: a listing is kept ",
                         absl::FormatDuration(options_.idle_timeout),
                         " after its last page, and not across restarts; "
                         "list again from the first page"));
      }
      if (token.fingerprint != fingerprint || it->second.fingerprint != fingerprint) {
        return Invalid("page_token",
                       "belongs to a listing with another filter or order; "
                       "repeat that request's filter and order, or start "
                       "without a token");
      }
      it->second.last_used = now;
      listing_id = token.listing;
      store = it->second.store;
      snapshot = it->second.snapshot;
      resume = std::move(token.last_key);
    }
  }

  const std::string prefix = schema::SegmentOrderPrefix(order);
  std::string upper = prefix;
  upper.back() = static_cast<char>(upper.back() + 1);
  const rocksdb::Slice lower_bound(prefix), upper_bound(upper);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.get();
  read.iterate_lower_bound = &lower_bound;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(read, store->family(Family::kSegments)));
  // Keys descend by value (store_schema.h): highest first reads forwards.
  const bool backwards = request.ascending();
  auto step = [&] { backwards ? it->Prev() : it->Next(); };
  if (resume.empty()) {
    backwards ? it->SeekToLast() : it->SeekToFirst();
  } else {
    backwards ? it->SeekForPrev(resume) : it->Seek(resume);
    if (it->Valid() && it->key() == rocksdb::Slice(resume)) step();
  }

  int64_t examined = 0;
  std::string last_key;
  // One message for every entry: parsing into it reuses its strings.
  store::v1::Standing standing;
  for (; it->Valid() && examined < options_.max_examined &&
         response->customers_size() < page_size;
       step()) {
    if (++examined % 1024 == 0 && cancelled()) {
      return absl::CancelledError("the caller cancelled or its deadline passed");
    }
    last_key.assign(it->key().data(), it->key().size());
    if (!standing.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat(
          "segment index entry ", it->key().ToString(/*hex=*/true),
          " does not parse"));
    }
    if (Matches(request.filter(), standing)) {
      *response->add_customers() = ToCustomerSummary(standing);
    }
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning segment index"));
  response->set_examined(examined);
  response->set_currency(store->reporting_currency());

  absl::MutexLock lock(&mu_);
  if (it->Valid()) {
    response->set_next_page_token(
        EncodeToken(Token{instance_, listing_id, fingerprint, last_key}));
  } else {
    open_.erase(listing_id);  // the listing is complete
  }
  return absl::OkStatus();
}

}  // namespace kehu::query
