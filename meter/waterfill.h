// Water-filling: the best response of one appliance (or one merged group of appliances).
//
// CappedWaterFill solves, for a window of k slots with the others' load z_h, a cap u (kNoCap
// allowed) and an energy E with 0 <= E <= k u:
//     minimise sum_h F(z_h + x_h)  subject to  sum_h x_h = E,  0 <= x_h <= u
// for ANY strictly convex F that is the same in every slot (here F(L) = L p(L)). The answer
// does not depend on F: x_h = clamp(lambda - z_h, 0, u), with the level lambda set so that
// the energies add up to E. It is the Euclidean projection of (lambda-independent) -z onto the
// capped simplex, found exactly in O(k log k) by sorting the 2k breakpoints z_h and z_h + u.
//
// MonotoneWaterFill is the general form used for the hourly-bill game, where each slot has its
// own increasing marginal cost phi_h(x): it finds tau with x_h = clamp(phi_h^{-1}(tau), 0, u)
// and sum x_h = E (breakpoints sorted, then a safeguarded Newton iteration in one segment).
//
// Both are pure functions; they allocate only in their scratch argument.
#pragma once

#include <cstddef>
#include <utility>
#include <span>
#include <vector>

namespace wattline::meter {

/** Reusable buffers so that the hot loop does not allocate. */
struct WaterFillScratch {
  std::vector<std::pair<double, int>> events;
  std::vector<double> points;
};

/**
 * Writes into x (same size as z) the minimiser described above and returns the level lambda.
 * Preconditions: E finite and >= 0, cap > 0 (or kNoCap), E <= cap * z.size() (up to rounding:
 * when E >= cap * k every slot gets exactly cap), z finite. Exactly sum x = E up to rounding.
 */
double CappedWaterFill(std::span<const double> z, double cap, double energy, std::span<double> x,
                       WaterFillScratch& scratch);

/** One slot's increasing marginal cost phi(x) for x in [0, cap], and its inverse. */
struct QuadraticMarginal {
  // phi(x) = qa x^2 + qb x + qc with qa >= 0, qb >= 0 (qa = qb = 0 means constant).
  double qa{0}, qb{0}, qc{0};
  double At(double x) const { return (qa * x + qb) * x + qc; }
  /** Smallest x >= 0 with phi(x) >= tau (0 if tau <= phi(0)); may exceed any cap. */
  double Inverse(double tau) const;
};

/**
 * x_h = clamp(phi_h^{-1}(tau), 0, cap) with sum x = E. Returns tau. Slots whose phi is
 * constant are filled evenly among ties. Preconditions as for CappedWaterFill.
 */
double MonotoneWaterFill(std::span<const QuadraticMarginal> phi, double cap, double energy, std::span<double> x,
                         WaterFillScratch& scratch);

}  // namespace wattline::meter
