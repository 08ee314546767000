// Errors and exit codes shared by every layer.
#pragma once

#include <stdexcept>
#include <string>

namespace textune {

/// Process exit codes of the `textune` command line.
enum ExitCode : int {
  kExitOk = 0,
  kExitDataError = 1,   ///< bad data, model or file content
  kExitUsageError = 2,  ///< bad command line or options
};

/// The one exception type textune throws for problems a user can act on.
///
/// `what()` is a complete, user-facing sentence (naming the file, row, column or tensor involved);
/// the CLI prints it on one line and exits with `exit_code()`. Internal invariant violations use
/// standard exceptions instead and are reported as bugs.
class Error : public std::runtime_error {
 public:
  /// @param message user-facing message.
  /// @param exit_code kExitDataError (default) or kExitUsageError.
  explicit Error(const std::string& message, int exit_code = kExitDataError)
      : std::runtime_error(message), exit_code_(exit_code) {}

  /// Exit code the CLI returns for this error: 1 (data/model) or 2 (usage).
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

/// An error in the data, a file or a model: exit code 1.
class DataError : public Error {
 public:
  explicit DataError(const std::string& message) : Error(message, kExitDataError) {}
};

/// An error in how textune was called (options, arguments): exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, kExitUsageError) {}
};

}  // namespace textune
