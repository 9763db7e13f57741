#include <iostream>

#include "absl/strings/str_format.h"
#include "infra/app/client_channel.h"
#include "infra/app/commands.h"
#include "infra/app/format.h"
#include "kehu/admin/v1/admin.grpc.pb.h"

namespace kehu::app {

int RunFit(const ClientOptions& options) {
  admin::v1::FitRequest request;
  if (!options.as_of.empty()) {
    absl::Time as_of;
    if (!ParseDay(options.as_of, &as_of)) {
      std::cerr << "kehu fit: --as-of: expected YYYY-MM-DD, got \""
                << options.as_of << "\"\n";
      return kExitError;
    }
    request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(as_of));
  }
  auto stub = admin::v1::Admin::NewStub(
      MakeClientChannel(options.server, options.security));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  admin::v1::FitResponse r;
  grpc::Status s = stub->Fit(&context, request, &r);
  if (!s.ok()) {
    std::cerr << "kehu fit: ";
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      std::cerr << "cannot reach " << options.server << ": ";
    }
    std::cerr << s.error_message() << "\n";
    return kExitError;
  }
  std::cout << "population as of " << FormatDate(r.as_of()) << " ("
            << absl::StrFormat("%.2f", r.seconds()) << " s)\n";
  std::cout << absl::StrFormat(
      "  customers      %d with purchases, %d active in the last 365 days\n",
      r.purchasing_customers(), r.active_customers());
  std::cout << absl::StrFormat(
      "  pareto         %d key customers (%.1f%% of active) bring 80%% of "
      "the margin\n",
      r.pareto_key_customers(), 100 * r.pareto_key_share());
  std::cout << absl::StrFormat(
      "  pyramid        key %d (margin >= %s), potential %d (>= %s), the "
      "rest regular or one-time\n",
      r.pyramid_key_customers(),
      FormatMoney(r.pyramid_key_cutoff_minor(), r.currency()),
      r.pyramid_potential_customers(),
      FormatMoney(r.pyramid_potential_cutoff_minor(), r.currency()));
  // Cut points as "a | b | c | d": money in the currency when one is given,
  // else numbers with `decimals` decimals.
  auto cuts = [](const auto& values, int decimals,
                 const std::string& currency) {
    std::string out;
    for (double v : values) {
      if (!out.empty()) out += " | ";
      out += currency.empty() ? absl::StrFormat("%.*f", decimals, v)
                              : FormatMoney(static_cast<int64_t>(v), currency);
    }
    return out.empty() ? std::string("-") : out;
  };
  std::cout << "  rfm cuts       recency days "
            << cuts(r.recency_days_cuts(), 1, "")
            << "\n                 frequency "
            << cuts(r.frequency_cuts(), 0, "") << "\n                 monetary "
            << cuts(r.monetary_minor_cuts(), 0, r.currency()) << "\n";
  if (r.bg_nbd_error().empty()) {
    std::cout << absl::StrFormat(
        "  bg/nbd         r %.4f, alpha %.4f, a %.4f, b %.4f (weeks)\n",
        r.bg_nbd_r(), r.bg_nbd_alpha(), r.bg_nbd_a(), r.bg_nbd_b());
  } else {
    std::cout << "  bg/nbd         not fitted: " << r.bg_nbd_error() << "\n";
  }
  if (r.gamma_gamma_error().empty()) {
    std::cout << absl::StrFormat(
        "  gamma-gamma    p %.4f, q %.4f, gamma %.2f (minor units)\n",
        r.gamma_gamma_p(), r.gamma_gamma_q(), r.gamma_gamma_gamma());
  } else {
    std::cout << "  gamma-gamma    not fitted: " << r.gamma_gamma_error()
              << "\n";
  }
  return kExitOk;
}

}  // namespace kehu::app
