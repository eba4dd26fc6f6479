// analysis.cpp -- reading a sweep directory, running the fits, writing fit.csv and fit.md.
#include "sweep/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

#include "core/error.h"
#include "io/fs_util.h"
#include "io/synthetic_corpus.h"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string corpus_of(const std::string& dir, const std::string& id) {
  const std::string cfg = (fs::path(dir) / "runs" / id / "config.ini").string();
  IniFile ini = ini_parse(io::read_file(cfg), cfg);
  if (const auto* data = ini.section("data"))
    for (const auto& [k, v] : *data)
      if (k == "corpus") return v;
  return "";
}

std::string interval_text(const Interval* iv, int digits) {
  if (!iv || iv->n == 0) return "";
  return str_cat("[", short_num(iv->p10, digits), ", ", short_num(iv->p90, digits), "] / [",
                 short_num(iv->p2_5, digits), ", ", short_num(iv->p97_5, digits), "]");
}

}  // namespace

std::string short_num(double v, int digits) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[48];
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e4 || a < 1e-3)) std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
  else std::snprintf(buf, sizeof buf, "%.*g", std::max(digits, a >= 1 ? static_cast<int>(std::log10(a)) + 1 : 0), v);
  return buf;
}

SweepAnalysis sweep_analyse(const std::string& dir) {
  SweepAnalysis a;
  a.dir = dir;
  a.config = sweep_config_load((fs::path(dir) / "sweep.ini").string());
  const std::string plan_path = (fs::path(dir) / "plan.csv").string();
  PLINTH_CHECK(io::path_exists(plan_path), Input, "'", dir, "' is not a planned sweep: ", plan_path, " is missing");
  Table plan = table_read(plan_path);
  std::vector<std::string> ids;
  for (size_t i = 0; i < plan.rows.size(); ++i) ids.push_back(plan.at(i, "id"));
  std::vector<RunResult> res = results_read(dir, ids);
  a.entropy = kNaN;
  if (!ids.empty()) {
    try {
      a.entropy = io::corpus_entropy_rate(corpus_of(dir, ids[0]));
    } catch (const Error&) {
    }
  }
  std::vector<double> fn, ff;
  std::vector<Observation> obs;
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    AnalysedRun r;
    r.id = ids[i];
    r.shape = plan.at(i, "shape");
    r.budget_index = static_cast<int>(plan.number(i, "budget_index"));
    r.budget = plan.number(i, "budget");
    r.n_total = plan.number(i, "params");
    r.n_non_embedding = plan.number(i, "params_non_embedding");
    r.n = a.config.size_measure == SizeMeasure::Total ? r.n_total : r.n_non_embedding;
    r.d = plan.number(i, "tokens");
    r.c = plan.number(i, "compute");
    r.c_6nd = plan.number(i, "compute_6nd");
    r.status = run_status_name(res[i].status);
    r.entropy = res[i].entropy;
    r.train_loss = res[i].final_train_loss;
    r.loss = res[i].val_loss;
    r.loss_se = res[i].val_loss_se;
    r.wall_s = res[i].wall_s;
    r.predicted = r.residual = kNaN;
    fn.push_back(r.n);
    ff.push_back(plan.number(i, "flops_per_token"));
    if (res[i].status == RunStatus::Done && std::isfinite(r.loss)) {
      obs.push_back({r.n, r.d, r.loss});
      ++a.finished;
    }
    if (r.entropy == "violation") ++a.violations;
    a.runs.push_back(r);
  }
  a.flops_model = flops_model_fit(fn, ff);
  a.budgets = a.config.fit_budgets;
  if (a.budgets.empty())
    for (const auto& r : a.runs) a.budgets.push_back(r.c);   // grid without fit.budgets: nothing better
  FitOptions fo;
  fo.huber_delta = a.config.huber_delta;
  a.fit = fit_scaling_law(obs, fo);   // throws with a clear message when fewer than 5 runs finished
  BootstrapOptions bo;
  bo.resamples = a.config.bootstrap;
  bo.seed = a.config.bootstrap_seed;
  bo.budgets = a.budgets;
  bo.flops = a.flops_model;
  a.boot = bootstrap_scaling_law(obs, fo, a.fit, bo);
  a.e_identified = e_identified(a.boot, a.fit.params.E, a.config.e_max_relative_width);
  for (double c : a.budgets) a.allocation.push_back(optimal_allocation(a.fit.params, c, a.flops_model));
  for (auto& r : a.runs)
    if (r.status == "done" && std::isfinite(r.loss)) {
      r.predicted = scaling_loss(a.fit.params, r.n, r.d);
      r.residual = std::log(r.predicted) - std::log(r.loss);
    }
  if (a.config.design == Design::IsoFlop) {
    std::vector<BudgetRuns> br(a.config.budgets.size());
    for (size_t b = 0; b < br.size(); ++b) br[b].c = a.config.budgets[b];
    for (const auto& r : a.runs)
      if (r.status == "done" && r.budget_index >= 0 && std::isfinite(r.loss))
        br[static_cast<size_t>(r.budget_index)].runs.push_back({r.n, r.d, r.loss});
    a.approach2 = approach2(br, a.flops_model);
    a.have_approach2 = true;
  }
  return a;
}

