// report.h -- `plinth sweep report`: DIR/report/ with table.csv and report.md (run table, fit
// with intervals, allocation, Approach 2, H beside E) and PNG plots drawn by gnuplot (Debian's
// gnuplot-nox, pngcairo terminal): isoflop.png (isoFLOP curves with parabolas, Approach 3
// curves and fitted minima), frontier.png (loss against compute with the fitted frontier),
// allocation.png (N_opt and D_opt against C with bootstrap intervals and Approach 2 points),
// residuals.png. Curves are computed here and written as .dat files; gnuplot only draws.
#pragma once
#include <string>
#include <vector>

#include "sweep/analysis.h"

namespace plinth::sweep {

enum class Plots { Yes, No };

struct ReportOptions {
  Plots plots = Plots::Yes;
  std::string gnuplot = "gnuplot";
  std::string conditions;   // free text: machine, ranks, threads, wall time (goes into report.md)
};

struct ReportFiles {
  std::string dir, markdown, table;
  std::vector<std::string> plots;
};

ReportFiles sweep_report(const SweepAnalysis& a, const ReportOptions& o);

}  // namespace plinth::sweep
