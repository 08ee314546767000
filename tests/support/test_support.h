// Helpers shared by the test suites: where ../shared is, temporary directories, running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace textune::testing {

/// The read-only shared tree (fixtures/ and data/): $TEXTUNE_SHARED, else ../shared beside the
/// source tree as configured at build time.
inline std::string shared_dir() {
  if (const char* env = std::getenv("TEXTUNE_SHARED")) return env;
  return TEXTUNE_SHARED_DIR;
}
inline std::string fixtures_dir() { return shared_dir() + "/fixtures"; }
inline std::string data_dir() { return shared_dir() + "/data"; }
inline std::string model_fixture(const std::string& name) { return fixtures_dir() + "/models/" + name; }
inline std::string tokenizer_fixture(const std::string& name) { return fixtures_dir() + "/tokenizers/" + name; }
inline std::string source_dir() { return TEXTUNE_SOURCE_DIR; }
inline std::string cli_path() { return TEXTUNE_CLI_PATH; }

/// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "textune-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// Result of running a command.
struct CommandResult {
  int exit_code = -1;
  std::string out;  ///< standard output
  std::string err;  ///< standard error
};

/// Runs `textune ARGS` (args are passed to /bin/sh, quote them yourself) and captures its output.
inline CommandResult run_cli(const std::string& args, const std::string& stdin_text = "") {
  TempDir tmp;
  const std::string out = tmp / "out", err = tmp / "err", in = tmp / "in";
  write_text(in, stdin_text);
  const std::string cmd = "'" + cli_path() + "' " + args + " <'" + in + "' >'" + out + "' 2>'" + err + "'";
  int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

}  // namespace textune::testing
