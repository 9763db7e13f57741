// The files a replay (replay.h) writes beside the store it builds, in a
// scratch directory inside the store's directory:
// - StagingArea: rows by key range, one file per range, appended in any
//   order and read back a range at a time: stage 1's events to fold by
//   timeline key (SortTimelineRows puts a range in order), and stage 2's
//   rows of the families kept in value order (SortRows).
// - TableFile: a RocksDB table file of one column family, written in key
//   order and then ingested into the store (at its bottom level when no
//   other file of the family overlaps it), so that the rows never pass
//   through a memtable, a flush or a compaction.
//
// Concurrency: StagingArea::Append and Read may be called from any thread;
// a StagingArea::Writer and a TableFile belong to one thread.
#ifndef KEHU_PROJECTIONS_REPLAY_FILES_H_
#define KEHU_PROJECTIONS_REPLAY_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "infra/projection_store.h"
#include "rocksdb/sst_file_writer.h"

namespace kehu::projections {

// Rows (key, value) by key range.
class StagingArea {
 public:
  // A staged row, pointing into the Contents it was read into.
  struct Row {
    std::string_view key;
    std::string_view value;
  };

  // Creates `dir` (which must not exist) with one empty file per range:
  // range r holds the keys in [bounds[r], bounds[r + 1]), the last one
  // has no upper bound. REQUIRES: `bounds` ascending, bounds[0] == "".
  static absl::StatusOr<std::unique_ptr<StagingArea>> Create(
      std::string dir, std::vector<std::string> bounds);
  // Removes the directory and its files.
  ~StagingArea();
  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;

  int range_count() const { return static_cast<int>(bounds_.size()); }
  const std::string& lower_bound(int range) const { return bounds_[range]; }
  // The range `key` falls in.
  int RangeOf(std::string_view key) const;

  // Buffers rows per range and appends them to the area's files a few
  // hundred kilobytes at a time.
  class Writer {
   public:
    explicit Writer(StagingArea* area);
    absl::Status Add(std::string_view key, std::string_view value);
    // Appends what is buffered; call once done adding.
    absl::Status Flush();

   private:
    StagingArea* area_;
    std::vector<std::string> buffers_;  // by range
  };

  // A range's file read back: mapped into memory, read-only, for its rows
  // to point into. Unmapped when reset, read into again, or destroyed; the
  // file may be removed meanwhile.
  class Contents {
   public:
    Contents() = default;
    ~Contents() { Reset(); }
    Contents(const Contents&) = delete;
    Contents& operator=(const Contents&) = delete;
    void Reset();

   private:
    friend class StagingArea;
    void* data_ = nullptr;
    size_t size_ = 0;
  };

  // Maps range `range` into `*contents` and sets `*rows` to its rows in the
  // order they were appended. DATA_LOSS when the file is cut short.
  absl::Status Read(int range, Contents* contents,
                    std::vector<Row>* rows) const;
  // Deletes the range's file, once read.
  void Remove(int range);

 private:
  struct RangeFile {
    absl::Mutex mu;
    int fd = -1;
  };
  StagingArea(std::string dir, std::vector<std::string> bounds);
  std::string PathOf(int range) const;
  absl::Status Append(int range, std::string_view bytes);

  const std::string dir_;
  const std::vector<std::string> bounds_;
  std::vector<std::unique_ptr<RangeFile>> files_;
};

// A staged timeline row, with its key's parts (ParseTimelineKey).
struct TimelineRow {
  std::string_view key;
  std::string_view value;
  std::string_view customer_id;
  int64_t offset = 0;
};

// Sets `*sorted` to the timeline rows `rows` in key order: customer by
// customer, each customer's rows in log order. Cheap when each customer's
// rows come in log order, as stage 1 appends them. DATA_LOSS when a key is
// not a timeline key.
absl::Status SortTimelineRows(const std::vector<StagingArea::Row>& rows,
                              std::vector<TimelineRow>* sorted);

// Puts `rows` in key order.
void SortRows(std::vector<StagingArea::Row>* rows);

// Rows of one column family, written in ascending key order to a table
// file at `path`, then ingested. A TableFile with no row writes no file.
class TableFile {
 public:
  TableFile(infra::ProjectionStore* store, infra::schema::Family family,
            std::string path);
  // Removes the file unless it was ingested.
  ~TableFile();
  TableFile(const TableFile&) = delete;
  TableFile& operator=(const TableFile&) = delete;

  // REQUIRES: `key` greater than every key put before.
  absl::Status Put(std::string_view key, std::string_view value);
  // Finishes the file and moves it into the store.
  absl::Status Ingest();

 private:
  infra::ProjectionStore* store_;
  infra::schema::Family family_;
  std::string path_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;  // once a row was put
  bool ingested_ = false;
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_REPLAY_FILES_H_
