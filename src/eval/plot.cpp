// PNG plots with cairo: line charts and confusion-matrix heatmaps.
#include "textune/eval/plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::eval {

namespace {

struct Rgb {
  double r, g, b;
};

// matplotlib's default color cycle (tab10)
const Rgb kPalette[] = {{0x1f / 255.0, 0x77 / 255.0, 0xb4 / 255.0}, {0xff / 255.0, 0x7f / 255.0, 0x0e / 255.0},
                        {0x2c / 255.0, 0xa0 / 255.0, 0x2c / 255.0}, {0xd6 / 255.0, 0x27 / 255.0, 0x28 / 255.0},
                        {0x94 / 255.0, 0x67 / 255.0, 0xbd / 255.0}, {0x8c / 255.0, 0x56 / 255.0, 0x4b / 255.0}};
const char* kFont = "DejaVu Sans";

/// Owns a cairo image surface and its context.
class Canvas {
 public:
  Canvas(int width, int height) {
    surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cr_ = cairo_create(surface_);
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
  }
  ~Canvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  cairo_t* cr() const { return cr_; }

  /// Encodes the image as PNG and writes it atomically.
  void write_png(const std::string& path) const {
    cairo_surface_flush(surface_);
    std::string bytes;
    auto writer = [](void* closure, const unsigned char* data, unsigned int length) -> cairo_status_t {
      static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
      return CAIRO_STATUS_SUCCESS;
    };
    if (cairo_surface_write_to_png_stream(surface_, writer, &bytes) != CAIRO_STATUS_SUCCESS)
      throw DataError(fmt::format("{}: cannot encode the plot as PNG", path));
    core::write_file_atomic(path, bytes);
  }

 private:
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

void set_color(cairo_t* cr, const Rgb& c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

void font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

/// Draws `s` with its anchor at (x, y): ax 0 left, 0.5 center, 1 right; ay 0 top, 0.5 middle,
/// 1 baseline-ish bottom. `angle` in radians rotates around the anchor.
void text(cairo_t* cr, const std::string& s, double x, double y, double ax, double ay, double angle = 0) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  const double h = fe.ascent - fe.descent * 0.2;
  cairo_move_to(cr, -ax * e.x_advance, -ay * h + h);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

/// Tick positions covering [lo, hi] at a "nice" step (1, 2, 2.5 or 5 times a power of ten).
struct Ticks {
  double lo, hi, step;
  std::vector<double> values;
  int decimals;
};

Ticks nice_ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag * (1 + 1e-9)) {
      step = m * mag;
      break;
    }
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  for (double v = t.lo; v <= t.hi + step * 1e-6; v += step) t.values.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::fabs(step / std::pow(10.0, -t.decimals) - std::round(step / std::pow(10.0, -t.decimals))) > 1e-6)
    ++t.decimals;
  return t;
}

