// Where the real data sets of ../shared/data are: beside the clone, as
// tests/CMakeLists.txt tells every test through KEHU_SHARED_DATA.
#ifndef KEHU_TESTS_TESTING_SHARED_DATA_H_
#define KEHU_TESTS_TESTING_SHARED_DATA_H_

#include <string>

namespace kehu::testing {

// The path of `relative` (e.g. "cdnow/CDNOW_sample.txt") in ../shared/data.
inline std::string SharedDataPath(const std::string& relative) {
  return std::string(KEHU_SHARED_DATA) + "/" + relative;
}

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_SHARED_DATA_H_
