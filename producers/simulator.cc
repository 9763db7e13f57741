#include "producers/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "infra/check.h"
#include "infra/status_macros.h"

// The stream must not depend on whether the compiler fuses a * b + c into
// one FMA instruction (see "Determinism" in the header). Clang honours this
// pragma; GCC contracts only when targeting an FMA-capable ISA, for which
// the build must pass -ffp-contract=off.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace kehu::producers {
namespace {

namespace ev = events::v1;
using ev::Event;

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 9999-12-31T23:59:59Z, the last second ValidateEvent accepts.
constexpr int64_t kMaxSeconds = 253402300799;

// ---------------------------------------------------------------------------
// Portable math. libm's log and exp are not required to be correctly
// rounded, and C libraries differ in the last bit; one different bit can
// flip a later comparison and change the rest of the stream. These use only
// IEEE-exact operations (+, -, *, /, frexp, ldexp, floor), so they give the
// same bits everywhere. They are accurate to a few ulp, which is plenty.

constexpr double kLn2 = 0.693147180559945309417;
constexpr double kSqrtHalf = 0.707106781186547524401;

// REQUIRES: x > 0 and finite.
double Log(double x) {
  int exponent = 0;
  double m = std::frexp(x, &exponent);  // x = m * 2^exponent, m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2;
    --exponent;
  }
  // log(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172.
  const double s = (m - 1) / (m + 1);
  const double s2 = s * s;
  double power = s;
  double sum = 0;
  for (int k = 1; k <= 29; k += 2) {
    sum += power / k;
    power *= s2;
  }
  return 2 * sum + exponent * kLn2;
}

double Exp(double x) {
  if (x < -700) return 0;
  if (x > 700) x = 700;
  // x = k ln2 + r with |r| <= ln2 / 2; e^r by its Taylor series (Horner).
  const double k = std::floor(x / kLn2 + 0.5);
  const double r = x - k * kLn2;
  double sum = 1;
  for (int n = 24; n >= 1; --n) sum = 1 + r * sum / n;
  return std::ldexp(sum, static_cast<int>(k));
}

// SplitMix64's finaliser: a good 64-bit mixing function. Used to derive
// contact data from (seed, customer, version) without storing strings.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return Mix(Mix(Mix(Mix(a) ^ b) ^ c) ^ d);
}