std::string tick_label(double v, int decimals) {
  if (std::fabs(v) >= 1e6 && decimals == 0) return fmt::format("{:.3g}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

void plot_line_chart(const std::string& path, const std::vector<Series>& series, const LineChartOptions& o) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo[2] = {x_lo, x_lo}, y_hi[2] = {-x_lo, -x_lo};
  bool used[2] = {false, false};
  size_t points = 0;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument(
          fmt::format("plot: series \"{}\" has {} x and {} y values", s.name, s.x.size(), s.y.size()));
    const int a = s.axis == 1 ? 1 : 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      ++points;
      used[a] = true;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo[a] = std::min(y_lo[a], s.y[i]);
      y_hi[a] = std::max(y_hi[a], s.y[i]);
    }
  }
  if (points == 0) throw std::invalid_argument("plot: no finite point to draw");

  Canvas canvas(o.width, o.height);
  cairo_t* cr = canvas.cr();
  const double W = o.width, H = o.height;
  const double left = 78, right = used[1] ? 78 : 28, top = o.title.empty() ? 24 : 52, bottom = 58;
  const double px0 = left, px1 = W - right, py0 = top, py1 = H - bottom;  // plot area

  // axis limits: the data range padded by 5% of its span (matplotlib's axes.xmargin/ymargin), ticks
  // at nice values inside them
  struct Range {
    double lo, hi;
  };
  auto pad = [](double lo, double hi, double margin) {
    if (!(hi > lo)) {
      const double d = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
      return Range{lo - d, hi + d};
    }
    return Range{lo - margin * (hi - lo), hi + margin * (hi - lo)};
  };
  const Range xr = pad(x_lo, x_hi, 0.02);
  const Range yr[2] = {used[0] ? pad(y_lo[0], y_hi[0], 0.05) : Range{0, 1},
                       used[1] ? pad(y_lo[1], y_hi[1], 0.05) : Range{0, 1}};
  auto inside = [](Ticks t, Range r) {
    std::vector<double> v;
    for (double x : t.values)
      if (x >= r.lo - 1e-9 * (r.hi - r.lo) && x <= r.hi + 1e-9 * (r.hi - r.lo)) v.push_back(x);
    t.values = v;
    return t;
  };
  const Ticks xt = inside(nice_ticks(xr.lo, xr.hi, 8), xr);
  const Ticks yt[2] = {inside(nice_ticks(yr[0].lo, yr[0].hi), yr[0]), inside(nice_ticks(yr[1].lo, yr[1].hi), yr[1])};
  auto X = [&](double v) { return px0 + (v - xr.lo) / (xr.hi - xr.lo) * (px1 - px0); };
  auto Y = [&](int a, double v) { return py1 - (v - yr[a].lo) / (yr[a].hi - yr[a].lo) * (py1 - py0); };

  // grid
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
  for (double v : xt.values) {
    cairo_move_to(cr, std::round(X(v)) + 0.5, py0);
    cairo_line_to(cr, std::round(X(v)) + 0.5, py1);
  }
  const int grid_axis = used[0] ? 0 : 1;
  for (double v : yt[grid_axis].values) {
    cairo_move_to(cr, px0, std::round(Y(grid_axis, v)) + 0.5);
    cairo_line_to(cr, px1, std::round(Y(grid_axis, v)) + 0.5);
  }
  cairo_stroke(cr);

  // frame and ticks
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, px0 + 0.5, py0 + 0.5, px1 - px0, py1 - py0);
  cairo_stroke(cr);
  font(cr, 12);
  for (double v : xt.values) {
    const double x = std::round(X(v)) + 0.5;
    cairo_move_to(cr, x, py1);
    cairo_line_to(cr, x, py1 + 5);
    cairo_stroke(cr);
    text(cr, tick_label(v, xt.decimals), x, py1 + 8, 0.5, 0);
  }
  for (int a = 0; a < 2; ++a) {
    if (!used[a]) continue;
    for (double v : yt[a].values) {
      const double y = std::round(Y(a, v)) + 0.5;
      const double x = a == 0 ? px0 : px1;
      cairo_move_to(cr, x, y);
      cairo_line_to(cr, a == 0 ? x - 5 : x + 5, y);
      cairo_stroke(cr);
      text(cr, tick_label(v, yt[a].decimals), a == 0 ? x - 8 : x + 8, y, a == 0 ? 1.0 : 0.0, 0.5);
    }
  }

  // axis labels and title
  font(cr, 13);
  if (!o.x_label.empty()) text(cr, o.x_label, (px0 + px1) / 2, H - 24, 0.5, 0);
  if (!o.y_label.empty()) text(cr, o.y_label, 18, (py0 + py1) / 2, 0.5, 0.5, -M_PI / 2);
  if (used[1] && !o.y2_label.empty()) text(cr, o.y2_label, W - 18, (py0 + py1) / 2, 0.5, 0.5, -M_PI / 2);
  if (!o.title.empty()) {
    font(cr, 16, true);
    text(cr, o.title, W / 2, 16, 0.5, 0);
  }

  // series, clipped to the plot area
  cairo_save(cr);
  cairo_rectangle(cr, px0, py0, px1 - px0, py1 - py0);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const int a = s.axis == 1 ? 1 : 0;
    set_color(cr, kPalette[k % std::size(kPalette)]);
    cairo_set_line_width(cr, 2);
    bool pen = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        pen = false;
        continue;
      }
      if (pen)
        cairo_line_to(cr, X(s.x[i]), Y(a, s.y[i]));
      else
        cairo_move_to(cr, X(s.x[i]), Y(a, s.y[i]));
      pen = true;
    }
    cairo_stroke(cr);
    if (s.markers || s.x.size() == 1) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        cairo_new_sub_path(cr);
        cairo_arc(cr, X(s.x[i]), Y(a, s.y[i]), 4, 0, 2 * M_PI);
      }
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);

  // legend: in the corner that hides the fewest points of the lines (sampled along each segment)
  if (o.legend == LegendLocation::kNone) return canvas.write_png(path);
  font(cr, 12);
  double lw = 0;
  for (const auto& s : series) lw = std::max(lw, text_width(cr, s.name));
  const double row_h = 20, box_w = lw + 48, box_h = row_h * static_cast<double>(series.size()) + 10;
  const double corners[4][2] = {{px1 - box_w - 10, py0 + 10},           // upper right
                                {px0 + 10, py0 + 10},                   // upper left
                                {px0 + 10, py1 - box_h - 10},           // lower left
                                {px1 - box_w - 10, py1 - box_h - 10}};  // lower right
  int corner = 0;
  switch (o.legend) {
    case LegendLocation::kUpperLeft:
      corner = 1;
      break;
    case LegendLocation::kLowerLeft:
      corner = 2;
      break;
    case LegendLocation::kLowerRight:
      corner = 3;
      break;
    case LegendLocation::kBest: {
      size_t best = std::numeric_limits<size_t>::max();
      for (int c = 0; c < 4; ++c) {
        size_t hidden = 0;
        const double cx = corners[c][0], cy = corners[c][1];
        auto covered = [&](double x, double y) { return x >= cx && x <= cx + box_w && y >= cy && y <= cy + box_h; };
        for (const auto& s : series) {
          const int a = s.axis == 1 ? 1 : 0;
          for (size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
            const double x1 = X(s.x[i]), y1 = Y(a, s.y[i]);
            hidden += covered(x1, y1) ? 4 : 0;
            if (i + 1 < s.x.size() && std::isfinite(s.x[i + 1]) && std::isfinite(s.y[i + 1]))
              for (int k = 1; k < 16; ++k) {
                const double f = k / 16.0;
                hidden += covered(x1 + f * (X(s.x[i + 1]) - x1), y1 + f * (Y(a, s.y[i + 1]) - y1));
              }
          }
        }
        if (hidden < best) {
          best = hidden;
          corner = c;
        }
      }
      break;
    }
    default:
      break;
  }
  const double bx = corners[corner][0], by = corners[corner][1];
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, bx, by, box_w, box_h);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (size_t k = 0; k < series.size(); ++k) {
    const double y = by + 5 + row_h * (static_cast<double>(k) + 0.5);
    set_color(cr, kPalette[k % std::size(kPalette)]);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, bx + 8, y);
    cairo_line_to(cr, bx + 32, y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, series[k].name, bx + 40, y, 0, 0.5);
  }
  canvas.write_png(path);
}

