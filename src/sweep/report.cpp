// report.cpp -- report tables, plot data, the gnuplot script and its execution.
#include "sweep/report.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/fs_util.h"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& p, const std::string& s) { io::write_file_atomic(p.string(), s); }

std::string num(double v) { return std::isfinite(v) ? fmt_num(v) : "NaN"; }

std::string run_table_markdown(const SweepAnalysis& a) {
  std::string s =
      "| id | budget C | shape | N | N w/o emb. | D | C | 6ND | C/6ND | train loss | eval loss | SE | fit | status |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const AnalysedRun& r : a.runs)
    s += str_cat("| ", r.id, " | ", short_num(r.budget), " | ", r.shape, " | ", short_num(r.n_total), " | ",
                 short_num(r.n_non_embedding), " | ", short_num(r.d), " | ", short_num(r.c), " | ", short_num(r.c_6nd),
                 " | ", short_num(r.c / r.c_6nd, 3), " | ", short_num(r.train_loss, 4), " | ", short_num(r.loss, 4),
                 " | ", short_num(r.loss_se, 2), " | ", short_num(r.predicted, 4), " | ", r.status,
                 r.entropy == "violation" ? " **below H - 4 SE**" : "", " |\n");
  return s;
}

Table run_table(const SweepAnalysis& a) {
  Table t;
  t.header = {"id", "budget", "shape", "params", "params_non_embedding", "n_fit", "tokens", "compute",
              "compute_6nd", "compute_over_6nd", "final_train_loss", "eval_loss", "eval_loss_se", "fit_loss",
              "log_residual", "wall_s", "status", "entropy_check"};
  for (const AnalysedRun& r : a.runs)
    t.rows.push_back({r.id, fmt_num(r.budget), r.shape, fmt_num(r.n_total), fmt_num(r.n_non_embedding),
                      fmt_num(r.n), fmt_num(r.d), fmt_num(r.c), fmt_num(r.c_6nd), fmt_num(r.c / r.c_6nd),
                      fmt_num(r.train_loss), fmt_num(r.loss), fmt_num(r.loss_se), fmt_num(r.predicted),
                      fmt_num(r.residual), fmt_num(r.wall_s), r.status, r.entropy});
  return t;
}

