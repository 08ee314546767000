#include "textune/core/logging.h"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace textune::core {
namespace {

Verbosity g_verbosity = Verbosity::kNormal;

void ensure_stderr_logger() {
  static bool done = [] {
    auto logger = spdlog::stderr_color_mt("textune");
    logger->set_pattern("%^[%l]%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    return true;
  }();
  (void)done;
}

// Library users get warnings on standard error, never on standard output (which may carry JSON).
const bool kLoggerInstalled = (ensure_stderr_logger(), true);

std::string format_count(double v, const std::string& unit) {
  if (unit == "B") {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
      v /= 1024;
      ++i;
    }
    return i == 0 ? fmt::format("{:.0f}{}", v, units[i]) : fmt::format("{:.1f}{}", v, units[i]);
  }
  return fmt::format("{:.0f}", v);
}

}  // namespace

void set_verbosity(Verbosity v) {
  ensure_stderr_logger();
  g_verbosity = v;
  switch (v) {
    case Verbosity::kQuiet: spdlog::set_level(spdlog::level::warn); break;
    case Verbosity::kNormal: spdlog::set_level(spdlog::level::info); break;
    case Verbosity::kVerbose: spdlog::set_level(spdlog::level::debug); break;
  }
}

Verbosity verbosity() { return g_verbosity; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  int64_t h = s / 3600, m = (s / 60) % 60, sec = s % 60;
  if (h > 0) return fmt::format("{}:{:02d}:{:02d}", h, m, sec);
  return fmt::format("{:02d}:{:02d}", m, sec);
}

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(total), options_(std::move(options)) {
  if (!options_.stream) options_.stream = stderr;
  terminal_ = options_.force_terminal || isatty(fileno(options_.stream));
  enabled_ = g_verbosity != Verbosity::kQuiet;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_;
  if (enabled_ && terminal_) maybe_draw(true);
}

ProgressBar::~ProgressBar() {
  try {
    finish();
  } catch (...) {
  }
}

void ProgressBar::advance(int64_t n) {
  done_ += n;
  maybe_draw(false);
}

void ProgressBar::set(int64_t done) {
  done_ = done;
  maybe_draw(false);
}

void ProgressBar::set_metrics(std::vector<std::pair<std::string, double>> metrics) { metrics_ = std::move(metrics); }

std::string ProgressBar::render() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string line = label_;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    line += fmt::format(" {:3.0f}% [{}{}] {}/{}", frac * 100, std::string(filled, '#'), std::string(kWidth - filled, '.'),
                        format_count(static_cast<double>(done_), options_.unit),
                        format_count(static_cast<double>(total_), options_.unit));
  } else {
    line += " " + format_count(static_cast<double>(done_), options_.unit);
  }
  const std::string unit = options_.unit == "B" ? "" : options_.unit;
  line += fmt::format(" [{}<", format_duration(elapsed));
  if (total_ > 0 && rate > 0)
    line += format_duration(static_cast<double>(total_ - done_) / rate);
  else
    line += "?";
  if (options_.unit == "B")
    line += fmt::format(", {}/s", format_count(rate, "B"));
  else
    line += fmt::format(", {:.2f} {}/s", rate, unit);
  for (const auto& [k, v] : metrics_) line += fmt::format(", {}={:.4g}", k, v);
  line += "]";
  return line;
}

void ProgressBar::maybe_draw(bool force) {
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (terminal_) {
    if (!force && since < 0.1) return;
    std::string line = render();
    std::fprintf(options_.stream, "\r%s\x1b[K", line.c_str());
    std::fflush(options_.stream);
  } else {
    if (!force && since < options_.log_interval_seconds) return;
    ensure_stderr_logger();
    spdlog::info("{}", render());
  }
  last_draw_ = now;
}

void ProgressBar::finish() {
  if (finished_) return;
  if (enabled_) {
    if (terminal_) {
      std::fprintf(options_.stream, "\r%s\x1b[K\n", render().c_str());
      std::fflush(options_.stream);
    } else {
      ensure_stderr_logger();
      spdlog::info("{}", render());
    }
  }
  finished_ = true;
}

}  // namespace textune::core
