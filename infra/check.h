// KEHU_CHECK: stops the process with a clear message when an invariant that
// the code relies on is broken. Expected failures are absl::Status, never
// a check.
#ifndef KEHU_INFRA_CHECK_H_
#define KEHU_INFRA_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define KEHU_CHECK(cond)                                                      \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::fprintf(stderr, "kehu: invariant broken at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                          \
      std::abort();                                                           \
    }                                                                         \
  } while (0)

#endif  // KEHU_INFRA_CHECK_H_
