// `textune serve` as a child process, for the end-to-end tests of the real binary.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "serve_support.h"

extern char** environ;

namespace textune::testing {

/// `textune serve ARGS` as a child process, its standard error in a file; the port is read from the
/// start-up line "listening on http://127.0.0.1:PORT".
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::string& log) : log_(log) {
    std::vector<std::string> all = {cli_path(), "serve"};
    if (std::find(args.begin(), args.end(), "--port") == args.end()) all.insert(all.end(), {"--port", "0"});
    all.insert(all.end(), args.begin(), args.end());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    const std::string marker = "listening on http://";
    for (int i = 0; i < 1200 && pid_ > 0; ++i) {
      const std::string out = read_text(log_);
      auto p = out.find(marker);
      auto eol = p == std::string::npos ? p : out.find('\n', p);
      if (eol != std::string::npos) {
        const std::string url = out.substr(p + marker.size(), eol - p - marker.size());
        port_ = std::stoi(url.substr(url.rfind(':') + 1));
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited before listening
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  bool listening() const { return port_ > 0; }
  std::string log() const { return read_text(log_); }
  void signal(int sig) { ::kill(pid_, sig); }
  /// Waits up to `timeout` for the exit; the exit code, or -1 (killed by a signal or still running).
  int wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return exit_code_;
    const auto end = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string log_;
};

}  // namespace textune::testing