std::string sweep_fit_markdown(const SweepAnalysis& a) {
  const ScalingParams& p = a.fit.params;
  std::string s;
  s += str_cat("Fit of L(N, D) = E + A/N^alpha + B/D^beta (Approach 3) to ", a.finished, " finished runs; N = ",
               a.config.size_measure == SizeMeasure::Total ? "all parameters (embeddings included)"
                                                           : "parameters without embeddings",
               ", D = training tokens.\n\n");
  s += str_cat("Objective: Huber (delta = ", a.config.huber_delta,
               ") of log-space residuals, log-sum-exp form, summed over runs; L-BFGS from ", a.fit.starts,
               " grid starts; best objective ", short_num(a.fit.objective, 6), ", gradient norm (inf) ",
               short_num(a.fit.grad_norm, 3), ", ", a.fit.iterations, " iterations (stopped by: ", a.fit.stop,
               "); ", short_num(100 * a.fit.fraction_at_best, 3), "% of starts reached the best objective.\n\n");
  s += str_cat("Intervals: bootstrap over runs, ", a.boot.resamples, " resamples (10-90% / 2.5-97.5%).\n\n");
  s += "| quantity | estimate | 10-90% / 2.5-97.5% |\n|---|---|---|\n";
  const bool e_ok = a.e_identified == Identified::Yes;
  const Interval* ie = a.boot.find("E");
  s += str_cat("| E (nats/token) | ",
               e_ok ? short_num(p.E, 4)
                    : str_cat("**E not identified** (95% interval wider than ", a.config.e_max_relative_width,
                              " x the estimate)"),
               " | ", interval_text(ie, 4), " |\n");
  if (std::isfinite(a.entropy))
    s += str_cat("| H, source entropy rate (exact) | ", short_num(a.entropy, 4), " | |\n");
  const char* names[] = {"A", "B", "alpha", "beta", "a", "b"};
  const double vals[] = {p.A, p.B, p.alpha, p.beta, p.a_exponent(), p.b_exponent()};
  const char* labels[] = {"A", "B", "alpha", "beta", "a = beta/(alpha+beta) (N_opt ~ C^a)",
                          "b = alpha/(alpha+beta) (D_opt ~ C^b)"};
  for (int i = 0; i < 6; ++i)
    s += str_cat("| ", labels[i], " | ", short_num(vals[i], 4), " | ", interval_text(a.boot.find(names[i]), 3), " |\n");
  s += str_cat("\nCompute-optimal allocation, C = f0 N^phi D with (f0, phi) = (", short_num(a.flops_model.f0, 4),
               ", ", short_num(a.flops_model.phi, 4), ") fitted to the ", flops_formula_name(a.config.flops),
               " FLOPs per token of the sweep's shapes (6ND would be (6, 1)):\n\n");
  s += "| C (FLOPs) | N_opt | 10-90% / 2.5-97.5% | D_opt | 10-90% / 2.5-97.5% | L_opt |\n|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < a.budgets.size(); ++i) {
    const double c = a.budgets[i];
    s += str_cat("| ", short_num(c), " | ", short_num(a.allocation[i].n_opt), " | ",
                 interval_text(a.boot.find(str_cat("N_opt@", c)), 3), " | ", short_num(a.allocation[i].d_opt), " | ",
                 interval_text(a.boot.find(str_cat("D_opt@", c)), 3), " | ", short_num(a.allocation[i].loss_opt, 4),
                 " |\n");
  }
  if (a.have_approach2) {
    s += "\nApproach 2 (cross-check): per budget, a parabola of the evaluation loss in ln N.\n\n";
    s += "| C (FLOPs) | status | N_opt | D_opt | L at vertex |\n|---|---|---|---|---|\n";
    for (const BudgetMinimum& m : a.approach2.budgets) {
      if (m.status == VertexStatus::Interior)
        s += str_cat("| ", short_num(m.c), " | interior minimum | ", short_num(m.n_opt), " | ", short_num(m.d_opt),
                     " | ", short_num(m.loss_opt, 4), " |\n");
      else
        s += str_cat("| ", short_num(m.c), " | refused: ", vertex_status_name(m.status), " | ", m.message, " | | |\n");
    }
    if (a.approach2.n_opt.points >= 2)
      s += str_cat("\nApproach 2 power laws over ", a.approach2.n_opt.points, " budgets: N_opt = ",
                   short_num(a.approach2.n_opt.k), " C^", short_num(a.approach2.n_opt.exponent, 3), ", D_opt = ",
                   short_num(a.approach2.d_opt.k), " C^", short_num(a.approach2.d_opt.exponent, 3),
                   " (Approach 3: a = ", short_num(p.a_exponent(), 3), ", b = ", short_num(p.b_exponent(), 3), ").\n");
    else
      s += "\nApproach 2 power laws: fewer than two budgets have an interior minimum; no exponents reported.\n";
  }
  if (std::isfinite(a.entropy))
    s += str_cat("\nEntropy bound: every evaluation must satisfy loss >= H - 4 SE; ", a.violations,
                 " run(s) violate it", a.violations ? " (**a bug such as leakage**: see results.csv)" : "", ".\n");
  return s;
}

