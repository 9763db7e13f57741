// AuditTrail: the record of the administrative actions on one data
// directory — who fitted the population, rebuilt or switched the store,
// replayed the log, or started the server with which configuration.
//
// Operation: DATA/audit.ndjson holds one kehu.admin.v1.AuditEntry per
// line, as JSON, oldest first. Record() appends a line with one write()
// on a file opened O_APPEND and fsyncs it before returning, so an action
// is on disk before its caller hears the answer, and several processes
// (`kehu serve`, `kehu replay`) may append to one file. Newest() reads the
// file back. The trail is of the data directory, not of a store: it
// survives rebuilds and switches, and no replay changes it.
//
// Concurrency: thread-safe; several processes may append at once.
//
// Limitations: the file only grows (an entry is a few hundred bytes, and
// administrative actions are rare); a line cut short by a crash while it
// was written is skipped when read.
#ifndef KEHU_INFRA_APP_AUDIT_TRAIL_H_
#define KEHU_INFRA_APP_AUDIT_TRAIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kehu/admin/v1/admin.pb.h"

namespace kehu::app {

// Largest ListAuditTrailRequest.limit.
inline constexpr int kMaxAuditEntries = 10000;

class AuditTrail {
 public:
  // The trail of the data directory `data_dir` (its audit.ndjson).
  explicit AuditTrail(const std::string& data_dir);

  // Appends `entry`, with time set to now when unset.
  absl::Status Record(admin::v1::AuditEntry entry) const;

  // The newest `limit` entries, newest first. A line that does not parse
  // (other than a last line cut short) is DATA_LOSS naming its number.
  absl::StatusOr<std::vector<admin::v1::AuditEntry>> Newest(int limit) const;

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
};

// "user NAME": the operating-system user running this process, the caller
// of a command run on the machine.
std::string LocalUserCaller();

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_AUDIT_TRAIL_H_
