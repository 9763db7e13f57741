// The CDNOW data set (Fader & Hardie; ../shared/data/cdnow) as kehu events:
// every purchase of the 23,570 customers who first bought at the online CD
// store CDNOW in Q1 1997, through June 1998. The literature's reference
// results for lifetime-value models (BG/NBD, Gamma-Gamma) were computed on
// it, so importing it lets tests check kehu's models against them.
//
// Files (whitespace separated, CRLF line ends):
//   CDNOW_master.txt  header line, then: customer id, date yyyymmdd,
//                     number of CDs, dollar value
//   CDNOW_sample.txt  no header: master customer id, sample customer id
//                     (1..2357), date, number of CDs, dollar value
//
// Each row becomes one OrderPlaced event:
//   customer_id  "cdnow-" + the master id as five digits ("cdnow-00004"),
//                the same in both files;
//   event_id     "cdnow-<id>-<yyyymmdd>-<n>", n = 1, 2, ... counting the
//                customer's rows of that date in file order. Derived from
//                the row's content, not its line number, so the sample and
//                the master give the same id to the same purchase: both can
//                be imported into one log and the sample's events are
//                deduplicated instead of counted twice. The order id is the
//                same string;
//   occurred_at  the date at 00:00 UTC; source "cdnow", currency "USD",
//                channel web;
//   one line     sku "cd", category "music", quantity = the number of CDs.
//                The dollar value V (in cents) rarely divides by the
//                quantity q, so the unit price is rounded up,
//                ceil(V / q), and the difference q * ceil(V / q) - V
//                (less than one cent per CD) is the line's discount: the
//                line's net is exactly V and the CD count is kept. A
//                zero-value row (there are a few) is a line of price 0.
//                No unit cost: the data has none, so margin = revenue.
//
// A bad row is an error that names the line and the column
// ("line 12: column 4 (dollar_value): ..."), never a silent skip.
#ifndef KEHU_PRODUCERS_CDNOW_IMPORT_H_
#define KEHU_PRODUCERS_CDNOW_IMPORT_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "kehu/events/v1/events.pb.h"

namespace kehu::producers {

// The two layouts of the CDNOW files.
enum class CdnowLayout {
  // CDNOW_master.txt: a header line, then id, date, CDs, dollars.
  kMaster,
  // CDNOW_sample.txt: no header; master id, sample id, date, CDs, dollars.
  kSample,
};

// Returns the kehu customer id of a CDNOW master customer id:
// "cdnow-00004" for 4.
std::string CdnowCustomerId(int64_t master_id);

// Reads CDNOW rows as events, one row at a time:
//
//   CdnowReader reader(&in, CdnowLayout::kMaster);
//   events::v1::Event event;
//   while (true) {
//     absl::StatusOr<bool> got = reader.Next(&event);
//     if (!got.ok()) return got.status();  // "line 7: column 3 (...): ..."
//     if (!*got) break;                    // end of input
//     use(event);
//   }
//
// Blank lines are skipped. In the master layout the first line must be the
// header (its first column "customer_id"). Not thread-safe. The stream must
// outlive the reader.
class CdnowReader {
 public:
  CdnowReader(std::istream* in, CdnowLayout layout);

  CdnowReader(const CdnowReader&) = delete;
  CdnowReader& operator=(const CdnowReader&) = delete;

  // Reads the next row into *event and returns true, or returns false at
  // the end of the input. A bad row gives InvalidArgument("line N: column
  // C (name): what is wrong"); the reader moves past it, so the next call
  // reads the row after. A failing stream gives DataLoss.
  absl::StatusOr<bool> Next(events::v1::Event* event);

  // 1-based number of the line last read (0 before the first call).
  int64_t line_number() const { return line_number_; }

 private:
  absl::StatusOr<events::v1::Event> ParseRow(const std::string& line);

  std::istream* in_;
  CdnowLayout layout_;
  int64_t line_number_ = 0;
  bool done_ = false;
  // Rows seen per customer and date, for the event ids.
  absl::flat_hash_map<std::string, int64_t> rows_per_customer_day_;
};

// Reads a whole CDNOW stream; fails on the first bad row.
absl::StatusOr<std::vector<events::v1::Event>> ReadCdnowEvents(
    std::istream* in, CdnowLayout layout);

// Reads a CDNOW file; NotFound when it cannot be opened.
absl::StatusOr<std::vector<events::v1::Event>> ReadCdnowFile(
    const std::string& path, CdnowLayout layout);

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_CDNOW_IMPORT_H_
