#include <fstream>
#include <iostream>

#include "infra/app/commands.h"
#include "producers/cdnow_import.h"
#include "producers/ndjson.h"
#include "producers/online_retail_import.h"

namespace kehu::app {

int RunImport(const std::string& kind, const std::string& input,
              const std::string& output) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (input != "-") {
    in_file.open(input);
    if (!in_file) {
      std::cerr << "kehu import: cannot read " << input << "\n";
      return kExitError;
    }
    in = &in_file;
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (output != "-") {
    out_file.open(output);
    if (!out_file) {
      std::cerr << "kehu import: cannot write " << output << "\n";
      return kExitError;
    }
    out = &out_file;
  }
  int64_t written = 0;
  auto write = [&](const events::v1::Event& event) -> absl::Status {
    auto line = producers::ToNdjsonLine(event);
    if (!line.ok()) return line.status();
    *out << *line;
    ++written;
    if (!*out) return absl::UnavailableError("output closed");
    return absl::OkStatus();
  };

  if (kind == "online-retail") {
    producers::OnlineRetailImport import;
    int listed = 0;
    absl::Status s =
        import.Run(in, write, [&](int64_t line, const std::string& why) {
          if (listed++ < 20)
            std::cerr << "kehu import: line " << line << ": " << why << "\n";
        });
    out->flush();
    if (!s.ok()) {
      std::cerr << "kehu import: " << s.message() << "\n";
      return kExitError;
    }
    const auto& stats = import.stats();
    std::cerr << "kehu import: " << written << " events (" << stats.customers
              << " customers, " << stats.orders << " orders, " << stats.returns
              << " returns) from " << stats.lines << " lines; "
              << stats.rejected_lines << " lines rejected\n";
    return stats.rejected_lines == 0 ? kExitOk : kExitSomeRejected;
  }
  if (kind == "cdnow" || kind == "cdnow-sample") {
    producers::CdnowReader reader(in, kind == "cdnow"
                                          ? producers::CdnowLayout::kMaster
                                          : producers::CdnowLayout::kSample);
    events::v1::Event event;
    int64_t rejected = 0;
    while (true) {
      absl::StatusOr<bool> got = reader.Next(&event);
      if (!got.ok()) {
        std::cerr << "kehu import: " << got.status().message() << "\n";
        if (got.status().code() == absl::StatusCode::kDataLoss)
          return kExitError;
        ++rejected;
        continue;
      }
      if (!*got) break;
      if (absl::Status s = write(event); !s.ok()) {
        std::cerr << "kehu import: " << s.message() << "\n";
        return kExitError;
      }
    }
    out->flush();
    std::cerr << "kehu import: " << written << " events; " << rejected
              << " lines rejected\n";
    return rejected == 0 ? kExitOk : kExitSomeRejected;
  }
  std::cerr << "kehu import: unknown data set \"" << kind
            << "\" (cdnow, cdnow-sample or online-retail)\n";
  return kExitError;
}

}  // namespace kehu::app
