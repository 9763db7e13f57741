#include "projections/replay_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"

namespace kehu::projections {
namespace {

// A staged row: key length and value length (4 bytes each, this
// machine's byte order: the file lives as long as the replay), key, value.
constexpr size_t kRowHeader = 8;
// A writer appends a range's buffer once it holds this much.
constexpr size_t kAppendBytes = size_t{256} << 10;

absl::Status ErrnoError(const char* what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

void PutRow(std::string* dst, std::string_view key, std::string_view value) {
  const uint32_t lengths[2] = {static_cast<uint32_t>(key.size()),
                               static_cast<uint32_t>(value.size())};
  dst->append(reinterpret_cast<const char*>(lengths), sizeof(lengths));
  dst->append(key);
  dst->append(value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<StagingArea>> StagingArea::Create(
    std::string dir, std::vector<std::string> bounds) {
  if (bounds.empty() || !bounds[0].empty() ||
      !std::is_sorted(bounds.begin(), bounds.end())) {
    return absl::InvalidArgumentError(
        "staging area: bounds must be ascending and start with \"\"");
  }
  std::error_code ec;
  if (!std::filesystem::create_directory(dir, ec)) {
    return absl::InternalError(
        absl::StrCat("creating the staging directory ", dir, ": ",
                     ec ? ec.message() : std::string("it exists already")));
  }
  std::unique_ptr<StagingArea> area(
      new StagingArea(std::move(dir), std::move(bounds)));
  for (int r = 0; r < area->range_count(); ++r) {
    const std::string path = area->PathOf(r);
    area->files_[r]->fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (area->files_[r]->fd < 0) return ErrnoError("creating", path);
  }
  return area;
}

StagingArea::StagingArea(std::string dir, std::vector<std::string> bounds)
    : dir_(std::move(dir)), bounds_(std::move(bounds)) {
  for (size_t r = 0; r < bounds_.size(); ++r) {
    files_.push_back(std::make_unique<RangeFile>());
  }
}

StagingArea::~StagingArea() {
  for (const auto& file : files_) {
    if (file->fd >= 0) ::close(file->fd);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string StagingArea::PathOf(int range) const {
  return absl::StrCat(dir_, "/range-", range);
}

int StagingArea::RangeOf(std::string_view key) const {
  // The last bound <= key; bounds_[0] is "", so there is one.
  const auto it = std::upper_bound(
      bounds_.begin(), bounds_.end(), key,
      [](std::string_view k, const std::string& bound) { return k < bound; });
  return static_cast<int>(it - bounds_.begin()) - 1;
}

absl::Status StagingArea::Append(int range, std::string_view bytes) {
  RangeFile& file = *files_[range];
  absl::MutexLock lock(&file.mu);
  while (!bytes.empty()) {
    const ssize_t n = ::write(file.fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("writing", PathOf(range));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

StagingArea::Writer::Writer(StagingArea* area)
    : area_(area), buffers_(area->range_count()) {}

absl::Status StagingArea::Writer::Add(std::string_view key,
                                      std::string_view value) {
  const int range = area_->RangeOf(key);
  std::string& buffer = buffers_[range];
  PutRow(&buffer, key, value);
  if (buffer.size() >= kAppendBytes) {
    KEHU_RETURN_IF_ERROR(area_->Append(range, buffer));
    buffer.clear();
  }
  return absl::OkStatus();
}

absl::Status StagingArea::Writer::Flush() {
  for (int r = 0; r < static_cast<int>(buffers_.size()); ++r) {
    if (buffers_[r].empty()) continue;
    KEHU_RETURN_IF_ERROR(area_->Append(r, buffers_[r]));
    buffers_[r].clear();
    buffers_[r].shrink_to_fit();
  }
  return absl::OkStatus();
}

absl::Status StagingArea::Read(int range, std::string* buffer,
                               std::vector<Row>* rows) const {
  const std::string path = PathOf(range);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return ErrnoError("reading the size of", path);
  }
  buffer->resize(static_cast<size_t>(st.st_size));
  size_t read = 0;
  while (read < buffer->size()) {
    const ssize_t n = ::read(fd, buffer->data() + read, buffer->size() - read);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n < 0 ? ErrnoError("reading", path)
                   : absl::DataLossError(absl::StrCat(path, " is truncated"));
    }
    read += static_cast<size_t>(n);
  }
  ::close(fd);

  rows->clear();
  std::string_view rest(*buffer);
  while (!rest.empty()) {
    uint32_t lengths[2];
    if (rest.size() < kRowHeader) {
      return absl::DataLossError(absl::StrCat(path, " ends inside a row"));
    }
    std::memcpy(lengths, rest.data(), sizeof(lengths));
    rest.remove_prefix(kRowHeader);
    if (rest.size() < size_t{lengths[0]} + lengths[1]) {
      return absl::DataLossError(absl::StrCat(path, " ends inside a row"));
    }
    rows->push_back(
        Row{rest.substr(0, lengths[0]), rest.substr(lengths[0], lengths[1])});
    rest.remove_prefix(size_t{lengths[0]} + lengths[1]);
  }
  std::sort(rows->begin(), rows->end(),
            [](const Row& a, const Row& b) { return a.key < b.key; });
  return absl::OkStatus();
}

void StagingArea::Remove(int range) {
  RangeFile& file = *files_[range];
  absl::MutexLock lock(&file.mu);
  if (file.fd >= 0) ::close(file.fd);
  file.fd = -1;
  ::unlink(PathOf(range).c_str());
}

TableFile::TableFile(infra::ProjectionStore* store,
                     infra::schema::Family family, std::string path)
    : store_(store), family_(family), path_(std::move(path)) {}

TableFile::~TableFile() {
  if (writer_ != nullptr && !ingested_) {
    writer_.reset();
    ::unlink(path_.c_str());
  }
}

absl::Status TableFile::Put(std::string_view key, std::string_view value) {
  if (writer_ == nullptr) {
    rocksdb::ColumnFamilyHandle* family = store_->family(family_);
    const rocksdb::Options options(store_->db()->GetDBOptions(),
                                   store_->db()->GetOptions(family));
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(),
                                                       options, family);
    KEHU_RETURN_IF_ERROR(infra::FromRocks(writer_->Open(path_),
                                          absl::StrCat("creating ", path_)));
  }
  return infra::FromRocks(
      writer_->Put(rocksdb::Slice(key.data(), key.size()),
                   rocksdb::Slice(value.data(), value.size())),
      absl::StrCat("writing ", path_));
}

absl::Status TableFile::Ingest() {
  if (writer_ == nullptr) return absl::OkStatus();
  KEHU_RETURN_IF_ERROR(
      infra::FromRocks(writer_->Finish(), absl::StrCat("finishing ", path_)));
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  // A file that overlaps one ingested before goes to a level above it with
  // a sequence number; RocksDB keeps that in its manifest.
  ingest.write_global_seqno = false;
  KEHU_RETURN_IF_ERROR(
      infra::FromRocks(store_->db()->IngestExternalFile(store_->family(family_),
                                                        {path_}, ingest),
                       absl::StrCat("ingesting ", path_)));
  ingested_ = true;
  return absl::OkStatus();
}

}  // namespace kehu::projections
