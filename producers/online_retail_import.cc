#include "producers/online_retail_import.h"

#include <cmath>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "infra/status_macros.h"

namespace kehu::producers {
namespace {

using events::v1::Event;

constexpr char kHeader[] =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,"
    "CustomerID,Country";

struct Row {
  int64_t line = 0;
  std::string invoice;
  std::string sku;
  int64_t quantity = 0;
  absl::Time at;
  int64_t unit_price_pence = 0;
  std::string customer;
  std::string country;
};

// Units of a SKU still returnable from one earlier invoice.
struct Bought {
  std::string invoice;
  std::string sku;
  int64_t remaining = 0;
};

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(absl::ToUnixSeconds(t));
}

}  // namespace

bool SplitCsvLine(const std::string& line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  fields->push_back(std::move(field));
  return !quoted;
}

absl::Status OnlineRetailImport::Run(std::istream* in, const EventSink& events,
                                     const RejectSink& rejects) {
  stats_ = OnlineRetailStats();
  std::string line;
  if (!std::getline(*in, line)) {
    return absl::InvalidArgumentError(
        "line 1: empty input, expected the header");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("line 1: expected the header \"", kHeader, "\""));
  }

  absl::flat_hash_set<std::string> registered;
  // Per customer, what earlier invoices bought, oldest first.
  absl::flat_hash_map<std::string, std::vector<Bought>> bought;
  // The accepted lines, grouped by invoice in order of first appearance:
  // a few invoices' lines are not contiguous in the file.
  std::vector<std::vector<Row>> invoices;
  absl::flat_hash_map<std::string, size_t> invoice_index;
  std::vector<Row> invoice;  // the invoice being emitted
  int64_t line_number = 1;

  auto reject = [&](int64_t at, const std::string& reason) {
    ++stats_.rejected_lines;
    rejects(at, reason);
  };

  auto emit_invoice = [&]() -> absl::Status {
    if (invoice.empty()) return absl::OkStatus();
    const Row& first = invoice.front();
    const bool cancellation = first.invoice[0] == 'C';
    if (!cancellation) {
      Event e;
      e.set_event_id(absl::StrCat("or-", first.invoice));
      e.set_customer_id(first.customer);
      SetTime(first.at, e.mutable_occurred_at());
      e.set_source("online_retail");
      auto* order = e.mutable_order_placed();
      order->set_order_id(first.invoice);
      order->set_currency("GBP");
      order->set_channel(events::v1::CONTACT_CHANNEL_WEB);
      auto& history = bought[first.customer];
      for (const Row& row : invoice) {
        auto* l = order->add_lines();
        l->set_sku(row.sku);
        l->set_quantity(row.quantity);
        l->set_unit_price_minor(row.unit_price_pence);
        history.push_back(Bought{first.invoice, row.sku, row.quantity});
      }
      ++stats_.orders;
      KEHU_RETURN_IF_ERROR(events(e));
    } else {
      // Match each returned line to the latest earlier invoice with units
      // of the SKU left; group the lines by the invoice they match.
      std::map<std::string, std::vector<const Row*>> by_invoice;
      std::vector<const Row*> unmatched;
      auto& history = bought[first.customer];
      for (const Row& row : invoice) {
        const int64_t units = -row.quantity;
        Bought* match = nullptr;
        for (auto it = history.rbegin(); it != history.rend(); ++it) {
          if (it->sku == row.sku && it->remaining >= units) {
            match = &*it;
            break;
          }
        }
        if (match == nullptr) {
          unmatched.push_back(&row);
        } else {
          match->remaining -= units;
          by_invoice[match->invoice].push_back(&row);
        }
      }
      int n = 0;
      auto emit_return =
          [&](const std::string& order_id,
              const std::vector<const Row*>& rows) -> absl::Status {
        Event e;
        e.set_event_id(absl::StrCat("or-", first.invoice, "-", ++n));
        e.set_customer_id(first.customer);
        SetTime(first.at, e.mutable_occurred_at());
        e.set_source("online_retail");
        auto* r = e.mutable_order_returned();
        r->set_order_id(order_id);
        r->set_return_id(first.invoice);
        int64_t refund = 0;
        for (const Row* row : rows) {
          auto* l = r->add_lines();
          l->set_sku(row->sku);
          l->set_quantity(-row->quantity);
          refund += -row->quantity * row->unit_price_pence;
        }
        r->mutable_refund()->set_minor_units(refund);
        r->mutable_refund()->set_currency("GBP");
        r->set_reason("cancellation");
        ++stats_.returns;
        return events(e);
      };
      for (const auto& [order_id, rows] : by_invoice) {
        KEHU_RETURN_IF_ERROR(emit_return(order_id, rows));
      }
      if (!unmatched.empty()) {
        KEHU_RETURN_IF_ERROR(emit_return(first.invoice, unmatched));
      }
    }
    invoice.clear();
    return absl::OkStatus();
  };

  std::vector<std::string> f;
  while (std::getline(*in, line)) {
    ++line_number;
    ++stats_.lines;
    if (!SplitCsvLine(line, &f)) {
      reject(line_number, "unterminated quote");
      continue;
    }
    if (f.size() != 8) {
      reject(line_number, absl::StrCat("expected 8 columns, got ", f.size()));
      continue;
    }
    Row row;
    row.line = line_number;
    row.invoice = f[0];
    row.sku = f[1];
    row.customer = f[6];
    row.country = f[7];
    double price = 0;
    std::string err;
    if (row.invoice.empty()) {
      reject(line_number, "InvoiceNo is empty");
      continue;
    }
    if (row.customer.empty()) {
      reject(line_number,
             "CustomerID is empty: a line without a customer cannot be "
             "attributed to one");
      continue;
    }
    if (!absl::SimpleAtoi(f[3], &row.quantity)) {
      reject(line_number,
             absl::StrCat("Quantity \"", f[3], "\" is not an integer"));
      continue;
    }
    if (!absl::SimpleAtod(f[5], &price) || !std::isfinite(price)) {
      reject(line_number,
             absl::StrCat("UnitPrice \"", f[5], "\" is not a number"));
      continue;
    }
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", f[4], absl::UTCTimeZone(),
                         &row.at, &err)) {
      reject(line_number, absl::StrCat("InvoiceDate \"", f[4], "\": ", err));
      continue;
    }
    row.unit_price_pence = std::llround(price * 100);
    const bool cancellation = row.invoice[0] == 'C';
    if (!cancellation && row.quantity <= 0) {
      reject(line_number,
             absl::StrCat("Quantity must be positive on an invoice, got ",
                          row.quantity));
      continue;
    }
    if (cancellation && row.quantity >= 0) {
      reject(line_number,
             absl::StrCat("Quantity must be negative on a cancellation, got ",
                          row.quantity));
      continue;
    }
    if (row.unit_price_pence < 0) {
      reject(line_number,
             absl::StrCat("UnitPrice must not be negative, got ", f[5]));
      continue;
    }
    if (row.sku.empty()) {
      reject(line_number, "StockCode is empty");
      continue;
    }
    auto [it, added] = invoice_index.try_emplace(row.invoice, invoices.size());
    if (added) {
      invoices.emplace_back();
    } else if (invoices[it->second].front().customer != row.customer) {
      reject(line_number, absl::StrCat("invoice ", row.invoice,
                                       " already belongs to customer ",
                                       invoices[it->second].front().customer));
      continue;
    }
    invoices[it->second].push_back(std::move(row));
  }
  if (in->bad()) return absl::DataLossError("reading the input failed");

  for (auto& lines : invoices) {
    const Row& first = lines.front();
    if (registered.insert(first.customer).second) {
      Event e;
      e.set_event_id(absl::StrCat("or-reg-", first.customer));
      e.set_customer_id(first.customer);
      SetTime(first.at, e.mutable_occurred_at());
      e.set_source("online_retail");
      e.mutable_customer_registered()->set_region(first.country);
      ++stats_.customers;
      KEHU_RETURN_IF_ERROR(events(e));
    }
    invoice = std::move(lines);
    KEHU_RETURN_IF_ERROR(emit_invoice());
  }
  return absl::OkStatus();
}

}  // namespace kehu::producers