void sweep_fit_write(const SweepAnalysis& a) {
  Table t;
  t.header = {"quantity", "estimate", "p2_5", "p10", "p50", "p90", "p97_5", "bootstrap_n"};
  const ScalingParams& p = a.fit.params;
  std::map<std::string, double> point = {{"E", p.E}, {"A", p.A}, {"B", p.B}, {"alpha", p.alpha}, {"beta", p.beta},
                                         {"a", p.a_exponent()}, {"b", p.b_exponent()}};
  for (size_t i = 0; i < a.budgets.size(); ++i) {
    point[str_cat("N_opt@", a.budgets[i])] = a.allocation[i].n_opt;
    point[str_cat("D_opt@", a.budgets[i])] = a.allocation[i].d_opt;
  }
  for (size_t i = 0; i < a.boot.names.size(); ++i) {
    const Interval& iv = a.boot.intervals[i];
    const std::string& n = a.boot.names[i];
    const bool hide = n == "E" && a.e_identified == Identified::No;
    t.rows.push_back({n, hide ? "not_identified" : fmt_num(point[n]), fmt_num(iv.p2_5), fmt_num(iv.p10),
                      fmt_num(iv.p50), fmt_num(iv.p90), fmt_num(iv.p97_5), std::to_string(iv.n)});
  }
  t.rows.push_back({"objective", fmt_num(a.fit.objective), "", "", "", "", "", ""});
  t.rows.push_back({"grad_norm", fmt_num(a.fit.grad_norm), "", "", "", "", "", ""});
  t.rows.push_back({"fraction_starts_at_best", fmt_num(a.fit.fraction_at_best), "", "", "", "", "", ""});
  t.rows.push_back({"entropy_rate_H", fmt_num(a.entropy), "", "", "", "", "", ""});
  table_write((fs::path(a.dir) / "fit.csv").string(), t);
  io::write_file_atomic((fs::path(a.dir) / "fit.md").string(), sweep_fit_markdown(a));
}

}  // namespace plinth::sweep
