// Logging (spdlog to standard error) and progress bars.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace textune::core {

/// How much textune writes to standard error.
enum class Verbosity { kQuiet, kNormal, kVerbose };

/// Sets the log level of the default logger: quiet shows warnings and errors only, normal adds
/// information, verbose adds debug messages. Also disables progress bars when quiet.
void set_verbosity(Verbosity v);
/// The current verbosity.
Verbosity verbosity();

/// Options of a ProgressBar.
struct ProgressOptions {
  /// When standard error is not a terminal, a plain log line is written at most this often.
  double log_interval_seconds = 30.0;
  /// Draw even when standard error is not a terminal (tests).
  bool force_terminal = false;
  /// Unit shown in the rate ("it/s", "samples/s", "B/s"). "B" formats sizes as KiB/MiB/GiB.
  std::string unit = "it";
  /// Stream to draw on (standard error by default).
  std::FILE* stream = nullptr;
};

/// A progress bar for long work: count/total, percentage, rate, elapsed and ETA, and live metrics
/// such as the loss. On a terminal it redraws one line at most 10 times a second; otherwise it
/// falls back to a log line every `log_interval_seconds`. Silent when verbosity is quiet.
/// Thread-compatible (one thread updates it).
class ProgressBar {
 public:
  /// @param label text before the bar ("train", "download model.safetensors").
  /// @param total number of units expected; 0 when unknown (no bar, no ETA).
  ProgressBar(std::string label, int64_t total, ProgressOptions options = {});
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Advances by `n` units and redraws when due.
  void advance(int64_t n = 1);
  /// Sets the position to `done` units.
  void set(int64_t done);
  /// Replaces the live metrics shown after the rate, e.g. {{"loss", 0.1234}}.
  void set_metrics(std::vector<std::pair<std::string, double>> metrics);
  /// Draws the final state and ends the line. Called by the destructor when not called before.
  void finish();

  /// The line as it would be drawn now (for tests and log output).
  std::string render() const;

 private:
  void maybe_draw(bool force);
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  ProgressOptions options_;
  bool terminal_ = false;
  bool enabled_ = true;
  bool finished_ = false;
  std::vector<std::pair<std::string, double>> metrics_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// Formats a duration in seconds as "1:02:03" or "02:03".
std::string format_duration(double seconds);

}  // namespace textune::core
