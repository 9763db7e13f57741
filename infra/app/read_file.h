// Reading the small files that flags name (certificates, keys, tokens).
#ifndef KEHU_INFRA_APP_READ_FILE_H_
#define KEHU_INFRA_APP_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace kehu::app {

// Returns the whole content of the file at `path`. The error says
// "cannot read PATH: REASON" (REASON from the operating system); callers
// prefix the flag that named the file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_READ_FILE_H_
