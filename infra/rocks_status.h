// Translation of RocksDB errors into absl::Status, in one place.
#ifndef KEHU_INFRA_ROCKS_STATUS_H_
#define KEHU_INFRA_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace kehu::infra {

// Maps a RocksDB status to the absl code a caller can act on: corruption
// becomes DATA_LOSS, I/O errors UNAVAILABLE, busy/locked ABORTED... The
// message says what kehu was doing (`context`) and what RocksDB said.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_ROCKS_STATUS_H_
