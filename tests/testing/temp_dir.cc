#include "tests/testing/temp_dir.h"

#include <cstdlib>
#include <filesystem>

#include "infra/check.h"

namespace kehu::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr ? base : "/tmp") + "/kehu-test-XXXXXX";
  KEHU_CHECK(mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Sub(const std::string& name) const {
  return path_ + "/" + name;
}

}  // namespace kehu::testing
