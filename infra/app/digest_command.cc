#include <iostream>

#include "absl/strings/str_format.h"
#include "infra/app/commands.h"
#include "infra/projection_store.h"
#include "infra/store_digest.h"

namespace kehu::app {

int RunDigest(const std::string& data_dir, bool families) {
  // Read-only: works beside a `kehu serve` that holds the store, and
  // never changes the store it vouches for.
  auto store = infra::ProjectionStore::OpenReadOnly(data_dir + "/store");
  if (!store.ok()) {
    std::cerr << "kehu digest: --data " << data_dir << ": "
              << store.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<infra::StoreDigest> digest = infra::DigestStore(**store);
  if (!digest.ok()) {
    std::cerr << "kehu digest: " << data_dir
              << "/store: " << digest.status().message() << "\n";
    return kExitError;
  }
  std::cout << digest->hex << "\n";
  if (families) {
    for (const auto& f : digest->families) {
      std::cout << absl::StrFormat("  %-11s %10d rows  %s\n", f.family, f.rows,
                                   f.hex);
    }
  }
  return kExitOk;
}

}  // namespace kehu::app
