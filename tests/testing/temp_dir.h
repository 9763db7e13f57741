// A fresh directory for a test, removed with everything in it on
// destruction.
#ifndef KEHU_TESTS_TESTING_TEMP_DIR_H_
#define KEHU_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace kehu::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_TEMP_DIR_H_
