// Figures for wattline-dr, drawn with cairo and written both as SVG and as PNG.
#pragma once

#include <string>
#include <vector>

namespace wattline::meter::tool {

struct Color {
  double r, g, b;
};

struct Series {
  std::string label;
  std::vector<double> values;  //!< one per x position (line chart) or one per sample (histogram)
  Color color;
  double width{2};
  bool dashed{false};
  bool markers{false};
};

/** Lines over x = 0, 1, ..., n-1 (slots). */
struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
};

/** Overlaid histograms of the samples in each series, on shared bins. */
struct Histogram {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  int bins{30};
};

/** Writes base + ".svg" and base + ".png". Returns an empty string or the error. */
std::string RenderLineChart(const LineChart& chart, const std::string& base);
std::string RenderHistogram(const Histogram& hist, const std::string& base);

/** Frees cairo's font and surface caches (call once, after the last figure; keeps leak
 *  checkers quiet). */
void ReleaseDrawingCaches();

}  // namespace wattline::meter::tool
