// PNG plots drawn with cairo: training curves (loss and an evaluation metric against steps), a
// confusion-matrix heatmap and grouped bar charts (per-type scores), for the output directory of `textune train` and
// `textune eval`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace textune::eval {

/// One line of a chart.
struct Series {
  std::string name;       ///< shown in the legend
  std::vector<double> x;  ///< e.g. global steps
  std::vector<double> y;  ///< same length as x; NaN points are skipped
  /// 0: the left y axis; 1: the right y axis (a second scale, e.g. accuracy next to loss).
  int axis = 0;
  bool markers = false;  ///< draw a dot at each point (for sparse series such as evaluations)
};

/// Where the legend goes: the corner of the plot area that hides the fewest points (as matplotlib's
/// "best"), a fixed corner, or nowhere.
enum class LegendLocation { kBest, kUpperRight, kUpperLeft, kLowerLeft, kLowerRight, kNone };

/// Options of plot_line_chart.
struct LineChartOptions {
  std::string title;
  std::string x_label = "step";
  std::string y_label;   ///< left axis
  std::string y2_label;  ///< right axis (used when a series has axis 1)
  int width = 960;       ///< pixels
  int height = 540;
  LegendLocation legend = LegendLocation::kBest;
};

/// Draws `series` as a line chart with axes (the data range padded by 5% as matplotlib does), "nice"
/// ticks (1, 2, 2.5, 5 x 10^k), grid lines, a legend and a title, and writes it as PNG (atomically). Colors follow the
/// series order (blue, orange, green, red, purple: the tab10 palette matplotlib uses by default).
/// @throws textune::DataError when the file cannot be written.
/// @throws std::invalid_argument when a series' x and y differ in length or there is no point.
void plot_line_chart(const std::string& path, const std::vector<Series>& series, const LineChartOptions& options);

/// Options of plot_confusion_matrix.
struct ConfusionMatrixOptions {
  std::string title = "Confusion matrix";
  /// Color each cell by its share of its row (recall) instead of the raw count; the number printed
  /// is the count either way.
  bool normalize_rows = true;
  int cell_size = 0;  ///< pixels per cell; 0: chosen from the number of labels (the image fits ~720 px)
};

/// Draws a confusion matrix (rows true labels, columns predicted, as metrics.h) as a heatmap with the
/// count in each cell, the label names along both axes, and a color bar; writes it as PNG.
/// @throws std::invalid_argument when the matrix is not square or labels differ in number.
/// @throws textune::DataError when the file cannot be written.
void plot_confusion_matrix(const std::string& path, const std::vector<std::vector<int64_t>>& matrix,
                           const std::vector<std::string>& labels, const ConfusionMatrixOptions& options = {});

/// One group member of a bar chart: a value per category.
struct BarSeries {
  std::string name;            ///< shown in the legend
  std::vector<double> values;  ///< one per category; NaN draws no bar
};

/// Options of plot_bar_chart.
struct BarChartOptions {
  std::string title;
  std::string y_label;
  /// The top of the y axis; NaN: the largest value padded by 5% (matplotlib's margin). The bottom is 0.
  double y_max = std::numeric_limits<double>::quiet_NaN();
  bool show_values = true;  ///< print each value above its bar (with `value_decimals` decimals) when it fits
  int value_decimals = 2;
  int width = 0;  ///< pixels; 0: from the number of bars (at least 640)
  int height = 480;
};

/// Draws a grouped bar chart: one group per category along x, in each group one bar per series
/// (tab10 colors in series order), y from 0 (values below 0 are drawn at 0), "nice" ticks, a grid, a
/// legend when there are several series, and a title; writes it as PNG (atomically).
/// @throws std::invalid_argument when a series has another number of values than there are categories,
///         or there is no category.
/// @throws textune::DataError when the file cannot be written.
void plot_bar_chart(const std::string& path, const std::vector<std::string>& categories,
                    const std::vector<BarSeries>& series, const BarChartOptions& options = {});

}  // namespace textune::eval