namespace {

/// matplotlib's "Blues" color map, by linear interpolation between a few of its stops.
Rgb blues(double t) {
  static const Rgb stops[] = {{0.969, 0.984, 1.000}, {0.871, 0.922, 0.969}, {0.776, 0.859, 0.937},
                              {0.620, 0.792, 0.882}, {0.420, 0.682, 0.839}, {0.259, 0.573, 0.776},
                              {0.129, 0.443, 0.710}, {0.031, 0.318, 0.612}, {0.031, 0.188, 0.420}};
  t = std::clamp(t, 0.0, 1.0) * (std::size(stops) - 1);
  const size_t i = std::min(static_cast<size_t>(t), std::size(stops) - 2);
  const double f = t - static_cast<double>(i);
  return {stops[i].r + f * (stops[i + 1].r - stops[i].r), stops[i].g + f * (stops[i + 1].g - stops[i].g),
          stops[i].b + f * (stops[i + 1].b - stops[i].b)};
}

}  // namespace

void plot_confusion_matrix(const std::string& path, const std::vector<std::vector<int64_t>>& m,
                           const std::vector<std::string>& labels, const ConfusionMatrixOptions& o) {
  const size_t n = m.size();
  if (n == 0) throw std::invalid_argument("plot: empty confusion matrix");
  for (const auto& row : m)
    if (row.size() != n) throw std::invalid_argument("plot: the confusion matrix is not square");
  if (labels.size() != n)
    throw std::invalid_argument(fmt::format("plot: {} labels for a {}x{} confusion matrix", labels.size(), n, n));

  const double cell = o.cell_size > 0 ? o.cell_size : std::clamp(560.0 / static_cast<double>(n), 28.0, 140.0);
  const double label_font = std::clamp(cell * 0.3, 10.0, 14.0);
  const double count_font = std::clamp(cell * 0.28, 9.0, 18.0);

  // measure label widths with a scratch surface
  double label_w = 0;
  {
    Canvas scratch(1, 1);
    font(scratch.cr(), label_font);
    for (const auto& l : labels) label_w = std::max(label_w, text_width(scratch.cr(), l));
  }
  const bool rotate = label_w > cell * 0.9;
  const double grid = cell * static_cast<double>(n);
  const double left = label_w + 50, top = 60, bar_w = 18, right = 90;
  const double bottom = (rotate ? label_w * 0.75 + 30 : 30) + 34;
  const int W = static_cast<int>(std::ceil(left + grid + 24 + bar_w + right));
  const int H = static_cast<int>(std::ceil(top + grid + bottom));
  Canvas canvas(W, H);
  cairo_t* cr = canvas.cr();

  std::vector<int64_t> row_sum(n, 0);
  int64_t max_count = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      row_sum[i] += m[i][j];
      max_count = std::max(max_count, m[i][j]);
    }
  auto intensity = [&](size_t i, size_t j) {
    if (o.normalize_rows) return row_sum[i] ? static_cast<double>(m[i][j]) / static_cast<double>(row_sum[i]) : 0.0;
    return max_count ? static_cast<double>(m[i][j]) / static_cast<double>(max_count) : 0.0;
  };

  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double x = left + cell * static_cast<double>(j), y = top + cell * static_cast<double>(i);
      const double t = intensity(i, j);
      set_color(cr, blues(t));
      cairo_rectangle(cr, x, y, cell, cell);
      cairo_fill(cr);
      font(cr, count_font, i == j);
      if (t > 0.5)
        cairo_set_source_rgb(cr, 1, 1, 1);
      else
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, std::to_string(m[i][j]), x + cell / 2, y + cell / 2, 0.5, 0.5);
    }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left + 0.5, top + 0.5, grid, grid);
  cairo_stroke(cr);

  // label names: rows (true) on the left, columns (predicted) below
  font(cr, label_font);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  for (size_t k = 0; k < n; ++k) {
    const double c = cell * (static_cast<double>(k) + 0.5);
    text(cr, labels[k], left - 8, top + c, 1.0, 0.5);
    if (rotate)
      text(cr, labels[k], left + c, top + grid + 8, 1.0, 0.5, -M_PI / 4);
    else
      text(cr, labels[k], left + c, top + grid + 8, 0.5, 0);
  }
  font(cr, 13, true);
  text(cr, "Predicted label", left + grid / 2, H - 26, 0.5, 0);
  text(cr, "True label", 16, top + grid / 2, 0.5, 0.5, -M_PI / 2);
  font(cr, 16, true);
  text(cr, o.title, W / 2.0, 18, 0.5, 0);

  // color bar
  const double bx = left + grid + 24;
  for (int p = 0; p < static_cast<int>(grid); ++p) {
    set_color(cr, blues(1.0 - p / grid));
    cairo_rectangle(cr, bx, top + p, bar_w, 1.5);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_rectangle(cr, bx + 0.5, top + 0.5, bar_w, grid);
  cairo_stroke(cr);
  font(cr, 11);
  const double top_value = o.normalize_rows ? 1.0 : static_cast<double>(max_count);
  for (int k = 0; k <= 4; ++k) {
    const double v = top_value * k / 4.0;
    const double y = top + grid - grid * k / 4.0;
    cairo_move_to(cr, bx + bar_w, y);
    cairo_line_to(cr, bx + bar_w + 4, y);
    cairo_stroke(cr);
    text(cr, o.normalize_rows ? fmt::format("{:.0f}%", v * 100) : fmt::format("{:.0f}", v), bx + bar_w + 7, y, 0, 0.5);
  }
  canvas.write_png(path);
}

