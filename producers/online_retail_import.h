// The UCI Online Retail data set (../shared/data/online_retail: 541,909
// invoice lines of a UK gift-ware retailer, 2010-12-01..2011-12-09) as kehu
// events, for imports, end-to-end tests and benchmarks on real behaviour.
//
// Input: the CSV (header InvoiceNo,StockCode,Description,Quantity,
// InvoiceDate,UnitPrice,CustomerID,Country; quoted fields may hold commas),
// e.g. `zcat online_retail.csv.gz | kehu import online-retail`.
//
// Mapping:
//   - the first line of a customer also gives a CustomerRegistered event
//     (region = Country, source "online_retail");
//   - an invoice becomes one OrderPlaced (order_id = InvoiceNo, currency
//     GBP, one line per row: sku = StockCode, category empty — the data has
//     none —, quantity, unit price in pence rounded to the nearest penny; no
//     unit cost, so margin = revenue); InvoiceDate (UK wall-clock time) is
//     taken as UTC;
//   - a cancellation (InvoiceNo starting with "C", negative quantities)
//     becomes OrderReturned events: each line is matched to the customer's
//     latest earlier invoice that still has enough units of that StockCode
//     left, one OrderReturned per matched invoice, refund = the credit
//     note's amount for those lines; lines that match no invoice (discounts,
//     manual adjustments, goods bought before the data starts) form one
//     OrderReturned on the credit note's own number, which folds as a refund
//     without an order.
// Rejected, with the line number and the reason, never silently dropped:
// lines without a CustomerID, lines of an ordinary invoice whose quantity
// is not positive or whose price is negative, lines that do not parse.
#ifndef KEHU_PRODUCERS_ONLINE_RETAIL_IMPORT_H_
#define KEHU_PRODUCERS_ONLINE_RETAIL_IMPORT_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kehu/events/v1/events.pb.h"

namespace kehu::producers {

struct OnlineRetailStats {
  int64_t lines = 0;
  int64_t rejected_lines = 0;
  int64_t customers = 0;
  int64_t orders = 0;
  int64_t returns = 0;
};

class OnlineRetailImport {
 public:
  // Receives each event; a non-OK status stops the import.
  using EventSink = std::function<absl::Status(const events::v1::Event&)>;
  // Receives each rejected line: its 1-based line number and the reason.
  using RejectSink =
      std::function<void(int64_t line, const std::string& reason)>;

  // Reads the whole CSV from `in` (all of it is held in memory: a few
  // invoices' lines are scattered through the file), reporting rejected
  // lines to `rejects` as they are read, then hands the events to `events`,
  // invoice by invoice in order of first appearance. Fails only when the header
  // is wrong, the stream fails, or a sink fails.
  absl::Status Run(std::istream* in, const EventSink& events,
                   const RejectSink& rejects);

  const OnlineRetailStats& stats() const { return stats_; }

 private:
  OnlineRetailStats stats_;
};

// Splits one CSV line (RFC 4180 quoting, no embedded newlines) into fields.
// Returns false for an unterminated quote.
bool SplitCsvLine(const std::string& line, std::vector<std::string>* fields);

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_ONLINE_RETAIL_IMPORT_H_
