// The front program `textune` (tools/launcher/main.cpp) answers --version, --help and usage errors
// without loading LibTorch, and hands everything else to textune-core. The reference for each
// answer is textune-core itself, run with the same arguments: standard output, standard error and
// the exit code must be the same (textune-core's program name replaced by the front's).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/test_support.h"

using textune::testing::cli_path;
using textune::testing::CommandResult;
using textune::testing::model_fixture;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;

namespace {

std::string core_path() {
  return (std::filesystem::path(cli_path()).parent_path() / "textune-core").string();
}

CommandResult run_program(const std::string& program, const std::string& args) {
  TempDir tmp;
  const std::string out = tmp / "out", err = tmp / "err";
  const std::string cmd = "'" + program + "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

void expect_same_as_core(const std::string& args) {
  const CommandResult front = run_program(cli_path(), args);
  const CommandResult core = run_program(core_path(), args);
  EXPECT_EQ(front.exit_code, core.exit_code) << args;
  EXPECT_EQ(front.out, replace_all(core.out, core_path(), cli_path())) << args;
  EXPECT_EQ(front.err, replace_all(core.err, core_path(), cli_path())) << args;
}

}  // namespace

TEST(CliLauncher, VersionAndHelpAreTextuneCores) {
  ASSERT_TRUE(std::filesystem::exists(core_path())) << core_path();
  expect_same_as_core("--version");
  expect_same_as_core("--help");
  expect_same_as_core("-h");
  for (const char* command : {"init", "train", "eval", "predict", "data", "serve", "tokenize", "info", "verify"}) {
    expect_same_as_core(std::string(command) + " --help");
  }
  expect_same_as_core("-q info -h");
}

TEST(CliLauncher, UsageErrorsAreTextuneCores) {
  for (const char* args : {"", "bogus", "-q bogus --model x", "train --foo", "train --foo=1 -x --quiet --bar", "info",
                           "info --foo", "info --model", "train --foo --model", "predict --text-pair",
                           "info -h --model", "info --help --foo", "init --foo", "info --version"}) {
    expect_same_as_core(args);
  }
  const CommandResult r = run_program(cli_path(), "train --foo");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "error: The following argument was not expected: --foo\n"
            "(run `textune --help` or `textune COMMAND --help`)\n");
}

TEST(CliLauncher, OtherArgumentsPassThroughToTextuneCore) {
  // values the front does not judge: textune-core answers, with its own exit code
  expect_same_as_core("info --model " + model_fixture("bert-seqcls") + " --foo");
  expect_same_as_core("predict --model /nonexistent/model -- --foo");
  const CommandResult r = run_cli("info --json --model " + model_fixture("bert-seqcls"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"model_type\""), std::string::npos) << r.out;
}

TEST(CliLauncher, MissingTextuneCoreIsAClearError) {
  TempDir tmp;
  const std::string front = tmp / "textune";
  std::filesystem::copy_file(cli_path(), front);
  std::filesystem::permissions(front, std::filesystem::perms::owner_all);
  const CommandResult r = run_program(front, "info --model x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: cannot run " + tmp.path() + "/textune-core: No such file or directory", 0), 0u)
      << r.err;
  // answered without textune-core
  EXPECT_EQ(run_program(front, "--version").out, "textune " TEXTUNE_VERSION "\n");
}
