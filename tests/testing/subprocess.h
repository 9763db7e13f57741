// Runs a program as a child process with its stderr captured, for tests of
// the `kehu` binary itself.
#ifndef KEHU_TESTS_TESTING_SUBPROCESS_H_
#define KEHU_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace kehu::testing {

class Subprocess {
 public:
  // Starts `argv[0]` with arguments `argv`; stdin is /dev/null, stdout is
  // discarded, stderr is captured.
  explicit Subprocess(const std::vector<std::string>& argv);
  // Kills the child if it still runs.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads stderr until a line containing `needle` (returned), or EOF ("").
  std::string ReadStderrUntil(const std::string& needle);
  // Sends `signal` to the child.
  void Signal(int signal);
  // Reads the rest of stderr and waits for the exit. Returns the exit code,
  // or 128 + signal number when a signal ended the child.
  int Wait();

  // Everything read from stderr so far.
  const std::string& stderr_text() const { return stderr_; }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string stderr_;
  size_t scanned_ = 0;
};

// What a program run to its end left behind.
struct Finished {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to its end, keeping its stdout and stderr.
Finished RunToEnd(const std::vector<std::string>& argv);

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_SUBPROCESS_H_
