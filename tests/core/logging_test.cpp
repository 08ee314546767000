#include "textune/core/logging.h"

#include <cstdio>

#include "support/test_support.h"

using textune::core::format_duration;
using textune::core::ProgressBar;
using textune::core::ProgressOptions;

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(125), "02:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

TEST(ProgressBar, TerminalLineShowsCountPercentRateEtaAndMetric) {
  std::FILE* f = std::tmpfile();
  ProgressOptions o;
  o.force_terminal = true;
  o.stream = f;
  o.unit = "step";
  {
    ProgressBar bar("train", 10, o);
    bar.advance(5);
    bar.set_metrics({{"loss", 0.5}});
    const std::string line = bar.render();
    EXPECT_NE(line.find("train"), std::string::npos) << line;
    EXPECT_NE(line.find(" 50%"), std::string::npos) << line;
    EXPECT_NE(line.find("5/10"), std::string::npos) << line;
    EXPECT_NE(line.find("step/s"), std::string::npos) << line;
    EXPECT_NE(line.find("loss=0.5"), std::string::npos) << line;
    bar.advance(5);
    bar.finish();
  }
  std::rewind(f);
  char buf[4096] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string drawn(buf, n);
  EXPECT_EQ(drawn.front(), '\r') << "terminal drawing redraws in place";
  EXPECT_EQ(drawn.back(), '\n') << "finish ends the line";
  EXPECT_NE(drawn.find("100%"), std::string::npos) << "the last frame shows completion: " << drawn;
}

TEST(ProgressBar, ByteUnitsAreHumanReadable) {
  ProgressOptions o;
  o.unit = "B";
  o.stream = std::tmpfile();
  ProgressBar bar("download", 3 * 1024 * 1024, o);
  bar.set(1536 * 1024);
  const std::string line = bar.render();
  EXPECT_NE(line.find("1.5MiB/3.0MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("/s"), std::string::npos) << line;
  bar.finish();
  std::fclose(o.stream);
}