int run_gnuplot(const std::string& gnuplot, const fs::path& dir, const std::string& script) {
  const pid_t pid = ::fork();
  PLINTH_CHECK(pid >= 0, Io, "fork failed: ", std::strerror(errno));
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execlp(gnuplot.c_str(), gnuplot.c_str(), script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Data files and the gnuplot script.
std::string plot_data(const SweepAnalysis& a, const fs::path& out) {
  const ScalingParams& p = a.fit.params;
  const FlopsModel& fm = a.flops_model;
  double c_lo = 1e300, c_hi = 0, n_lo = 1e300, n_hi = 0;
  for (const auto& r : a.runs) {
    c_lo = std::min(c_lo, r.c), c_hi = std::max(c_hi, r.c);
    n_lo = std::min(n_lo, r.n), n_hi = std::max(n_hi, r.n);
  }
  for (double c : a.budgets) c_lo = std::min(c_lo, c), c_hi = std::max(c_hi, c);
  // runs: budget index, N, D, C, loss, SE, residual
  std::string runs = "# budget_index N D C eval_loss se log_residual\n";
  for (const auto& r : a.runs)
    if (r.status == "done")
      runs += str_cat(r.budget_index, " ", num(r.n), " ", num(r.d), " ", num(r.c), " ", num(r.loss), " ",
                      num(std::isfinite(r.loss_se) ? r.loss_se : 0.0), " ", num(r.residual), "\n");
  write_text(out / "runs.dat", runs);
  // isoFLOP curves: per budget, blocks separated by two blank lines
  std::string iso = "# N parabola approach3  (one block per budget)\n", vert = "# N L budget_index\n";
  const int nb = static_cast<int>(a.have_approach2 ? a.approach2.budgets.size() : 0);
  for (int b = 0; b < nb; ++b) {
    const BudgetMinimum& m = a.approach2.budgets[static_cast<size_t>(b)];
    double lo = 1e300, hi = 0;
    for (const auto& r : a.runs)
      if (r.budget_index == b) lo = std::min(lo, r.n), hi = std::max(hi, r.n);
    if (!(hi > 0)) continue;
    for (int i = 0; i <= 60; ++i) {
      const double n = lo / 1.5 * std::pow(hi * 1.5 / (lo / 1.5), i / 60.0), x = std::log(n);
      const double para = m.status == VertexStatus::TooFewPoints ? NAN : m.c0 + m.c1 * x + m.c2 * x * x;
      iso += str_cat(num(n), " ", num(para), " ", num(scaling_loss(p, n, fm.tokens(n, m.c))), "\n");
    }
    iso += "\n\n";
    if (m.status == VertexStatus::Interior) vert += str_cat(num(m.n_opt), " ", num(m.loss_opt), " ", b, "\n");
    const Allocation al = optimal_allocation(p, m.c, fm);
    vert += str_cat("# approach 3 minimum: ", num(al.n_opt), " ", num(al.loss_opt), "\n");
  }
  write_text(out / "isoflop.dat", iso);
  write_text(out / "vertices.dat", vert);
  std::string a3min = "# N_opt L_opt budget_index (approach 3 on each budget)\n";
  for (int b = 0; b < nb; ++b) {
    const Allocation al = optimal_allocation(p, a.approach2.budgets[static_cast<size_t>(b)].c, fm);
    a3min += str_cat(num(al.n_opt), " ", num(al.loss_opt), " ", b, "\n");
  }
  write_text(out / "approach3_minima.dat", a3min);
  // frontier and allocation curves over C
  std::string fr = "# C L_opt N_opt D_opt\n";
  for (int i = 0; i <= 100; ++i) {
    const double c = c_lo / 3 * std::pow(c_hi * 3 / (c_lo / 3), i / 100.0);
    const Allocation al = optimal_allocation(p, c, fm);
    fr += str_cat(num(c), " ", num(al.loss_opt), " ", num(al.n_opt), " ", num(al.d_opt), "\n");
  }
  write_text(out / "frontier.dat", fr);
  std::string iv = "# C N_opt N_p2_5 N_p10 N_p90 N_p97_5 D_opt D_p2_5 D_p10 D_p90 D_p97_5\n";
  for (size_t i = 0; i < a.budgets.size(); ++i) {
    const Interval* in = a.boot.find(str_cat("N_opt@", a.budgets[i]));
    const Interval* id = a.boot.find(str_cat("D_opt@", a.budgets[i]));
    if (!in || !id) continue;
    iv += str_cat(num(a.budgets[i]), " ", num(a.allocation[i].n_opt), " ", num(in->p2_5), " ", num(in->p10), " ",
                  num(in->p90), " ", num(in->p97_5), " ", num(a.allocation[i].d_opt), " ", num(id->p2_5), " ",
                  num(id->p10), " ", num(id->p90), " ", num(id->p97_5), "\n");
  }
  write_text(out / "allocation.dat", iv);
  std::string a2 = "# C N_opt D_opt (approach 2, interior minima only)\n";
  for (int b = 0; b < nb; ++b) {
    const BudgetMinimum& m = a.approach2.budgets[static_cast<size_t>(b)];
    if (m.status == VertexStatus::Interior) a2 += str_cat(num(m.c), " ", num(m.n_opt), " ", num(m.d_opt), "\n");
  }
  write_text(out / "approach2.dat", a2);

  const std::string e_label = a.e_identified == Identified::Yes ? str_cat("fitted E = ", short_num(p.E, 4))
                                                                : std::string("E not identified");
  std::string gp;
  gp += "# plots.gp -- written by `plinth sweep report`; run `gnuplot plots.gp` in this directory.\n";
  gp += "set terminal pngcairo size 960,680 enhanced font 'DejaVu Sans,11'\nset grid\nset key top right box opaque samplen 2\n";
  gp += "set logscale x\nset format x '10^{%L}'\n";
  gp += str_cat("set output 'isoflop.png'\nset title 'isoFLOP curves: eval loss against N (", size_measure_name(a.config.size_measure),
                " parameters)'\nset xlabel 'N'\nset ylabel 'eval loss (nats/token)'\n");
  std::string iso_cmd = "plot ";
  for (int b = 0; b < nb; ++b) {
    iso_cmd += str_cat("'runs.dat' using ($1==", b, "?$2:1/0):5:6 with yerrorbars lc ", b + 1, " pt 7 title 'C = ",
                       short_num(a.approach2.budgets[static_cast<size_t>(b)].c, 2), "', ");
    iso_cmd += str_cat("'isoflop.dat' index ", b, " using 1:2 with lines lc ", b + 1, " dt 1 notitle, ");
    iso_cmd += str_cat("'isoflop.dat' index ", b, " using 1:3 with lines lc ", b + 1, " dt 2 notitle, ");
  }
  iso_cmd += "'vertices.dat' using 1:2 with points pt 6 ps 2 lc rgb 'black' title 'parabola minimum (Approach 2)', ";
  iso_cmd += "'approach3_minima.dat' using 1:2 with points pt 4 ps 2 lc rgb 'red' title 'Approach 3 minimum (dashed: Approach 3)'";
  gp += nb > 0 ? iso_cmd + "\n" : "plot 'runs.dat' using 2:5:6 with yerrorbars pt 7 title 'runs'\n";
  gp += "set output 'frontier.png'\nset title 'eval loss against compute, fitted compute-optimal frontier'\n";
  gp += str_cat("set xlabel 'C (FLOPs, ", flops_formula_name(a.config.flops), " formula)'\nset ylabel 'eval loss (nats/token)'\n");
  gp += "plot 'runs.dat' using 4:5:6 with yerrorbars pt 7 lc 1 title 'runs', 'frontier.dat' using 1:2 with lines lw 2 lc 2 title 'L_{opt}(C), Approach 3'";
  if (std::isfinite(a.entropy)) gp += str_cat(", ", num(a.entropy), " with lines dt 3 lc rgb 'black' title 'H = ", short_num(a.entropy, 4), " (source entropy)'");
  if (a.e_identified == Identified::Yes) gp += str_cat(", ", num(p.E), " with lines dt 2 lc rgb 'gray40' title '", e_label, "'");
  gp += "\n";
  gp += "set output 'allocation.png'\nset title 'compute-optimal N and D against C (bars: 10-90% thick, 2.5-97.5% thin)'\nset logscale y\nset format y '10^{%L}'\nset ylabel 'N_{opt}, D_{opt}'\n";
  gp += "plot 'frontier.dat' using 1:3 with lines lc 1 title 'N_{opt} (Approach 3)', 'frontier.dat' using 1:4 with lines lc 2 title 'D_{opt} (Approach 3)', "
        "'allocation.dat' using 1:2:3:6 with yerrorbars lc 1 pt 7 ps 0.5 lw 1 notitle, 'allocation.dat' using 1:2:4:5 with yerrorbars lc 1 pt 7 lw 3 notitle, "
        "'allocation.dat' using 1:7:8:11 with yerrorbars lc 2 pt 7 ps 0.5 lw 1 notitle, 'allocation.dat' using 1:7:9:10 with yerrorbars lc 2 pt 7 lw 3 notitle, "
        "'approach2.dat' using 1:2 with points pt 6 ps 2 lc 1 title 'N_{opt} (Approach 2)', 'approach2.dat' using 1:3 with points pt 6 ps 2 lc 2 title 'D_{opt} (Approach 2)'\n";
  gp += "unset logscale y\nset format y '%g'\n";
  gp += "set output 'residuals.png'\nset title 'residuals of the fit: log L^ - log L'\nset xlabel 'N'\nset ylabel 'log residual'\n";
  gp += "plot 'runs.dat' using 2:7:($1+1) with points pt 7 lc variable title 'runs (colour: budget)', 0 with lines lc rgb 'black' notitle\n";
  return gp;
}

}  // namespace

ReportFiles sweep_report(const SweepAnalysis& a, const ReportOptions& o) {
  ReportFiles f;
  const fs::path out = fs::path(a.dir) / "report";
  std::error_code ec;
  fs::create_directories(out, ec);
  PLINTH_CHECK(!ec, Io, "cannot create '", out.string(), "': ", ec.message());
  f.dir = out.string();
  f.table = (out / "table.csv").string();
  table_write(f.table, run_table(a));
  const std::string gp = plot_data(a, out);
  write_text(out / "plots.gp", gp);
  std::string md = str_cat("# Scaling-law sweep `", a.config.name, "`\n\n");
  md += str_cat("Design: ", a.config.design == Design::IsoFlop ? "isoFLOP" : "grid", ", ", a.runs.size(),
                " runs, ", a.finished, " finished. Compute C of every run = training FLOPs per token x tokens, by the `",
                flops_formula_name(a.config.flops), "` formula (", flops_formula_description(a.config.flops),
                "); the table also shows 6ND and the ratio C/6ND.\n\n");
  if (std::isfinite(a.entropy))
    md += str_cat("Corpus: synthetic order-k Markov source with exact entropy rate H = ", short_num(a.entropy, 5),
                  " nats/token (the irreducible loss: E should approach H).\n\n");
  if (!o.conditions.empty()) md += "Conditions: " + o.conditions + "\n\n";
  md += "## Runs\n\n" + run_table_markdown(a) + "\n## Fit\n\n" + sweep_fit_markdown(a);
  md += "\n## Plots\n\n![isoFLOP curves](isoflop.png)\n\n![loss against compute](frontier.png)\n\n"
        "![allocation](allocation.png)\n\n![residuals](residuals.png)\n";
  f.markdown = (out / "report.md").string();
  write_text(f.markdown, md);
  if (o.plots == Plots::Yes) {
    const int rc = run_gnuplot(o.gnuplot, out, "plots.gp");
    PLINTH_CHECK(rc != 127, Input, "gnuplot ('", o.gnuplot,
                 "') could not be run: install Debian's gnuplot-nox (scripts/install-deps.sh build), or use --no-plots");
    PLINTH_CHECK(rc == 0, Io, "gnuplot failed (exit ", rc, ") on ", (out / "plots.gp").string());
    for (const char* name : {"isoflop.png", "frontier.png", "allocation.png", "residuals.png"}) {
      const std::string p = (out / name).string();
      PLINTH_CHECK(io::path_exists(p), Io, "gnuplot did not write ", p);
      f.plots.push_back(p);
    }
  }
  return f;
}

}  // namespace plinth::sweep