// Random variates from std::mt19937_64 (whose output sequence the standard
// fixes) with distributions written here (std:: ones are
// implementation-defined).
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform on [0, 1), from the top 53 bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform on (0, 1]: safe to take the logarithm of.
  double UniformPositive() {
    return static_cast<double>((engine_() >> 11) + 1) * 0x1.0p-53;
  }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform on [lo, hi], without modulo bias. REQUIRES: lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t v = engine_();
    while (v >= limit) v = engine_();
    return lo + static_cast<int64_t>(v % range);
  }

  bool Bernoulli(double p) { return Uniform() < p; }

  double Exponential(double mean) { return -mean * Log(UniformPositive()); }

  // Standard normal: Box-Muller in Marsaglia's polar form (no sin/cos).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0, v = 0, s = 0;
    do {
      u = 2 * Uniform() - 1;
      v = 2 * Uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * Log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  double LogNormal(double mu, double sigma) { return Exp(Normal(mu, sigma)); }

  // Gamma(shape, scale) by Marsaglia and Tsang (2000); shape < 1 through
  // Gamma(shape + 1) * U^(1 / shape).
  double Gamma(double shape, double scale) {
    if (shape < 1) {
      const double g = Gamma(shape + 1, 1);
      return scale * g * Exp(Log(UniformPositive()) / shape);
    }
    const double d = shape - 1.0 / 3;
    const double c = 1 / std::sqrt(9 * d);
    while (true) {
      double x = 0, v = 0;
      do {
        x = Normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = UniformPositive();
      const double x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return scale * d * v;
      if (Log(u) < 0.5 * x2 + d * (1 - v + Log(v))) return scale * d * v;
    }
  }

  double Beta(double a, double b) {
    const double x = Gamma(a, 1);
    const double y = Gamma(b, 1);
    return x / (x + y);
  }

  // Knuth's multiplication method; a rounded normal for large means.
  int64_t Poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean > 30) {
      return std::max<int64_t>(0, std::llround(Normal(mean, std::sqrt(mean))));
    }
    const double limit = Exp(-mean);
    double p = 1;
    int64_t k = 0;
    while (true) {
      p *= Uniform();
      if (p <= limit) return k;
      ++k;
    }
  }

  // Index drawn with probability proportional to its weight.
  // REQUIRES: weights non-negative with a positive sum.
  template <typename Weights>
  size_t Pick(const Weights& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double u = Uniform() * total;
    size_t i = 0;
    for (double w : weights) {
      if (u < w) return i;
      u -= w;
      ++i;
    }
    // Rounding left u at the very top: the last positive weight.
    size_t last = 0;
    i = 0;
    for (double w : weights) {
      if (w > 0) last = i;
      ++i;
    }
    return last;
  }
  size_t Pick(std::initializer_list<double> weights) {
    return Pick<std::initializer_list<double>>(weights);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

double Clamp(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

int64_t Seconds(double days) {
  // Caps absurd gaps (a purchase rate near zero) long before int64 overflow.
  return std::llround(std::min(days, 1e6) * kDay);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// ---------------------------------------------------------------------------
// Catalog: the same for every seed.

struct CategorySpec {
  const char* name;
  const char* code;
  int64_t min_price;  // minor units
  int64_t max_price;
  double margin;       // (price - cost) / price, on average
  double return_rate;  // chance an order with this category is returned
  double popularity;
};

constexpr CategorySpec kCategories[] = {
    {"electronics", "ELE", 1999, 89900, 0.22, 0.07, 1.0},
    {"home", "HOM", 499, 29900, 0.45, 0.04, 1.2},
    {"garden", "GAR", 299, 49900, 0.40, 0.03, 0.6},
    {"office", "OFF", 149, 19900, 0.50, 0.02, 0.8},
    {"apparel", "APP", 999, 14900, 0.60, 0.14, 1.3},
    {"sports", "SPO", 799, 39900, 0.45, 0.07, 0.7},
    {"toys", "TOY", 499, 9900, 0.50, 0.04, 0.6},
    {"grocery", "GRO", 99, 2999, 0.30, 0.01, 1.0},
};
constexpr int kCategoryCount = sizeof(kCategories) / sizeof(kCategories[0]);
constexpr int kSkusPerCategory = 8;

struct Product {
  std::string sku;
  int category = 0;
  int64_t price = 0;
  int64_t cost = 0;
};

class Catalog {
 public:
  Catalog() {
    Random rng(0x6b656875636174ULL);  // "kehucat": fixed, not the user's seed
    for (int c = 0; c < kCategoryCount; ++c) {
      const CategorySpec& spec = kCategories[c];
      for (int i = 0; i < kSkusPerCategory; ++i) {
        // Log-uniform list prices ending in 99.
        const double lo = Log(static_cast<double>(spec.min_price));
        const double hi = Log(static_cast<double>(spec.max_price));
        const double raw = Exp(rng.Uniform(lo, hi));
        Product p;
        p.sku = absl::StrFormat("%s-%04d", spec.code, i + 1);
        p.category = c;
        p.price = std::max<int64_t>(99, std::llround(raw / 100) * 100 - 1);
        p.cost = std::llround(static_cast<double>(p.price) * (1 - spec.margin) *
                              rng.Uniform(0.85, 1.15));
        products_.push_back(std::move(p));
      }
    }
    for (int i = 0; i < kSkusPerCategory; ++i) zipf_[i] = 1.0 / (i + 1);
  }

  // A product of `category`, the first SKUs selling best (Zipf).
  const Product& Pick(int category, Random& rng) const {
    return products_[category * kSkusPerCategory + rng.Pick(zipf_)];
  }

 private:
  std::vector<Product> products_;
  std::array<double, kSkusPerCategory> zipf_{};
};

// ---------------------------------------------------------------------------
// Customers.

constexpr const char* kRegions[] = {"north", "south", "east", "west",
                                    "central"};
constexpr const char* kCities[5][4] = {
    {"Hamburg", "Bremen", "Kiel", "Hanover"},
    {"Munich", "Stuttgart", "Nuremberg", "Augsburg"},
    {"Berlin", "Leipzig", "Dresden", "Rostock"},
    {"Cologne", "Dusseldorf", "Dortmund", "Essen"},
    {"Frankfurt", "Kassel", "Erfurt", "Wurzburg"},
};
constexpr const char* kPostalPrefix[] = {"2", "8", "1", "5", "6"};
constexpr const char* kAreaCode[] = {"40", "89", "30", "221", "69"};
constexpr const char* kStreets[] = {
    "Hauptstrasse", "Bahnhofstrasse", "Gartenweg",   "Schulstrasse",
    "Lindenallee",  "Marktplatz",     "Bergstrasse", "Kirchweg"};
constexpr const char* kFirstNames[] = {
    "Anna",  "Ben",  "Clara", "David", "Emma", "Felix",  "Greta", "Hannah",
    "Jonas", "Lena", "Lukas", "Maria", "Noah", "Olivia", "Paul",  "Sophie",
    "Tim",   "Ute",  "Vera",  "Yusuf", "Zoe",  "Elif",   "Milan", "Nina"};
constexpr const char* kLastNames[] = {
    "Mueller", "Schmidt",  "Schneider", "Fischer",  "Weber",  "Meyer",
    "Wagner",  "Becker",   "Schulz",    "Hoffmann", "Koch",   "Richter",
    "Klein",   "Wolf",     "Neumann",   "Schwarz",  "Braun",  "Zimmermann",
    "Krueger", "Hartmann", "Lange",     "Werner",   "Krause", "Yilmaz"};
constexpr const char* kBusinessSuffix[] = {"GmbH", "AG", "KG", "GmbH & Co. KG",
                                           "e.K."};
constexpr const char* kDistributorSuffix[] = {
    "Distribution GmbH", "Wholesale AG", "Handelsgesellschaft mbH"};
constexpr const char* kInternalUnits[] = {"Staff Shop", "Marketing", "IT",
                                          "Facilities", "Sales Office"};

template <typename T, size_t N>
const T& Element(const T (&array)[N], uint64_t h) {
  return array[h % N];
}

// Index into per-type tables: retail, business, distributor, internal.
int TypeIndex(ev::RelationshipType type) {
  switch (type) {
    case ev::RELATIONSHIP_TYPE_BUSINESS:
      return 1;
    case ev::RELATIONSHIP_TYPE_DISTRIBUTOR:
      return 2;
    case ev::RELATIONSHIP_TYPE_INTERNAL:
      return 3;
    default:
      return 0;
  }
}

// Everything the simulation remembers about one customer: traits drawn at
// registration, and the experience so far. Contact data is not stored but
// derived from (seed, customer, version) when needed.
struct Customer {
  double order_rate = 0;         // expected orders per day while active
  double regularity = 1;         // gamma shape of the gaps (1 = Poisson)
  double dropout = 0;            // chance to stop buying after an order
  double spend = 1;              // basket-size multiplier
  double discount_affinity = 0;  // chance an order line is discounted
  double late_payer = 0;         // chance an invoice is paid late
  double engagement = 0;         // chance a marketing email is opened
  double return_propensity = 1;  // multiplies the category return rates
  double mood = 0;               // experience, -1 (awful) .. 1 (great)
  int32_t open_complaints = 0;
  ev::RelationshipType type = ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER;
  uint8_t region = 0;
  uint8_t favourite_category = 0;
  uint8_t name_version = 0;
  uint8_t email_version = 0;
  uint8_t phone_version = 0;
  uint8_t address_version = 0;
  bool active = true;  // false once dropped out: never orders again
  bool shops_online = false;
  bool newsletter = false;
  bool pays_on_invoice = false;
};

// ---------------------------------------------------------------------------
// The discrete-event simulation.

enum class Kind : uint8_t {
  kRegister,    // next customer registers
  kOrder,       // customer's next order
  kContact,     // customer's next email / call / survey / profile change
  kEmit,        // deliver `event` (built when it was scheduled)
  kComplaint,   // deliver the ComplaintFiled `event`, decide its fate
  kResolution,  // deliver the ComplaintResolved `event`
  kSurvey,      // fill in and deliver the SurveyAnswered `event`
  kMood,        // no event: the customer's experience changes by `delta`
};

enum ContactKind : uint8_t {
  kMarketingEmail,
  kInboundCall,
  kOutboundCall,
  kServiceEmail,
  kRelationshipSurvey,
  kProfileChange,
  kContactKindCount,
};

// Expected contacts per month, by relationship type (retail, business,
// distributor, internal), for an active customer.
constexpr double kContactsPerMonth[kContactKindCount][4] = {
    {1.0, 1.0, 1.0, 0.0},      // marketing email (if subscribed)
    {0.06, 0.3, 0.5, 0.05},    // inbound call
    {0.01, 0.3, 0.5, 0.0},     // outbound call
    {0.04, 0.15, 0.3, 0.05},   // inbound service email
    {0.02, 0.03, 0.03, 0.0},   // relationship (NPS) survey
    {0.02, 0.03, 0.02, 0.01},  // profile change
};

struct Action {
  int64_t at = 0;    // seconds since the Unix epoch
  uint64_t seq = 0;  // breaks ties in scheduling order
  uint32_t customer = 0;
  Kind kind = Kind::kEmit;
  uint8_t arg = 0;   // kContact: the ContactKind
  double delta = 0;  // change of mood when the action happens
  std::unique_ptr<Event> event;
};

// Heap order: earliest first, then first scheduled.
struct Later {
  bool operator()(const Action& a, const Action& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

class Generation {
 public:
  Generation(const SimulatorOptions& options, const Simulator::Sink& sink,
             SimulatorStats* stats)
      : options_(options),
        sink_(sink),
        stats_(stats),
        rng_(options.seed),
        start_(absl::ToUnixSeconds(options.start)),
        end_(start_ + int64_t{options.days} * kDay),
        remaining_registrations_(options.customers) {
    // Customers arrive one by one; reserving for the first few million
    // saves copying without claiming memory for a huge, unused count.
    customers_.reserve(
        static_cast<size_t>(std::min<int64_t>(options.customers, 1 << 22)));
  }

  absl::Status Run() {
    ScheduleNextRegistration();
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      Action action = std::move(heap_.back());
      heap_.pop_back();
      KEHU_RETURN_IF_ERROR(Dispatch(action));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Dispatch(Action& a) {
    Customer* c = a.kind == Kind::kRegister ? nullptr : &customers_[a.customer];
    switch (a.kind) {
      case Kind::kRegister:
        return Register(a.at, a.customer);
      case Kind::kOrder:
        return PlaceOrder(a.at, a.customer);
      case Kind::kContact:
        return Contact(a.at, a.customer, static_cast<ContactKind>(a.arg));
      case Kind::kEmit:
        AddMood(*c, a.delta);
        return Emit(*a.event);
      case Kind::kComplaint:
        return FileComplaint(a.at, a.customer, std::move(a.event));
      case Kind::kResolution:
        return ResolveComplaint(a.at, a.customer, *a.event, a.delta);
      case Kind::kSurvey:
        return AnswerSurvey(*c, *a.event);
      case Kind::kMood:
        AddMood(*c, a.delta);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // Schedules an action; anything at or after the end of the period is
  // dropped, which is how every chain of follow-ups ends.
  void Push(int64_t at, Kind kind, uint32_t customer,
            std::unique_ptr<Event> event = nullptr, double delta = 0,
            uint8_t arg = 0) {
    if (at >= end_) return;
    Action a;
    a.at = at;
    a.seq = next_seq_++;
    a.customer = customer;
    a.kind = kind;
    a.arg = arg;
    a.delta = delta;
    a.event = std::move(event);
    heap_.push_back(std::move(a));
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }

  // An event of `customer` at `at` from `source`, payload still to set.
  std::unique_ptr<Event> NewEvent(uint32_t customer, int64_t at,
                                  const char* source) {
    auto e = std::make_unique<Event>();
    Stamp(e.get(), customer, at, source);
    return e;
  }
  Event* Scratch(uint32_t customer, int64_t at, const char* source) {
    scratch_.Clear();
    Stamp(&scratch_, customer, at, source);
    return &scratch_;
  }
  void Stamp(Event* e, uint32_t customer, int64_t at, const char* source) {
    e->set_customer_id(CustomerId(customer));
    e->mutable_occurred_at()->set_seconds(at);
    e->set_source(source);
  }

  absl::Status Emit(Event& e) {
    KEHU_CHECK(e.occurred_at().seconds() >= last_emitted_at_);
    last_emitted_at_ = e.occurred_at().seconds();
    e.set_event_id(absl::StrCat("sim-", options_.seed, "-", ++emitted_));
    Count(e);
    return sink_(e);
  }

  void Count(const Event& e) {
    SimulatorStats& s = *stats_;
    ++s.events;
    switch (e.payload_case()) {
      case Event::kCustomerRegistered:
        ++s.customers_registered;
        break;
      case Event::kProfileUpdated:
        ++s.profiles_updated;
        break;
      case Event::kOrderPlaced:
        ++s.orders_placed;
        break;
      case Event::kOrderCancelled:
        ++s.orders_cancelled;
        break;
      case Event::kOrderReturned:
        ++s.orders_returned;
        break;
      case Event::kPaymentReceived:
        ++s.payments_received;
        break;
      case Event::kCallLogged:
        ++s.calls_logged;
        break;
      case Event::kEmailLogged:
        ++s.emails_logged;
        break;
      case Event::kComplaintFiled:
        ++s.complaints_filed;
        break;
      case Event::kComplaintResolved:
        ++s.complaints_resolved;
        break;
      case Event::kSurveyAnswered:
        ++s.surveys_answered;
        break;
      case Event::PAYLOAD_NOT_SET:
        break;
    }
  }

  static std::string CustomerId(uint32_t customer) {
    return absl::StrFormat("C%06u", customer + 1);
  }

  static void AddMood(Customer& c, double delta) {
    c.mood = Clamp(c.mood + delta, -1, 1);
  }

  // `t` if its time of day (UTC) lies in [from_hour, to_hour), otherwise a
  // random moment of the next such window. Never earlier than `t`.
  int64_t InHours(int64_t t, int from_hour, int to_hour) {
    const int64_t day = FloorDiv(t, kDay) * kDay;
    const int64_t second = t - day;
    if (second >= from_hour * kHour && second < to_hour * kHour) return t;
    const int64_t window = second < from_hour * kHour ? day : day + kDay;
    return window + from_hour * kHour +
           rng_.UniformInt(0, (to_hour - from_hour) * kHour - 1);
  }

  // ---- registration -------------------------------------------------------

  // Registration times are n sorted draws from a mixture: 30% of customers
  // (the existing base) in the first week, the rest evenly over the period.
  // Sorted uniforms are generated one at a time, ascending, as 1 minus the
  // running maximum M_k = M_{k+1} * U^(1/k), so nothing is held in memory.
  void ScheduleNextRegistration() {
    if (remaining_registrations_ == 0) return;
    running_max_ *= Exp(Log(rng_.UniformPositive()) /
                        static_cast<double>(remaining_registrations_));
    --remaining_registrations_;
    const double u = 1 - running_max_;
    const double d = options_.days;
    const double week = std::min(7.0, d);
    constexpr double kBase = 0.3;
    double day = 0;
    if (u <= kBase + (1 - kBase) * week / d) {
      day = u / (kBase / week + (1 - kBase) / d);
    } else {
      day = (u - kBase) * d / (1 - kBase);
    }
    const int64_t at =
        start_ + std::min<int64_t>(std::llround(day * kDay),
                                   int64_t{options_.days} * kDay - 1);
    Push(std::max(at, last_registration_at_), Kind::kRegister,
         static_cast<uint32_t>(customers_.size() + pending_registrations_));
    last_registration_at_ = std::max(at, last_registration_at_);
    ++pending_registrations_;
  }

  absl::Status Register(int64_t at, uint32_t index) {
    --pending_registrations_;
    KEHU_CHECK(index == customers_.size());
    customers_.emplace_back();
    Customer& c = customers_.back();
    c.type = static_cast<ev::RelationshipType>(
        1 + rng_.Pick({0.86, 0.10, 0.03, 0.01}));
    c.region = static_cast<uint8_t>(rng_.Pick({0.22, 0.24, 0.18, 0.20, 0.16}));
    ev::AcquisitionChannel channel = ev::ACQUISITION_CHANNEL_WEB;
    switch (c.type) {
      case ev::RELATIONSHIP_TYPE_BUSINESS:
        channel = std::array{ev::ACQUISITION_CHANNEL_SALES_REP,
                             ev::ACQUISITION_CHANNEL_WEB,
                             ev::ACQUISITION_CHANNEL_PARTNER,
                             ev::ACQUISITION_CHANNEL_REFERRAL,
                             ev::ACQUISITION_CHANNEL_CAMPAIGN}[rng_.Pick(
            {0.45, 0.25, 0.15, 0.10, 0.05})];
        c.order_rate = rng_.Gamma(1.5, 10.0 / 1.5) / 365;
        c.regularity = rng_.Uniform(2, 6);
        c.dropout = rng_.Beta(1, 18);
        c.spend = rng_.LogNormal(-0.5, 1.0);
        c.discount_affinity = rng_.Beta(1, 6);
        c.late_payer = rng_.Beta(1.5, 6);
        c.engagement = rng_.Beta(1.5, 6);
        c.return_propensity = rng_.LogNormal(-0.6, 0.5);
        c.pays_on_invoice = true;
        c.newsletter = rng_.Bernoulli(0.5);
        break;
      case ev::RELATIONSHIP_TYPE_DISTRIBUTOR:
        channel = rng_.Bernoulli(0.55) ? ev::ACQUISITION_CHANNEL_PARTNER
                                       : ev::ACQUISITION_CHANNEL_SALES_REP;
        c.order_rate = rng_.Gamma(3, 18.0 / 3) / 365;
        c.regularity = rng_.Uniform(4, 10);
        c.dropout = rng_.Beta(1, 40);
        c.spend = rng_.LogNormal(-0.25, 0.7);
        c.discount_affinity = 1;  // volume discount on every line
        c.late_payer = rng_.Beta(1.5, 8);
        c.engagement = rng_.Beta(1, 8);
        c.return_propensity = 0.4;
        c.pays_on_invoice = true;
        c.newsletter = rng_.Bernoulli(0.3);
        break;
      case ev::RELATIONSHIP_TYPE_INTERNAL:
        channel = ev::ACQUISITION_CHANNEL_STORE;  // the staff shop
        c.order_rate = rng_.Gamma(1, 3.0) / 365;
        c.regularity = 1;
        c.dropout = rng_.Beta(1, 30);
        c.spend = rng_.LogNormal(0, 0.5);
        c.engagement = rng_.Beta(2, 3);
        c.return_propensity = 0.5;
        c.pays_on_invoice = true;
        break;
      default:
        channel = std::array{ev::ACQUISITION_CHANNEL_WEB,
                             ev::ACQUISITION_CHANNEL_STORE,
                             ev::ACQUISITION_CHANNEL_CAMPAIGN,
                             ev::ACQUISITION_CHANNEL_REFERRAL,
                             ev::ACQUISITION_CHANNEL_MARKETPLACE,
                             ev::ACQUISITION_CHANNEL_CALL_CENTER,
                             ev::ACQUISITION_CHANNEL_PARTNER}[rng_.Pick(
            {0.40, 0.18, 0.12, 0.10, 0.10, 0.05, 0.05})];
        c.order_rate = rng_.Gamma(0.7, 3.5 / 0.7) / 365;
        // Gaps like a Poisson process, steady, or like clockwork.
        switch (rng_.Pick({0.6, 0.3, 0.1})) {
          case 0:
            c.regularity = 1;
            break;
          case 1:
            c.regularity = rng_.Uniform(1.5, 3);
            break;
          default:
            c.regularity = rng_.Uniform(4, 8);
            break;
        }
        c.dropout = rng_.Beta(1.2, 7);
        c.spend = rng_.LogNormal(-0.405, 0.9);  // mean 1
        c.discount_affinity = rng_.Beta(1.2, 5);
        c.late_payer = rng_.Beta(1, 12);
        c.engagement = rng_.Beta(2, 5);
        c.return_propensity = rng_.LogNormal(-0.18, 0.6);
        c.shops_online = rng_.Bernoulli(
            channel == ev::ACQUISITION_CHANNEL_STORE ||
                    channel == ev::ACQUISITION_CHANNEL_CALL_CENTER
                ? 0.3
                : 0.9);
        c.pays_on_invoice = rng_.Bernoulli(0.12);
        c.newsletter = rng_.Bernoulli(0.75);
        break;
    }
    c.order_rate = std::max(c.order_rate, 1e-9);
    c.mood = Clamp(rng_.Normal(0.35, 0.3), -1, 1);
    c.favourite_category = static_cast<uint8_t>(rng_.Pick(Popularity()));

    const char* source = "erp";
    if (channel == ev::ACQUISITION_CHANNEL_WEB ||
        channel == ev::ACQUISITION_CHANNEL_CAMPAIGN ||
        channel == ev::ACQUISITION_CHANNEL_REFERRAL ||
        channel == ev::ACQUISITION_CHANNEL_MARKETPLACE) {
      source = "webshop";
    } else if (channel == ev::ACQUISITION_CHANNEL_CALL_CENTER) {
      source = "callcenter";
    }
    Event* e = Scratch(index, at, source);
    ev::CustomerRegistered* r = e->mutable_customer_registered();
    r->set_name(Name(c, index));
    r->set_relationship_type(c.type);
    r->set_region(kRegions[c.region]);
    r->set_acquisition_channel(channel);
    FillContact(c, index, r->mutable_contact());
    KEHU_RETURN_IF_ERROR(Emit(*e));

    // Many buy right away; the others may come back later at their rate.
    constexpr double kBuysAtOnce[] = {0.65, 0.85, 0.95, 0.5};
    if (rng_.Bernoulli(kBuysAtOnce[TypeIndex(c.type)])) {
      Push(OrderTime(c, at + Seconds(rng_.Exponential(3))), Kind::kOrder,
           index);
    } else {
      ScheduleNextOrder(c, index, at);
    }
    ScheduleNextContact(c, index, at);
    ScheduleNextRegistration();
    return absl::OkStatus();
  }

  static std::array<double, kCategoryCount> Popularity() {
    std::array<double, kCategoryCount> weights{};
    for (int i = 0; i < kCategoryCount; ++i) {
      weights[i] = kCategories[i].popularity;
    }
    return weights;
  }

  // ---- contact data, derived from (seed, customer, version) ---------------

  uint64_t H(uint32_t customer, uint64_t field, uint64_t version) const {
    return Hash(options_.seed, customer, field, version);
  }

  std::string Name(const Customer& c, uint32_t customer) const {
    const uint64_t h = H(customer, 1, c.name_version);
    const std::string last = Element(kLastNames, h >> 8);
    switch (c.type) {
      case ev::RELATIONSHIP_TYPE_BUSINESS:
        return absl::StrCat(last, " ", Element(kBusinessSuffix, h >> 24));
      case ev::RELATIONSHIP_TYPE_DISTRIBUTOR:
        return absl::StrCat(last, " ", Element(kDistributorSuffix, h >> 24));
      case ev::RELATIONSHIP_TYPE_INTERNAL:
        return absl::StrCat("Kehu ", Element(kInternalUnits, h >> 24));
      default:
        return absl::StrCat(Element(kFirstNames, h), " ", last);
    }
  }

  void FillContact(const Customer& c, uint32_t customer,
                   ev::ContactData* contact) const {
    const uint64_t name = H(customer, 1, c.name_version);
    const uint64_t mail = H(customer, 2, c.email_version);
    const std::string last =
        absl::AsciiStrToLower(Element(kLastNames, name >> 8));
    static constexpr const char* kDomains[] = {"example.com", "example.net",
                                               "example.org"};
    if (c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER) {
      contact->set_email(
          absl::StrCat(absl::AsciiStrToLower(Element(kFirstNames, name)), ".",
                       last, customer + 1, "@", Element(kDomains, mail)));
    } else {
      static constexpr const char* kMailboxes[] = {"purchasing", "orders",
                                                   "accounts", "office"};
      contact->set_email(absl::StrCat(Element(kMailboxes, mail), "@", last, "-",
                                      customer + 1, ".",
                                      Element(kDomains, mail >> 8)));
    }
    const uint64_t phone = H(customer, 3, c.phone_version);
    contact->set_phone(
        absl::StrFormat("+49 %s %07u", kAreaCode[c.region],
                        static_cast<uint32_t>(phone % 10000000)));
    const uint64_t home = H(customer, 4, c.address_version);
    ev::PostalAddress* address = contact->mutable_address();
    address->add_lines(
        absl::StrCat(Element(kStreets, home), " ", 1 + (home >> 8) % 120));
    address->set_postal_code(
        absl::StrFormat("%s%04u", kPostalPrefix[c.region],
                        static_cast<uint32_t>((home >> 16) % 10000)));
    address->set_city(kCities[c.region][(home >> 32) % 4]);
    address->set_country("DE");
  }

  // ---- orders -------------------------------------------------------------

  // Orders in a shop or through the ERP happen in opening hours; the web
  // shop is open late.
  int64_t OrderTime(const Customer& c, int64_t t) {
    if (c.shops_online) return InHours(t, 6, 24);
    if (c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER)
      return InHours(t, 9, 20);
    return InHours(t, 8, 18);
  }

  void ScheduleNextOrder(const Customer& c, uint32_t index, int64_t now) {
    // Gamma gaps with mean 1 / rate; the shape sets how regular they are.
    const double gap_days =
        rng_.Gamma(c.regularity, 1 / (c.order_rate * c.regularity));
    Push(OrderTime(c, now + std::max<int64_t>(kHour, Seconds(gap_days))),
         Kind::kOrder, index);
  }

  absl::Status PlaceOrder(int64_t at, uint32_t index) {
    Customer& c = customers_[index];
    if (!c.active) return absl::OkStatus();
    const int type = TypeIndex(c.type);

    const char* source = "erp";
    ev::ContactChannel channel = ev::CONTACT_CHANNEL_EMAIL;
    if (c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER) {
      if (c.shops_online) {
        source = "webshop";
        channel = ev::CONTACT_CHANNEL_WEB;
      } else {
        // In a store, or by phone through the call center; both book in the
        // ERP.
        channel = rng_.Bernoulli(0.85) ? ev::CONTACT_CHANNEL_STORE
                                       : ev::CONTACT_CHANNEL_PHONE;
      }
    } else {
      channel = std::array{ev::CONTACT_CHANNEL_EMAIL, ev::CONTACT_CHANNEL_PHONE,
                           ev::CONTACT_CHANNEL_WEB}[rng_.Pick({0.5, 0.3, 0.2})];
    }
    const bool in_store = channel == ev::CONTACT_CHANNEL_STORE;
    const bool knows_cost = std::string(source) == "erp";

    auto order_event = NewEvent(index, at, source);
    ev::OrderPlaced* order = order_event->mutable_order_placed();
    const std::string order_id = absl::StrFormat("O%09d", ++orders_);
    order->set_order_id(order_id);
    order->set_currency(options_.currency);
    order->set_channel(channel);

    constexpr double kExtraLines[] = {0.5, 1.2, 2.0, 0.3};
    constexpr double kBaseQuantity[] = {1.0, 3.0, 8.0, 1.5};
    const int64_t line_count =
        1 + std::min<int64_t>(4, rng_.Poisson(kExtraLines[type]));
    double return_rate = 0;
    int64_t net_total = 0;
    for (int64_t i = 0; i < line_count; ++i) {
      const int category = rng_.Bernoulli(0.5)
                               ? c.favourite_category
                               : static_cast<int>(rng_.Pick(Popularity()));
      const Product& product = catalog_.Pick(category, rng_);
      const int64_t quantity = std::clamp<int64_t>(
          std::llround(kBaseQuantity[type] * c.spend * rng_.LogNormal(0, 0.3)),
          1, 10000);
      return_rate = std::max(return_rate, kCategories[category].return_rate);
      ev::OrderLine* line = nullptr;
      for (ev::OrderLine& existing : *order->mutable_lines()) {
        if (existing.sku() == product.sku) line = &existing;
      }
      if (line == nullptr) {
        line = order->add_lines();
        line->set_sku(product.sku);
        line->set_category(kCategories[category].name);
        line->set_unit_price_minor(product.price);
        if (knows_cost) line->set_unit_cost_minor(product.cost);
      }
      line->set_quantity(line->quantity() + quantity);
    }
    for (ev::OrderLine& line : *order->mutable_lines()) {
      const int64_t gross = line.quantity() * line.unit_price_minor();
      double share = 0;
      if (c.type == ev::RELATIONSHIP_TYPE_DISTRIBUTOR) {
        share = rng_.Uniform(0.08, 0.18);
      } else if (rng_.Bernoulli(c.discount_affinity)) {
        share = std::array{0.05, 0.1, 0.15, 0.2,
                           0.3}[rng_.Pick({0.3, 0.3, 0.2, 0.15, 0.05})];
      }
      line.set_discount_minor(std::clamp<int64_t>(
          std::llround(static_cast<double>(gross) * share), 0, gross));
      net_total += gross - line.discount_minor();
    }
    KEHU_RETURN_IF_ERROR(Emit(*order_event));
    ScheduleOrderFollowUps(c, index, at, *order, source, in_store, net_total,
                           return_rate);

    // BG/NBD: after each purchase the customer may drop out for good, more
    // likely when unhappy or with complaints left open.
    const double dropout = c.dropout + 0.15 * std::max(0.0, -c.mood) +
                           0.1 * std::min(c.open_complaints, 3);
    if (rng_.Bernoulli(dropout)) {
      c.active = false;
    } else {
      ScheduleNextOrder(c, index, at);
    }
    return absl::OkStatus();
  }

  void ScheduleOrderFollowUps(const Customer& c, uint32_t index, int64_t at,
                              const ev::OrderPlaced& order, const char* source,
                              bool in_store, int64_t net_total,
                              double return_rate) {
    const std::string& order_id = order.order_id();
    if (!in_store && rng_.Bernoulli(0.02)) {
      const int64_t when = at + rng_.UniformInt(10 * kMinute, 6 * kHour);
      auto e = NewEvent(index, when, source);
      e->mutable_order_cancelled()->set_order_id(order_id);
      e->mutable_order_cancelled()->set_reason(std::array{
          "changed mind", "found a better price", "delivery too slow",
          "ordered by mistake"}[rng_.Pick({0.4, 0.2, 0.2, 0.2})]);
      Push(when, Kind::kEmit, index, std::move(e));
      return;  // nothing ships, nothing is paid
    }
    const int64_t dispatched =
        in_store ? at : at + rng_.UniformInt(7 * kHour, 30 * kHour);

    // Payment: in the store at the till; online prepaid at dispatch; on
    // invoice by the due date, or late.
    int64_t paid = dispatched;
    int64_t due = dispatched;
    const char* payment_source =
        std::string(source) == "webshop" ? "webshop" : "erp";
    if (in_store) {
      paid = at + rng_.UniformInt(30, 5 * kMinute);
      due = paid;
    } else if (c.pays_on_invoice) {
      payment_source = "erp";
      const int64_t term =
          (c.type == ev::RELATIONSHIP_TYPE_DISTRIBUTOR       ? 45
           : c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER ? 14
                                                             : 30) *
          kDay;
      due = dispatched + term;
      if (rng_.Bernoulli(c.late_payer)) {
        paid = due + kDay + Seconds(rng_.Gamma(1.5, 8));
        const int64_t reminder = InHours(due + 7 * kDay, 9, 17);
        if (reminder < paid) {
          auto call = NewEvent(index, reminder, "callcenter");
          ev::CallLogged* log = call->mutable_call_logged();
          log->set_direction(ev::DIRECTION_OUTBOUND);
          log->set_reason("payment reminder");
          const bool answered = rng_.Bernoulli(0.7);
          log->set_outcome(answered ? ev::CALL_OUTCOME_RESOLVED
                                    : ev::CALL_OUTCOME_NO_ANSWER);
          log->set_duration_seconds(
              answered ? std::llround(rng_.LogNormal(Log(180), 0.4))
                       : rng_.UniformInt(15, 40));
          Push(reminder, Kind::kEmit, index, std::move(call));
        }
      } else {
        paid = due -
               std::llround(rng_.Uniform(0, 0.8) * static_cast<double>(term));
      }
    }
    {
      auto e = NewEvent(index, paid, payment_source);
      ev::PaymentReceived* p = e->mutable_payment_received();
      p->set_invoice_id(absl::StrCat("INV", order_id.substr(1)));
      p->set_order_id(order_id);
      p->mutable_amount()->set_minor_units(net_total);
      p->mutable_amount()->set_currency(options_.currency);
      p->mutable_due_at()->set_seconds(due);
      Push(paid, Kind::kEmit, index, std::move(e));
    }

    int64_t delivered =
        in_store ? at : dispatched + rng_.UniformInt(kDay, 3 * kDay);
    if (!in_store && rng_.Bernoulli(0.06)) {
      const int64_t days_late = rng_.UniformInt(3, 10);
      delivered += days_late * kDay;
      Push(delivered, Kind::kMood, index, nullptr, -0.25);
      if (rng_.Bernoulli(0.35)) {
        ScheduleComplaint(
            index, InHours(delivered + rng_.UniformInt(kHour, 2 * kDay), 8, 20),
            "delivery", order_id,
            absl::StrCat("Parcel arrived ", days_late, " days late"));
      }
    } else if (rng_.Bernoulli(0.01)) {
      const size_t what = rng_.Pick({0.4, 0.3, 0.3});
      ScheduleComplaint(
          index, InHours(delivered + rng_.UniformInt(kDay, 10 * kDay), 8, 20),
          std::array{"service", "billing", "product quality"}[what], order_id,
          std::array{"Rude staff on the hotline", "Charged twice",
                     "Item stopped working"}[what]);
    }

    // Returns: partial, refunded pro rata.
    if (rng_.Bernoulli(std::min(0.6, return_rate * c.return_propensity))) {
      const int64_t when =
          in_store ? InHours(at + rng_.UniformInt(kDay, 14 * kDay), 9, 20)
                   : delivered + rng_.UniformInt(2 * kDay, 20 * kDay);
      auto e = NewEvent(index, when, source);
      ev::OrderReturned* r = e->mutable_order_returned();
      r->set_order_id(order_id);
      r->set_return_id(absl::StrFormat("R%09d", ++returns_));
      int64_t refund = 0;
      const int first =
          static_cast<int>(rng_.UniformInt(0, order.lines_size() - 1));
      for (int i = 0; i < order.lines_size(); ++i) {
        if (i != first && !rng_.Bernoulli(0.5)) continue;
        const ev::OrderLine& line = order.lines(i);
        const int64_t quantity = rng_.UniformInt(1, line.quantity());
        ev::ReturnLine* back = r->add_lines();
        back->set_sku(line.sku());
        back->set_quantity(quantity);
        const int64_t net =
            line.quantity() * line.unit_price_minor() - line.discount_minor();
        refund += net / line.quantity() * quantity;
      }
      r->mutable_refund()->set_minor_units(refund);
      r->mutable_refund()->set_currency(options_.currency);
      const bool apparel =
          std::string(order.lines(first).category()) == "apparel";
      const size_t reason =
          rng_.Pick({0.15, 0.12, 0.18, apparel ? 0.30 : 0.03, 0.30});
      r->set_reason(std::array{"damaged in transit", "defective",
                               "not as described", "wrong size",
                               "no longer needed"}[reason]);
      const bool faulty = reason <= 1;
      Push(when, Kind::kEmit, index, std::move(e), faulty ? -0.15 : -0.03);
      if (faulty && rng_.Bernoulli(0.4)) {
        ScheduleComplaint(index,
                          InHours(when + rng_.UniformInt(0, kDay), 8, 20),
                          "product quality", order_id,
                          reason == 0 ? "Item arrived damaged"
                                      : "Item defective after a few days");
      }
    }

    if (rng_.Bernoulli(0.12)) {
      const int64_t when =
          InHours(delivered + rng_.UniformInt(2 * kDay, 7 * kDay), 8, 22);
      auto e = NewEvent(index, when, "webshop");
      ev::SurveyAnswered* s = e->mutable_survey_answered();
      s->set_survey_id(absl::StrCat("post-purchase-", order_id));
      s->set_csat(0);  // asked; the answer is filled in when it is given
      if (rng_.Bernoulli(0.7)) s->set_nps(0);
      Push(when, Kind::kSurvey, index, std::move(e));
    }
  }

  // ---- complaints ---------------------------------------------------------

  void ScheduleComplaint(uint32_t index, int64_t at, const char* category,
                         const std::string& order_id,
                         const std::string& description) {
    auto e = NewEvent(index, at, "callcenter");
    ev::ComplaintFiled* f = e->mutable_complaint_filed();
    f->set_complaint_id(absl::StrFormat("CP%08d", ++complaints_));
    f->set_category(category);
    const std::string cat = category;
    using Weights = std::array<double, 4>;  // low, medium, high, critical
    const Weights severity = cat == "delivery" ? Weights{0.4, 0.45, 0.15, 0}
                             : cat == "product quality"
                                 ? Weights{0, 0.4, 0.45, 0.15}
                             : cat == "billing" ? Weights{0.3, 0.5, 0.2, 0}
                                                : Weights{0.5, 0.4, 0.1, 0};
    f->set_severity(static_cast<ev::Severity>(1 + rng_.Pick(severity)));
    f->set_channel(std::array{
        ev::CONTACT_CHANNEL_PHONE, ev::CONTACT_CHANNEL_EMAIL,
        ev::CONTACT_CHANNEL_WEB,
        ev::CONTACT_CHANNEL_SOCIAL}[rng_.Pick({0.5, 0.3, 0.15, 0.05})]);
    f->set_description(description);
    f->set_order_id(order_id);
    Push(at, Kind::kComplaint, index, std::move(e));
  }

  absl::Status FileComplaint(int64_t at, uint32_t index,
                             std::unique_ptr<Event> event) {
    Customer& c = customers_[index];
    const ev::ComplaintFiled& f = event->complaint_filed();
    const int severity = f.severity() - 1;  // 0 (low) .. 3 (critical)
    ++c.open_complaints;
    AddMood(c, -0.1 - 0.05 * severity);
    const std::string complaint_id = f.complaint_id();
    const bool by_phone = f.channel() == ev::CONTACT_CHANNEL_PHONE;
    KEHU_RETURN_IF_ERROR(Emit(*event));
    if (by_phone) {
      Event* e = Scratch(index, at, "callcenter");
      ev::CallLogged* call = e->mutable_call_logged();
      call->set_direction(ev::DIRECTION_INBOUND);
      call->set_reason("complaint");
      call->set_duration_seconds(std::llround(rng_.LogNormal(Log(420), 0.5)));
      call->set_outcome(severity >= 2 ? ev::CALL_OUTCOME_ESCALATED
                                      : ev::CALL_OUTCOME_FOLLOW_UP);
      KEHU_RETURN_IF_ERROR(Emit(*e));
    }

    constexpr double kResolved[] = {0.95, 0.9, 0.8, 0.7};
    if (!rng_.Bernoulli(kResolved[severity])) {
      // Left open: the customer gives up on it three weeks later.
      Push(at + 21 * kDay, Kind::kMood, index, nullptr, -0.5);
      return absl::OkStatus();
    }
    constexpr double kMeanHours[] = {30, 45, 60, 24};
    const double hours = rng_.Gamma(1.5, kMeanHours[severity] / 1.5);
    const int64_t when = InHours(at + std::llround(hours * kHour), 8, 18);
    auto e = NewEvent(index, when, "callcenter");
    ev::ComplaintResolved* r = e->mutable_complaint_resolved();
    r->set_complaint_id(complaint_id);
    const std::string category = f.category();
    r->set_resolution(
        category == "delivery"
            ? std::array{"apology voucher",
                         "explanation"}[rng_.Pick({0.6, 0.4})]
        : category == "product quality"
            ? std::array{"replacement", "refund"}[rng_.Pick({0.5, 0.5})]
        : category == "billing" ? "invoice corrected"
                                : "explanation");
    double delta = 0.1;  // not asked
    if (rng_.Bernoulli(0.75)) {
      const double days = static_cast<double>(when - at) / kDay;
      const bool satisfied = rng_.Bernoulli(
          Clamp(0.9 - 0.08 * severity - 0.04 * days, 0.15, 0.95));
      r->set_customer_satisfied(satisfied);
      delta = satisfied ? 0.25 : -0.2;
    }
    Push(when, Kind::kResolution, index, std::move(e), delta);
    return absl::OkStatus();
  }

  absl::Status ResolveComplaint(int64_t at, uint32_t index, Event& event,
                                double delta) {
    Customer& c = customers_[index];
    c.open_complaints = std::max(0, c.open_complaints - 1);
    AddMood(c, delta);
    const std::string complaint_id = event.complaint_resolved().complaint_id();
    KEHU_RETURN_IF_ERROR(Emit(event));
    if (rng_.Bernoulli(0.4)) {
      const int64_t when = InHours(at + rng_.UniformInt(kDay, 3 * kDay), 8, 20);
      auto e = NewEvent(index, when, "callcenter");
      ev::SurveyAnswered* s = e->mutable_survey_answered();
      s->set_survey_id(absl::StrCat("post-complaint-", complaint_id));
      s->set_csat(0);  // asked; filled in when answered
      if (rng_.Bernoulli(0.3)) s->set_nps(0);
      Push(when, Kind::kSurvey, index, std::move(e));
    }
    return absl::OkStatus();
  }

  // ---- surveys ------------------------------------------------------------

  // Fills in the questions that were asked (csat / nps present) from the
  // customer's experience so far: open complaints weigh heavily.
  absl::Status AnswerSurvey(const Customer& c, Event& event) {
    ev::SurveyAnswered* s = event.mutable_survey_answered();
    const double experience = c.mood - 0.35 * std::min(c.open_complaints, 3);
    if (s->has_csat()) {
      s->set_csat(static_cast<int32_t>(std::clamp<int64_t>(
          std::llround(3.6 + 1.6 * experience + rng_.Normal(0, 0.6)), 1, 5)));
    }
    if (s->has_nps()) {
      s->set_nps(static_cast<int32_t>(std::clamp<int64_t>(
          std::llround(7.2 + 3.0 * experience + rng_.Normal(0, 1.3)), 0, 10)));
    }
    if (s->has_csat() && s->csat() <= 2 && rng_.Bernoulli(0.5)) {
      s->set_comment(
          std::array{"Nobody got back to me", "Delivery took too long",
                     "Poor quality for the price"}[rng_.Pick({1, 1, 1})]);
    } else if (s->has_csat() && s->csat() == 5 && rng_.Bernoulli(0.3)) {
      s->set_comment(std::array{"Great service",
                                "Fast delivery, thanks"}[rng_.Pick({1, 1})]);
    }
    return Emit(event);
  }

  // ---- contacts -----------------------------------------------------------

  void ScheduleNextContact(const Customer& c, uint32_t index, int64_t now) {
    std::array<double, kContactKindCount> rates{};
    const int type = TypeIndex(c.type);
    double total = 0;
    for (int k = 0; k < kContactKindCount; ++k) {
      double rate = kContactsPerMonth[k][type];
      if (k == kMarketingEmail && !c.newsletter) rate = 0;
      // A customer who stopped buying calls and writes less.
      if (!c.active && (k == kInboundCall || k == kServiceEmail)) rate *= 0.3;
      rates[k] = rate;
      total += rate;
    }
    if (total <= 0) return;
    const auto kind = static_cast<ContactKind>(rng_.Pick(rates));
    int64_t when =
        now + std::max<int64_t>(kMinute, Seconds(rng_.Exponential(30 / total)));
    switch (kind) {
      case kMarketingEmail:
        when = InHours(when, 9, 11);
        break;
      case kInboundCall:
        when = InHours(when, 8, 18);
        break;
      case kOutboundCall:
        when = InHours(when, 9, 17);
        break;
      default:
        when = InHours(when, 7, 22);
        break;
    }
    Push(when, Kind::kContact, index, nullptr, 0, kind);
  }

  absl::Status Contact(int64_t at, uint32_t index, ContactKind kind) {
    Customer& c = customers_[index];
    switch (kind) {
      case kMarketingEmail: {
        const absl::CivilSecond civil =
            absl::ToCivilSecond(absl::FromUnixSeconds(at), absl::UTCTimeZone());
        const int month = civil.month();
        const char* campaign = "newsletter";
        const char* subject = "News from our shop";
        switch (month) {
          case 1:
            campaign = "new-year-sale";
            subject = "New year, new deals";
            break;
          case 3:
            campaign = "spring-sale";
            subject = "Spring sale: up to 30% off";
            break;
          case 6:
            campaign = "summer-sale";
            subject = "Summer sale starts now";
            break;
          case 9:
            campaign = "back-to-school";
            subject = "Back to school offers";
            break;
          case 11:
            campaign = "black-friday";
            subject = "Black Friday week";
            break;
          case 12:
            campaign = "christmas";
            subject = "Gifts for everyone";
            break;
          default:
            break;
        }
        Event* e = Scratch(index, at, "webshop");
        ev::EmailLogged* m = e->mutable_email_logged();
        m->set_direction(ev::DIRECTION_OUTBOUND);
        m->set_subject(subject);
        m->set_campaign(
            absl::StrFormat("%s-%04d-%02d", campaign, civil.year(), month));
        const bool opened = rng_.Bernoulli(c.engagement * (c.active ? 1 : 0.5));
        m->set_opened(opened);
        m->set_clicked(opened && rng_.Bernoulli(0.15 + 0.3 * c.engagement));
        KEHU_RETURN_IF_ERROR(Emit(*e));
        break;
      }
      case kInboundCall: {
        Event* e = Scratch(index, at, "callcenter");
        ev::CallLogged* call = e->mutable_call_logged();
        call->set_direction(ev::DIRECTION_INBOUND);
        const size_t reason = rng_.Pick({0.3, 0.25, 0.2, 0.1, 0.15});
        call->set_reason(std::array{"product question", "delivery", "invoice",
                                    "account", "returns"}[reason]);
        call->set_outcome(std::array{
            ev::CALL_OUTCOME_RESOLVED, ev::CALL_OUTCOME_FOLLOW_UP,
            ev::CALL_OUTCOME_ESCALATED, ev::CALL_OUTCOME_SALE}[rng_.Pick(
            {0.65, 0.2, 0.05, reason == 0 ? 0.2 : 0.02})]);
        call->set_duration_seconds(
            std::max<int64_t>(20, std::llround(rng_.LogNormal(Log(240), 0.6))));
        KEHU_RETURN_IF_ERROR(Emit(*e));
        break;
      }
      case kOutboundCall: {
        Event* e = Scratch(index, at, "callcenter");
        ev::CallLogged* call = e->mutable_call_logged();
        call->set_direction(ev::DIRECTION_OUTBOUND);
        call->set_reason(
            !c.active
                ? "win-back"
                : std::array{"account review", "offer",
                             "satisfaction check"}[rng_.Pick({0.4, 0.4, 0.2})]);
        const auto outcome = std::array{
            ev::CALL_OUTCOME_NO_ANSWER, ev::CALL_OUTCOME_FOLLOW_UP,
            ev::CALL_OUTCOME_RESOLVED,
            ev::CALL_OUTCOME_SALE}[rng_.Pick({0.3, 0.3, 0.25, 0.15})];
        call->set_outcome(outcome);
        call->set_duration_seconds(
            outcome == ev::CALL_OUTCOME_NO_ANSWER
                ? rng_.UniformInt(15, 40)
                : std::llround(rng_.LogNormal(Log(300), 0.5)));
        KEHU_RETURN_IF_ERROR(Emit(*e));
        break;
      }
      case kServiceEmail: {
        Event* e = Scratch(index, at, "callcenter");
        ev::EmailLogged* m = e->mutable_email_logged();
        m->set_direction(ev::DIRECTION_INBOUND);
        m->set_subject(std::array{
            "Question about my order", "Change of delivery address",
            "Invoice copy",
            "Product availability"}[rng_.Pick({0.4, 0.2, 0.2, 0.2})]);
        KEHU_RETURN_IF_ERROR(Emit(*e));
        break;
      }
      case kRelationshipSurvey: {
        const absl::CivilSecond civil =
            absl::ToCivilSecond(absl::FromUnixSeconds(at), absl::UTCTimeZone());
        Event* e = Scratch(index, at, "callcenter");
        ev::SurveyAnswered* s = e->mutable_survey_answered();
        s->set_survey_id(absl::StrFormat("relationship-%04d-q%d", civil.year(),
                                         (civil.month() + 2) / 3));
        s->set_nps(0);  // asked; filled in by AnswerSurvey
        if (rng_.Bernoulli(0.3)) s->set_csat(0);
        KEHU_RETURN_IF_ERROR(AnswerSurvey(c, *e));
        break;
      }
      case kProfileChange: {
        const bool retail = c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER;
        Event* e = Scratch(index, at, retail ? "webshop" : "erp");
        ev::ProfileUpdated* p = e->mutable_profile_updated();
        switch (rng_.Pick({0.4, 0.25, 0.2, 0.1, 0.05})) {
          case 0:
            ++c.email_version;
            FillContact(c, index, p->mutable_contact());
            break;
          case 1:
            ++c.phone_version;
            FillContact(c, index, p->mutable_contact());
            break;
          case 2:  // moved, possibly to another region
            c.region = static_cast<uint8_t>(rng_.UniformInt(0, 4));
            ++c.address_version;
            ++c.phone_version;
            p->set_region(kRegions[c.region]);
            FillContact(c, index, p->mutable_contact());
            break;
          case 3:
            ++c.name_version;
            p->set_name(Name(c, index));
            break;
          default:  // grew: consumer -> business, business -> distributor
            if (c.type == ev::RELATIONSHIP_TYPE_RETAIL_CONSUMER ||
                c.type == ev::RELATIONSHIP_TYPE_BUSINESS) {
              c.type = c.type == ev::RELATIONSHIP_TYPE_BUSINESS
                           ? ev::RELATIONSHIP_TYPE_DISTRIBUTOR
                           : ev::RELATIONSHIP_TYPE_BUSINESS;
              c.pays_on_invoice = true;
              c.shops_online = false;
              p->set_relationship_type(c.type);
              p->set_name(Name(c, index));
            } else {
              ++c.email_version;
              FillContact(c, index, p->mutable_contact());
            }
            break;
        }
        KEHU_RETURN_IF_ERROR(Emit(*e));
        break;
      }
      case kContactKindCount:
        break;
    }
    ScheduleNextContact(c, index, at);
    return absl::OkStatus();
  }

  const SimulatorOptions& options_;
  const Simulator::Sink& sink_;
  SimulatorStats* stats_;
  Random rng_;
  const Catalog catalog_;
  const int64_t start_;
  const int64_t end_;

  std::vector<Customer> customers_;
  std::vector<Action> heap_;  // std::push_heap / pop_heap with Later
  uint64_t next_seq_ = 0;
  Event scratch_;  // reused for events delivered as soon as they are built

  int64_t remaining_registrations_;
  int64_t pending_registrations_ = 0;
  double running_max_ = 1;
  int64_t last_registration_at_ = 0;

  int64_t emitted_ = 0;
  int64_t last_emitted_at_ = INT64_MIN;
  int64_t orders_ = 0;
  int64_t returns_ = 0;
  int64_t complaints_ = 0;
};

absl::Status CheckOptions(const SimulatorOptions& o) {
  if (o.customers < 0 || o.customers > 1000000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "simulator: customers must lie in 0..1000000000, got ", o.customers));
  }
  if (o.days < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("simulator: days must not be negative, got ", o.days));
  }
  const int64_t start = absl::ToUnixSeconds(o.start);
  if (start < 0 || start > kMaxSeconds - int64_t{o.days} * kDay) {
    return absl::InvalidArgumentError(
        "simulator: the period must lie between 1970 and 9999");
  }
  bool currency_ok = o.currency.size() == 3;
  for (char ch : o.currency)
    currency_ok = currency_ok && ch >= 'A' && ch <= 'Z';
  if (!currency_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "simulator: currency must be an ISO 4217 code of three upper-case "
        "letters, got \"",
        o.currency, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

Simulator::Simulator(SimulatorOptions options) : options_(std::move(options)) {}

absl::Status Simulator::Run(const Sink& sink) {
  stats_ = SimulatorStats();
  KEHU_RETURN_IF_ERROR(CheckOptions(options_));
  if (options_.days == 0) return absl::OkStatus();
  Generation generation(options_, sink, &stats_);
  return generation.Run();
}

}  // namespace kehu::producers
