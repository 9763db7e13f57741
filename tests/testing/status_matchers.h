// ASSERT_OK / EXPECT_OK for absl::Status and absl::StatusOr<T> (Abseil
// 20220623 ships no status matchers).
#ifndef KEHU_TESTS_TESTING_STATUS_MATCHERS_H_
#define KEHU_TESTS_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace kehu::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace kehu::testing

#define EXPECT_OK(expr)                              \
  EXPECT_TRUE(::kehu::testing::GetStatus(expr).ok()) \
      << ::kehu::testing::GetStatus(expr)
#define ASSERT_OK(expr)                              \
  ASSERT_TRUE(::kehu::testing::GetStatus(expr).ok()) \
      << ::kehu::testing::GetStatus(expr)

// Declares `lhs` from a StatusOr, failing the test if it is an error.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                       \
  ASSERT_OK_AND_ASSIGN_IMPL_(KEHU_TEST_CONCAT_(kehu_statusor_, __LINE__), lhs, \
                             rexpr)
#define KEHU_TEST_CONCAT_INNER_(a, b) a##b
#define KEHU_TEST_CONCAT_(a, b) KEHU_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = std::move(statusor).value()

#endif  // KEHU_TESTS_TESTING_STATUS_MATCHERS_H_
