#include <iostream>

#include "absl/strings/str_format.h"
#include "infra/app/commands.h"
#include "infra/app/serving_stores.h"
#include "infra/projection_store.h"
#include "infra/store_digest.h"

namespace kehu::app {

int RunDigest(const std::string& data_dir, const std::string& store_name,
              bool families) {
  std::string name = store_name;
  if (name.empty()) {
    absl::StatusOr<std::string> active = ActiveStoreName(data_dir);
    if (!active.ok()) {
      std::cerr << "kehu digest: --data " << data_dir << ": "
                << active.status().message() << "\n";
      return kExitError;
    }
    name = *active;
  }
  const std::string dir = data_dir + "/" + name;
  // Read-only: works beside a `kehu serve` that holds the store, and
  // never changes the store it vouches for.
  auto store = infra::ProjectionStore::OpenReadOnly(dir);
  if (!store.ok()) {
    std::cerr << "kehu digest: "
              << (store_name.empty() ? "--data " + data_dir
                                     : "--store " + store_name)
              << ": " << store.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<infra::StoreDigest> digest = infra::DigestStore(**store);
  if (!digest.ok()) {
    std::cerr << "kehu digest: " << dir << ": " << digest.status().message()
              << "\n";
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
