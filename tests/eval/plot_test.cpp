// PNG plots: they decode (cairo reads them back), have the requested size, and their pixels show
// the data where it must be.
#include <cairo.h>

#include <cmath>

#include "support/test_support.h"
#include "textune/eval/plot.h"

namespace textune::eval {
namespace {

using testing::TempDir;

/// A decoded PNG: width, height and 0xRRGGBB pixels.
struct Image {
  int width = 0, height = 0;
  std::vector<uint32_t> pixels;
  uint32_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

Image read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << path;
  Image img;
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return img;
  cairo_surface_flush(s);
  img.width = cairo_image_surface_get_width(s);
  img.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      img.pixels.push_back(reinterpret_cast<const uint32_t*>(data + y * stride)[x] & 0xFFFFFF);
  cairo_surface_destroy(s);
  return img;
}

/// Whether `c` is within `tol` of `target` in every channel.
bool near(uint32_t c, uint32_t target, int tol = 12) {
  for (int shift : {0, 8, 16})
    if (std::abs(static_cast<int>((c >> shift) & 0xFF) - static_cast<int>((target >> shift) & 0xFF)) > tol)
      return false;
  return true;
}

constexpr uint32_t kBlue = 0x1f77b4, kOrange = 0xff7f0e;  // the first two tab10 colors

/// Bounding box of the pixels of one color.
struct Box {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  int count = 0;
};
Box find(const Image& img, uint32_t color) {
  Box b;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (near(img.at(x, y), color)) {
        b.x0 = std::min(b.x0, x);
        b.y0 = std::min(b.y0, y);
        b.x1 = std::max(b.x1, x);
        b.y1 = std::max(b.y1, y);
        ++b.count;
      }
  return b;
}

TEST(Plot, LineChartDrawsEachSeriesWhereItsPointsAre) {
  TempDir tmp;
  // loss falls from 0.7 to 0.1 over 100 steps (left axis); accuracy is a tent peaking at step 50
  // (right axis). No legend, so that every colored pixel belongs to a line.
  Series loss{"loss", {}, {}, 0, false};
  for (int s = 0; s <= 100; s += 5) {
    loss.x.push_back(s);
    loss.y.push_back(0.7 - 0.006 * s);
  }
  Series acc{"eval accuracy", {0, 50, 100}, {0.5, 0.9, 0.5}, 1, false};
  LineChartOptions o;
  o.title = "Training";
  o.y_label = "loss";
  o.y2_label = "accuracy";
  o.width = 800;
  o.height = 450;
  o.legend = LegendLocation::kNone;
  const std::string path = tmp / "curve.png";
  plot_line_chart(path, {loss, acc}, o);
  Image img = read_png(path);
  ASSERT_EQ(img.width, 800);
  ASSERT_EQ(img.height, 450);

  // the falling loss (0.7 -> 0.1): its leftmost pixels are high on the image, its rightmost low
  Box blue = find(img, kBlue);
  ASSERT_GT(blue.count, 200);
  int left_y = -1, right_y = -1;
  for (int y = 0; y < img.height; ++y) {
    if (near(img.at(blue.x0 + 2, y), kBlue) && left_y < 0) left_y = y;
    if (near(img.at(blue.x1 - 2, y), kBlue) && right_y < 0) right_y = y;
  }
  ASSERT_GE(left_y, 0);
  ASSERT_GE(right_y, 0);
  EXPECT_GT(right_y, left_y + 250);  // 0.7 -> 0.1 spans 0.6 / 0.66 of a ~340 px plot height

  // the tent: the topmost orange pixel is the peak at step 50, halfway between the ends at 0 and 100,
  // which share the same height (0.5)
  Box orange = find(img, kOrange);
  ASSERT_GT(orange.count, 100);
  int peak_x = -1;
  for (int x = 0; x < img.width && peak_x < 0; ++x)
    if (near(img.at(x, orange.y0), kOrange)) peak_x = x;
  EXPECT_NEAR(peak_x, (orange.x0 + orange.x1) / 2.0, 3.0);
  // both series share the x axis: step 0 and step 100 are at the same columns for both
  EXPECT_NEAR(orange.x0, blue.x0, 5);
  EXPECT_NEAR(orange.x1, blue.x1, 5);
  // the loss starts at its maximum, the top of the left axis range (padded by 5%): the blue line's
  // first point is as high as the orange peak (the maximum of the right axis, padded the same way)
  EXPECT_NEAR(left_y, orange.y0, 4);
}

TEST(Plot, LegendGoesWhereItHidesNoLine) {
  TempDir tmp;
  // a line along the top of the plot: the best corner for the legend is at the bottom
  Series top{"a long series name", {0, 1, 2, 3}, {1, 1, 1, 1}, 0, false};
  Series bottom{"b", {0, 3}, {0, 0.6}, 0, false};
  LineChartOptions o;
  o.width = 600;
  o.height = 400;
  plot_line_chart(tmp / "l.png", {top, bottom}, o);
  Image img = read_png(tmp / "l.png");
  // the legend's blue swatch is a short horizontal segment below the line, away from y of the line
  Box blue = find(img, kBlue);
  EXPECT_GT(blue.y1, blue.y0 + 100);  // the swatch sits far below the line at the top
  o.legend = LegendLocation::kNone;
  plot_line_chart(tmp / "n.png", {top, bottom}, o);
  Box none = find(read_png(tmp / "n.png"), kBlue);
  EXPECT_LE(none.y1 - none.y0, 3);  // only the horizontal line itself
}

TEST(Plot, ConfusionMatrixHeatmap) {
  TempDir tmp;
  const std::string path = tmp / "cm.png";
  plot_confusion_matrix(path, {{50, 0}, {5, 45}}, {"negative", "positive"});
  Image img = read_png(path);
  ASSERT_GT(img.width, 300);
  ASSERT_GT(img.height, 300);
  // the diagonal cells are the darkest blue of the map (row share 1.0 and 0.9); a zero cell stays
  // near-white
  int dark = 0, pale = 0;
  for (uint32_t p : img.pixels) {
    dark += near(p, 0x08306b, 20);
    pale += near(p, 0xf7fbff, 3);
  }
  EXPECT_GT(dark, 1000);
  EXPECT_GT(pale, 1000);
  // more labels, longer names: the image grows to hold them
  const std::string big = tmp / "cm10.png";
  std::vector<std::vector<int64_t>> m(10, std::vector<int64_t>(10, 1));
  std::vector<std::string> labels = {"finance", "realty",   "stocks", "education", "science",
                                     "society", "politics", "sports", "game",      "entertainment"};
  plot_confusion_matrix(big, m, labels);
  Image b = read_png(big);
  EXPECT_GT(b.width, 0);
  EXPECT_THROW(plot_confusion_matrix(big, {{1, 2}}, {"a"}), std::invalid_argument);
}

TEST(Plot, RejectsEmptyAndMismatchedSeries) {
  TempDir tmp;
  EXPECT_THROW(plot_line_chart(tmp / "x.png", {Series{"a", {1, 2}, {1}, 0, false}}, {}), std::invalid_argument);
  EXPECT_THROW(plot_line_chart(tmp / "x.png", {Series{"a", {}, {}, 0, false}}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace textune::eval
