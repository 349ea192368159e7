#include "meter/tool/plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#ifdef WATTLINE_HAVE_FONTCONFIG
#include <fontconfig/fontconfig.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numbers>

namespace wattline::meter::tool {

namespace {

constexpr double kWidth = 900;
constexpr double kHeight = 540;
constexpr double kLeft = 90;
constexpr double kRight = 30;
constexpr double kTop = 60;
constexpr double kBottom = 70;

// 1, 2 or 5 times a power of ten, giving about `target` steps over `span`.
double NiceStep(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

std::string Label(double v) {
  char buf[64];
  const double a = std::abs(v);
  if (a >= 1e9) {
    std::snprintf(buf, sizeof buf, "%gG", v / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  }
  return buf;
}

void Text(cairo_t* cr, double x, double y, const std::string& s, double size, double align_x, double align_y,
          bool bold = false, double angle = 0) {
  cairo_save(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -ext.width * align_x - ext.x_bearing, ext.height * align_y);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

struct Frame {
  double x0, x1, y0, y1;  // data ranges
  double px(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kWidth - kLeft - kRight); }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

void Axes(cairo_t* cr, const Frame& f, const std::string& title, const std::string& xl, const std::string& yl,
          double x_step, bool integer_x, double min_y_step = 0) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  const double y_step = std::max(min_y_step, NiceStep(f.y1 - f.y0, 6));
  cairo_set_line_width(cr, 1);
  for (double y = std::ceil(f.y0 / y_step) * y_step; y <= f.y1 + 1e-9 * y_step; y += y_step) {
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, kLeft, f.py(y));
    cairo_line_to(cr, kWidth - kRight, f.py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    Text(cr, kLeft - 8, f.py(y), Label(y), 12, 1, 0.5);
  }
  for (double x = std::ceil(f.x0 / x_step) * x_step; x <= f.x1 + 1e-9 * x_step; x += x_step) {
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, f.px(x), kHeight - kBottom);
    cairo_line_to(cr, f.px(x), kHeight - kBottom + 5);
    cairo_stroke(cr);
    Text(cr, f.px(x), kHeight - kBottom + 9, integer_x ? std::to_string(static_cast<long>(std::lround(x))) : Label(x), 12,
         0.5, 1);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom);
  cairo_stroke(cr);
  Text(cr, kWidth / 2, 22, title, 17, 0.5, 1, true);
  Text(cr, (kLeft + kWidth - kRight) / 2, kHeight - 22, xl, 14, 0.5, 0);
  Text(cr, 24, (kTop + kHeight - kBottom) / 2, yl, 14, 0.5, 0.5, false, -std::numbers::pi / 2);
}

void Legend(cairo_t* cr, const std::vector<Series>& series, bool boxes) {
  double y = kTop + 14;
  const double x = kLeft + 14;
  double widest = 0;
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  for (const auto& s : series) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s.label.c_str(), &ext);
    widest = std::max(widest, ext.x_advance);
  }
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, x - 6, y - 10, widest + 52, 20.0 * static_cast<double>(series.size()) + 2);
  cairo_fill(cr);
  for (const auto& s : series) {
    cairo_set_source_rgb(cr, s.color.r, s.color.g, s.color.b);
    if (boxes) {
      cairo_rectangle(cr, x, y - 5, 26, 10);
      cairo_fill(cr);
    } else {
      cairo_set_line_width(cr, s.width);
      if (s.dashed) {
        const double d[] = {6, 4};
        cairo_set_dash(cr, d, 2, 0);
      }
      cairo_move_to(cr, x, y);
      cairo_line_to(cr, x + 26, y);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    Text(cr, x + 34, y, s.label, 12, 0, 0.5);
    y += 20;
  }
}

std::string WriteBoth(const std::string& base, const std::function<void(cairo_t*)>& draw) {
  {
    cairo_surface_t* svg = cairo_svg_surface_create((base + ".svg").c_str(), kWidth, kHeight);
    cairo_t* cr = cairo_create(svg);
    draw(cr);
    cairo_destroy(cr);
    cairo_surface_finish(svg);
    const cairo_status_t st = cairo_surface_status(svg);
    cairo_surface_destroy(svg);
    if (st != CAIRO_STATUS_SUCCESS) return "cannot write " + base + ".svg: " + cairo_status_to_string(st);
  }
  cairo_surface_t* png = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(kWidth), static_cast<int>(kHeight));
  cairo_t* cr = cairo_create(png);
  draw(cr);
  cairo_destroy(cr);
  const cairo_status_t st = cairo_surface_write_to_png(png, (base + ".png").c_str());
  cairo_surface_destroy(png);
  if (st != CAIRO_STATUS_SUCCESS) return "cannot write " + base + ".png: " + cairo_status_to_string(st);
  return {};
}

}  // namespace