void plot_bar_chart(const std::string& path, const std::vector<std::string>& categories,
                    const std::vector<BarSeries>& series, const BarChartOptions& o) {
  const size_t nc = categories.size(), ns = std::max<size_t>(series.size(), 1);
  if (nc == 0) throw std::invalid_argument("plot: a bar chart needs at least one category");
  double v_max = 0;
  for (const auto& s : series) {
    if (s.values.size() != nc)
      throw std::invalid_argument(
          fmt::format("plot: bar series \"{}\" has {} values for {} categories", s.name, s.values.size(), nc));
    for (double v : s.values)
      if (std::isfinite(v)) v_max = std::max(v_max, v);
  }
  const double top_value = std::isfinite(o.y_max) && o.y_max > 0 ? o.y_max : (v_max > 0 ? v_max * 1.05 : 1.0);

  const double bar_w = 22, group_gap = 26;
  const double group_w = bar_w * static_cast<double>(ns) + group_gap;
  // category labels: rotated when wider than a group
  double label_w = 0;
  {
    Canvas scratch(1, 1);
    font(scratch.cr(), 12);
    for (const auto& c : categories) label_w = std::max(label_w, text_width(scratch.cr(), c));
  }
  const bool rotate = label_w > group_w - 4;
  const double left = 78, right = 28, top = o.title.empty() ? 24 : 52;
  const double bottom = (rotate ? label_w * 0.75 + 24 : 34) + 10;
  const int W = o.width > 0
                    ? o.width
                    : std::max(640, static_cast<int>(std::ceil(left + right + group_w * static_cast<double>(nc))));
  const int H = std::max(o.height, static_cast<int>(top + bottom + 120));
  Canvas canvas(W, H);
  cairo_t* cr = canvas.cr();
  const double px0 = left, px1 = W - right, py0 = top, py1 = H - bottom;
  const double slot = (px1 - px0) / static_cast<double>(nc);
  const double bw = std::min(bar_w, (slot - 8) / static_cast<double>(ns));
  auto Y = [&](double v) { return py1 - std::clamp(v, 0.0, top_value) / top_value * (py1 - py0); };

  // grid and y ticks
  Ticks yt = nice_ticks(0, top_value);
  cairo_set_line_width(cr, 1);
  font(cr, 12);
  for (double v : yt.values) {
    if (v < -1e-12 || v > top_value * (1 + 1e-9)) continue;
    const double y = std::round(Y(v)) + 0.5;
    cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
    cairo_move_to(cr, px0, y);
    cairo_line_to(cr, px1, y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, px0, y);
    cairo_line_to(cr, px0 - 5, y);
    cairo_stroke(cr);
    text(cr, tick_label(v, yt.decimals), px0 - 8, y, 1.0, 0.5);
  }

  // bars
  for (size_t c = 0; c < nc; ++c) {
    const double x0 = px0 + slot * (static_cast<double>(c) + 0.5) - bw * static_cast<double>(ns) / 2;
    for (size_t k = 0; k < series.size(); ++k) {
      const double v = series[k].values[c];
      if (!std::isfinite(v)) continue;
      const double x = x0 + bw * static_cast<double>(k);
      set_color(cr, kPalette[k % std::size(kPalette)]);
      cairo_rectangle(cr, x + 1, Y(v), bw - 2, py1 - Y(v));
      cairo_fill(cr);
      if (o.show_values && bw >= 18) {
        font(cr, 9);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        text(cr, fmt::format("{:.{}f}", v, o.value_decimals), x + bw / 2, Y(v) - 3, 0.5, 1.0);
      }
    }
    font(cr, 12);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    const double cx = px0 + slot * (static_cast<double>(c) + 0.5);
    if (rotate)
      text(cr, categories[c], cx, py1 + 8, 1.0, 0.5, -M_PI / 4);
    else
      text(cr, categories[c], cx, py1 + 8, 0.5, 0);
  }

  // frame, labels, title
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, px0 + 0.5, py0 + 0.5, px1 - px0, py1 - py0);
  cairo_stroke(cr);
  font(cr, 13);
  if (!o.y_label.empty()) text(cr, o.y_label, 18, (py0 + py1) / 2, 0.5, 0.5, -M_PI / 2);
  if (!o.title.empty()) {
    font(cr, 16, true);
    text(cr, o.title, W / 2.0, 16, 0.5, 0);
  }

  // legend: a row of color swatches above the plot area, right-aligned
  if (series.size() > 1) {
    font(cr, 12);
    double x = px1;
    for (size_t k = series.size(); k-- > 0;) {
      const double w = text_width(cr, series[k].name);
      x -= w + 24;
      set_color(cr, kPalette[k % std::size(kPalette)]);
      cairo_rectangle(cr, x, py0 - 16, 12, 12);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, series[k].name, x + 16, py0 - 10, 0, 0.5);
      x -= 10;
    }
  }
  canvas.write_png(path);
}

}  // namespace textune::eval
