#include "infra/app/audit_trail.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace kehu::app {
namespace {

absl::Status OsError(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

AuditTrail::AuditTrail(const std::string& data_dir)
    : path_(data_dir + "/audit.ndjson") {}

absl::Status AuditTrail::Record(admin::v1::AuditEntry entry) const {
  if (!entry.has_time()) {
    *entry.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  }
  std::string line;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(entry, &line, print).ok()) {
    return absl::InternalError("cannot encode an audit entry as JSON");
  }
  line += '\n';
  const int fd =
      open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return OsError("cannot open the audit trail", path_);
  // One write, so that appends of several processes never interleave.
  const ssize_t written = write(fd, line.data(), line.size());
  absl::Status status;
  if (written != static_cast<ssize_t>(line.size())) {
    status = OsError("cannot append to the audit trail", path_);
  } else if (fsync(fd) != 0) {
    status = OsError("cannot sync the audit trail", path_);
  }
  close(fd);
  return status;
}

absl::StatusOr<std::vector<admin::v1::AuditEntry>> AuditTrail::Newest(
    int limit) const {
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return std::vector<admin::v1::AuditEntry>{};
    return OsError("cannot read the audit trail", path_);
  }
  std::deque<std::string> lines;
  std::string line;
  int64_t number = 0;
  int64_t first_kept = 1;
  bool last_complete = true;
  while (std::getline(in, line)) {
    ++number;
    last_complete = !in.eof();
    lines.push_back(std::move(line));
    if (static_cast<int>(lines.size()) > limit) {
      lines.pop_front();
      ++first_kept;
    }
  }
  std::vector<admin::v1::AuditEntry> entries;
  google::protobuf::util::JsonParseOptions parse;
  for (int64_t i = static_cast<int64_t>(lines.size()) - 1; i >= 0; --i) {
    const bool is_last = i == static_cast<int64_t>(lines.size()) - 1;
    if (lines[i].empty()) continue;
    admin::v1::AuditEntry entry;
    if (!google::protobuf::util::JsonStringToMessage(lines[i], &entry, parse)
             .ok()) {
      // A crash while appending leaves a last line without its newline.
      if (is_last && !last_complete) continue;
      return absl::DataLossError(absl::StrCat(path_, " line ", first_kept + i,
                                              ": not an audit entry"));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string LocalUserCaller() {
  const uid_t uid = getuid();
  const passwd* pw = getpwuid(uid);
  return pw != nullptr ? absl::StrCat("user ", pw->pw_name)
                       : absl::StrCat("user uid ", uid);
}

}  // namespace kehu::app