std::string RenderLineChart(const LineChart& chart, const std::string& base) {
  std::size_t n = 0;
  double top = 0;
  for (const auto& s : chart.series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) top = std::max(top, std::isfinite(v) ? v : 0.0);
  }
  if (n < 2) n = 2;
  // Leave headroom above the data for the legend.
  const double legend = (20.0 * static_cast<double>(chart.series.size()) + 30) / (kHeight - kTop - kBottom);
  const double range = (top > 0 ? top : 1) / (1 - legend);
  const double step = NiceStep(range, 6);
  Frame f{-0.5, static_cast<double>(n) - 0.5, 0, std::ceil(range / step) * step};
  return WriteBoth(base, [&](cairo_t* cr) {
    Axes(cr, f, chart.title, chart.x_label, chart.y_label, n > 30 ? NiceStep(static_cast<double>(n), 12) : 1, true);
    for (const auto& s : chart.series) {
      cairo_set_source_rgb(cr, s.color.r, s.color.g, s.color.b);
      cairo_set_line_width(cr, s.width);
      if (s.dashed) {
        const double d[] = {6, 4};
        cairo_set_dash(cr, d, 2, 0);
      }
      for (std::size_t h = 0; h < s.values.size(); ++h) {
        // A step line: each slot is a flat segment, as load over an hour is.
        const double y = f.py(s.values[h]);
        if (h == 0) {
          cairo_move_to(cr, f.px(-0.5), y);
        } else {
          cairo_line_to(cr, f.px(static_cast<double>(h) - 0.5), y);
        }
        cairo_line_to(cr, f.px(static_cast<double>(h) + 0.5), y);
      }
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
      if (s.markers) {
        for (std::size_t h = 0; h < s.values.size(); ++h) {
          cairo_arc(cr, f.px(static_cast<double>(h)), f.py(s.values[h]), 3, 0, 2 * std::numbers::pi);
          cairo_fill(cr);
        }
      }
    }
    Legend(cr, chart.series, false);
  });
}

std::string RenderHistogram(const Histogram& hist, const std::string& base) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const auto& s : hist.series) {
    for (double v : s.values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) {
    lo = -1;
    hi = 1;
  }
  lo = std::min(lo, 0.0);  // always show where "no change" is
  hi = std::max(hi, 0.0);
  if (hi - lo < 1e-9 * std::max(1.0, std::abs(hi))) {
    const double pad = std::max(1.0, std::abs(hi) * 0.05);
    lo -= pad;
    hi += pad;
  }
  const int bins = std::max(1, hist.bins);
  const double width = (hi - lo) / bins;
  std::vector<std::vector<double>> counts(hist.series.size(), std::vector<double>(static_cast<std::size_t>(bins), 0.0));
  double top = 1;
  for (std::size_t k = 0; k < hist.series.size(); ++k) {
    for (double v : hist.series[k].values) {
      if (!std::isfinite(v)) continue;
      int b = static_cast<int>((v - lo) / width);
      b = std::clamp(b, 0, bins - 1);
      top = std::max(top, ++counts[k][static_cast<std::size_t>(b)]);
    }
  }
  const double legend = (20.0 * static_cast<double>(hist.series.size()) + 30) / (kHeight - kTop - kBottom);
  const double range = top / (1 - legend);
  const double step = std::max(1.0, NiceStep(range, 6));  // counts: whole numbers
  Frame f{lo, hi, 0, std::ceil(range / step) * step};
  return WriteBoth(base, [&](cairo_t* cr) {
    Axes(cr, f, hist.title, hist.x_label, hist.y_label, NiceStep(hi - lo, 8), false, 1);
    const double lanes = static_cast<double>(hist.series.size());
    for (std::size_t k = 0; k < hist.series.size(); ++k) {
      const auto& s = hist.series[k];
      for (int b = 0; b < bins; ++b) {
        const double c = counts[k][static_cast<std::size_t>(b)];
        if (c <= 0) continue;
        const double x0 = f.px(lo + b * width) + 1;
        const double x1 = f.px(lo + (b + 1) * width) - 1;
        const double lane = (x1 - x0) / lanes;
        cairo_set_source_rgba(cr, s.color.r, s.color.g, s.color.b, 0.85);
        cairo_rectangle(cr, x0 + lane * static_cast<double>(k), f.py(c), lane, f.py(0) - f.py(c));
        cairo_fill(cr);
      }
    }
    // The zero line: left of it prosumers pay less after scheduling.
    if (lo < 0 && hi > 0) {
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      const double d[] = {4, 3};
      cairo_set_dash(cr, d, 2, 0);
      cairo_set_line_width(cr, 1);
      cairo_move_to(cr, f.px(0), kTop);
      cairo_line_to(cr, f.px(0), kHeight - kBottom);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
    }
    Legend(cr, hist.series, true);
  });
}

void ReleaseDrawingCaches() {
  cairo_debug_reset_static_data();
#ifdef WATTLINE_HAVE_FONTCONFIG
  FcFini();
#endif
}

}  // namespace wattline::meter::tool
