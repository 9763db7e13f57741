#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "infra/check.h"
#include "tests/testing/temp_dir.h"

namespace kehu::testing {

Subprocess::Subprocess(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  KEHU_CHECK(pipe(pipe_fds) == 0);
  pid_ = fork();
  KEHU_CHECK(pid_ >= 0);
  if (pid_ == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

std::string Subprocess::ReadStderrUntil(const std::string& needle) {
  char buf[4096];
  while (true) {
    size_t found = stderr_.find(needle, scanned_);
    if (found != std::string::npos) {
      size_t begin = stderr_.rfind('\n', found);
      begin = begin == std::string::npos ? 0 : begin + 1;
      size_t end = stderr_.find('\n', found);
      if (end != std::string::npos) {
        scanned_ = end + 1;
        return stderr_.substr(begin, end - begin);
      }
    }
    ssize_t n = read(stderr_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    stderr_.append(buf, n);
  }
}

void Subprocess::Signal(int signal) { kill(pid_, signal); }

int Subprocess::Wait() {
  char buf[4096];
  ssize_t n;
  while ((n = read(stderr_fd_, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    stderr_.append(buf, n);
  }
  int status = 0;
  KEHU_CHECK(waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

namespace {

// Quotes `arg` for /bin/sh, whatever it holds.
std::string ShellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace

Finished RunToEnd(const std::vector<std::string>& argv) {
  // Subprocess discards stdout, so it goes to a file through the shell.
  TempDir dir;
  std::string command;
  for (const auto& a : argv) command += ShellQuote(a) + " ";
  command += "> " + ShellQuote(dir.Sub("stdout"));
  Subprocess program({"/bin/sh", "-c", command});
  Finished run;
  run.code = program.Wait();
  run.err = program.stderr_text();
  std::stringstream text;
  text << std::ifstream(dir.Sub("stdout")).rdbuf();
  run.out = text.str();
  return run;
}

}  // namespace kehu::testing
