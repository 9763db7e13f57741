#include "infra/store_digest.h"

#include <openssl/evp.h>

#include <memory>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "infra/check.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"

namespace kehu::infra {
namespace {

using schema::Family;

// One SHA-256 computation (OpenSSL's EVP interface).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    KEHU_CHECK(ctx_ != nullptr);
    KEHU_CHECK(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1);
  }
  void Update(std::string_view bytes) {
    KEHU_CHECK(EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1);
  }
  // Lowercase hex; the object is spent afterwards.
  std::string Hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    KEHU_CHECK(EVP_DigestFinal_ex(ctx_.get(), out, &size) == 1);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(out), size));
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// True for the keys of `segments` whose values are counters (store_schema.h).
bool IsCounterKey(std::string_view key) {
  return !key.empty() && (key[0] == 'c' || key[0] == 't' || key[0] == 'm');
}

// The counters without those after the last non-zero one; empty for a row
// of zeros. A value that is not a whole number of counters is kept as it
// is, so that the digest shows it.
std::string CanonicalCounters(std::string_view value) {
  if (value.size() % 8 != 0) return std::string(value);
  std::vector<int64_t> counters = schema::DecodeCounters(value);
  while (!counters.empty() && counters.back() == 0) counters.pop_back();
  return schema::EncodeCounters(counters);
}

void AppendLengthPrefixed(std::string_view bytes, std::string* out) {
  schema::PutFixed64BE(out, bytes.size());
  out->append(bytes);
}

}  // namespace

absl::StatusOr<StoreDigest> DigestStore(const ProjectionStore& store) {
  rocksdb::ManagedSnapshot snapshot(store.db());
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot();
  // A one-off full scan: keep it out of the block cache.
  read.fill_cache = false;

  StoreDigest digest;
  Sha256 all;
  std::string row;
  for (int f = 0; f < schema::kFamilyCount; ++f) {
    const Family family = static_cast<Family>(f);
    const std::string_view name = schema::FamilyName(family);
    FamilyDigest family_digest;
    family_digest.family = std::string(name);
    Sha256 one;
    std::unique_ptr<rocksdb::Iterator> it(
        store.db()->NewIterator(read, store.family(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      std::string_view value = it->value().ToStringView();
      std::string canonical;
      if (family == Family::kSegments && IsCounterKey(key)) {
        canonical = CanonicalCounters(value);
        if (canonical.empty()) continue;
        value = canonical;
      }
      row.clear();
      AppendLengthPrefixed(name, &row);
      AppendLengthPrefixed(key, &row);
      AppendLengthPrefixed(value, &row);
      one.Update(row);
      all.Update(row);
      ++family_digest.rows;
    }
    // Valid() == false is the end or an error; tell them apart.
    KEHU_RETURN_IF_ERROR(
        FromRocks(it->status(), absl::StrCat("scanning ", std::string(name))));
    family_digest.hex = one.Hex();
    digest.rows += family_digest.rows;
    digest.families.push_back(std::move(family_digest));
  }
  digest.hex = all.Hex();
  return digest;
}

}  // namespace kehu::infra
