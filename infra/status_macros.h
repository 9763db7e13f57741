// Early-return helpers for absl::Status / absl::StatusOr<T>. Abseil 20220623
// (Debian 12) has no ABSL_RETURN_IF_ERROR, so kehu keeps its own.
#ifndef KEHU_INFRA_STATUS_MACROS_H_
#define KEHU_INFRA_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function if it is not OK.
#define KEHU_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status kehu_status_ = (expr);        \
    if (!kehu_status_.ok()) return kehu_status_; \
  } while (0)

#define KEHU_STATUS_CONCAT_INNER_(a, b) a##b
#define KEHU_STATUS_CONCAT_(a, b) KEHU_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise assigns the value to `lhs`, which may be a declaration:
//   KEHU_ASSIGN_OR_RETURN(auto db, Store::Open(dir));
#define KEHU_ASSIGN_OR_RETURN(lhs, rexpr)                                    \
  KEHU_ASSIGN_OR_RETURN_IMPL_(KEHU_STATUS_CONCAT_(kehu_statusor_, __LINE__), \
                              lhs, rexpr)

#define KEHU_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) return statusor.status();           \
  lhs = std::move(statusor).value()

#endif  // KEHU_INFRA_STATUS_MACROS_H_
