#include "projections/replay_files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"

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

void StagingArea::Contents::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

absl::Status StagingArea::Read(int range, Contents* contents,
                               std::vector<Row>* rows) const {
  contents->Reset();
  rows->clear();
  const std::string path = PathOf(range);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return ErrnoError("reading the size of", path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    // Mapped, not read: the file's pages, still in the page cache from
    // stage one, are used as they are, without zeroing and copying a
    // buffer of the same size.
    void* data =
        ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (data == MAP_FAILED) {
      const absl::Status error = ErrnoError("mapping", path);
      ::close(fd);
      return error;
    }
    contents->data_ = data;
    contents->size_ = size;
  }
  ::close(fd);

  std::string_view rest(static_cast<const char*>(contents->data_), size);
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
  return absl::OkStatus();
}

absl::Status SortTimelineRows(const std::vector<StagingArea::Row>& rows,
                              std::vector<TimelineRow>* sorted) {
  // Which customer each row is of: customers by timeline prefix (the key
  // less its offset), numbered in the order they first appear.
  std::vector<uint32_t> customer_of;
  customer_of.reserve(rows.size());
  absl::flat_hash_map<std::string_view, uint32_t> numbers;
  std::vector<std::string_view> prefixes;
  for (const StagingArea::Row& row : rows) {
    std::string_view id;
    int64_t offset;
    if (!infra::schema::ParseTimelineKey(row.key, &id, &offset)) {
      return absl::DataLossError("a staged key is not a timeline key");
    }
    const std::string_view prefix =
        row.key.substr(0, row.key.size() - sizeof(uint64_t));
    const auto [it, added] =
        numbers.try_emplace(prefix, static_cast<uint32_t>(prefixes.size()));
    if (added) prefixes.push_back(prefix);
    customer_of.push_back(it->second);
  }

  // Key order without comparing keys row by row: customers sorted by
  // prefix, each customer's rows counted into place in the order given.
  std::vector<uint32_t> by_prefix(prefixes.size());
  for (uint32_t c = 0; c < by_prefix.size(); ++c) by_prefix[c] = c;
  std::sort(by_prefix.begin(), by_prefix.end(),
            [&](uint32_t a, uint32_t b) { return prefixes[a] < prefixes[b]; });
  std::vector<size_t> count(prefixes.size(), 0);
  for (const uint32_t c : customer_of) ++count[c];
  std::vector<size_t> place(prefixes.size());  // where c's next row goes
  size_t next = 0;
  for (const uint32_t c : by_prefix) {
    place[c] = next;
    next += count[c];
  }
  sorted->resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    TimelineRow& row = (*sorted)[place[customer_of[i]]++];
    row.key = rows[i].key;
    row.value = rows[i].value;
    infra::schema::ParseTimelineKey(row.key, &row.customer_id, &row.offset);
  }
  // A customer's rows given out of log order are put in order here.
  for (size_t i = 1; i < sorted->size(); ++i) {
    const TimelineRow& before = (*sorted)[i - 1];
    const TimelineRow& row = (*sorted)[i];
    if (before.customer_id == row.customer_id && before.offset > row.offset) {
      std::sort(sorted->begin(), sorted->end(),
                [](const TimelineRow& a, const TimelineRow& b) {
                  return a.key < b.key;
                });
      break;
    }
  }
  return absl::OkStatus();
}

void SortRows(std::vector<StagingArea::Row>* rows) {
  // Sorted by their first 24 bytes, compared as three numbers, and only
  // rows that tie on them by the whole key: fewer visits to the keys, which
  // lie all over the buffer. 24 bytes hold an index or order row's prefix,
  // its eight-byte value and the first 13 bytes of the customer id, so
  // ties are rare. (With 16, customers with the same value — every
  // customer without a figure has 0 — tied in groups that shared the
  // first five bytes of their ids.)
  struct Ranked {
    uint64_t head[3];
    size_t index;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    const std::string_view key = (*rows)[i].key;
    unsigned char bytes[24] = {};
    std::memcpy(bytes, key.data(), std::min<size_t>(24, key.size()));
    Ranked r{{0, 0, 0}, i};
    for (int b = 0; b < 24; ++b) r.head[b / 8] = r.head[b / 8] << 8 | bytes[b];
    ranked.push_back(r);
  }
  std::sort(ranked.begin(), ranked.end(),
            [rows](const Ranked& a, const Ranked& b) {
              for (int h = 0; h < 3; ++h) {
                if (a.head[h] != b.head[h]) return a.head[h] < b.head[h];
              }
              return (*rows)[a.index].key < (*rows)[b.index].key;
            });
  std::vector<StagingArea::Row> sorted;
  sorted.reserve(rows->size());
  for (const Ranked& r : ranked) sorted.push_back((*rows)[r.index]);
  *rows = std::move(sorted);
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
  rocksdb::Status s = writer_->Put(rocksdb::Slice(key.data(), key.size()),
                                   rocksdb::Slice(value.data(), value.size()));
  // The message is made only for an error: Put runs once per row.
  if (!s.ok()) return infra::FromRocks(s, absl::StrCat("writing ", path_));
  return absl::OkStatus();
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
