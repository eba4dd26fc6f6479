// sweep_commands.cpp -- the `plinth sweep` subcommands: option parsing, the resolver that checks
// every planned run with the real `plinth train` configuration parser, and the Slurm hook
// (`plinth sweep run DIR --slurm` hands the sweep to `plinth submit --sweep DIR`, which
// renders slurm/sweep_array.sbatch: array task i runs plan row i).
#include "launch/sweep_commands.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "core/log.h"
#include "launch/run_config.h"
#include "model/model_config.h"
#include "sweep/analysis.h"
#include "sweep/plan.h"
#include "sweep/report.h"
#include "sweep/runner.h"

namespace plinth::launch {
namespace po = boost::program_options;
namespace {

const char* kSweepUsage =
    "usage: plinth sweep <plan|run|collect|fit|report> ...\n"
    "  plan CONFIG.ini --out DIR   expand a sweep into DIR/plan.csv and DIR/runs/<id>/config.ini (nothing runs)\n"
    "  run DIR [options]           train every unfinished run locally, one job at a time; DIR/results.csv\n"
    "  collect DIR                 refresh DIR/results.csv from the runs' metrics (after Slurm array jobs)\n"
    "  fit DIR                     Approach 3 fit + bootstrap + Approach 2: DIR/fit.csv, DIR/fit.md\n"
    "  report DIR [options]        DIR/report/: report.md, table.csv, isoflop/frontier/allocation/residuals PNGs\n"
    "`plinth sweep <sub> --help` lists each subcommand's options; docs/sweeps.md explains the sweep file.\n";

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d,
                        const po::positional_options_description& pos, const char* what) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    PLINTH_THROW(Config, "plinth sweep ", what, ": ", e.what());
  }
  return vm;
}

sweep::ResolvedRun resolve_run(const std::string& ini, const std::string& origin) {
  RunConfig rc = run_config_from_ini(ini, origin);
  model::model_config_validate(rc.model);
  train::train_config_validate(rc.train);
  sweep::ResolvedRun r;
  r.model = rc.model;
  r.micro_batch = rc.train.micro_batch;
  r.grad_accum = rc.train.grad_accum;
  r.global_batch = rc.train.global_batch;
  r.lr = rc.train.schedule.lr;
  r.seed = rc.train.seed;
  return r;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  PLINTH_CHECK(n > 0, Io, "cannot find the plinth binary (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

int sweep_plan_cmd(const std::vector<std::string>& args) {
  po::options_description d("plinth sweep plan options");
  d.add_options()("help,h", "show the options")("config", po::value<std::string>(), "sweep configuration (INI)")(
      "out,o", po::value<std::string>(), "sweep directory to write");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm = parse(args, d, pos, "plan");
  if (vm.count("help")) return std::cout << "usage: plinth sweep plan CONFIG.ini --out DIR\n\n" << d, 0;
  PLINTH_CHECK(vm.count("config"), Config, "plinth sweep plan: the sweep configuration file is required");
  PLINTH_CHECK(vm.count("out"), Config, "plinth sweep plan: --out DIR is required");
  const sweep::SweepConfig sc = sweep::sweep_config_load(vm["config"].as<std::string>());
  const std::string dir = vm["out"].as<std::string>();
  sweep::Plan plan = sweep::sweep_plan(sc, dir, resolve_run);
  sweep::sweep_plan_write(plan, sc, dir);
  double total = 0;
  for (const auto& r : plan.runs) total += r.compute;
  log_info(str_cat("sweep ", sc.name, ": ", plan.runs.size(), " runs, total C = ", total, " FLOPs (",
                   sweep::flops_formula_name(plan.flops), " formula) -> ", dir, "/plan.csv"));
  for (const auto& r : plan.runs)
    log_info(str_cat("  ", r.id, "  ", r.shape, "  N = ", r.params, " (", r.params_non_embedding,
                     " w/o embeddings)  D = ", r.tokens, "  steps ", r.steps, "  C = ", r.compute,
                     "  C/6ND = ", r.compute / r.compute_6nd));
  return 0;
}

int sweep_run_cmd(const std::vector<std::string>& args) {
  po::options_description d("plinth sweep run options");
  d.add_options()("help,h", "show the options")("dir", po::value<std::string>(), "sweep directory")(
      "ranks", po::value<int>()->default_value(0), "MPI ranks per run; 0 = sweep.ranks of the sweep file")(
      "no-mpirun", "run `plinth train` directly (one rank) instead of under mpirun")(
      "mpirun", po::value<std::string>()->default_value("mpirun"), "the mpirun program")(
      "mpirun-arg", po::value<std::vector<std::string>>()->composing(), "extra mpirun argument (repeatable)")(
      "train-arg", po::value<std::vector<std::string>>()->composing(),
      "extra --section.key=value for every run (repeatable), e.g. --train-arg=--train.threads=1")(
      "only", po::value<std::vector<std::string>>()->composing(), "run only this id (repeatable)")(
      "retry-failed", "run failed runs again")(
      "slurm", "submit the sweep as a Slurm job array through `plinth submit --sweep DIR` instead")(
      "submit-arg", po::value<std::vector<std::string>>()->composing(), "with --slurm: an argument for plinth submit");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm = parse(args, d, pos, "run");
  if (vm.count("help")) return std::cout << "usage: plinth sweep run DIR [options]\n\n" << d, 0;
  PLINTH_CHECK(vm.count("dir"), Config, "plinth sweep run: the sweep directory is required");
  const std::string dir = vm["dir"].as<std::string>();
  auto list = [&](const char* k) {
    return vm.count(k) ? vm[k].as<std::vector<std::string>>() : std::vector<std::string>();
  };
  if (vm.count("slurm")) {   // hook: the Slurm layer owns rendering and submission
    std::vector<std::string> argv = {self_exe(), "submit", "--sweep", dir};
    for (const auto& a : list("submit-arg")) argv.push_back(a);
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    PLINTH_THROW(Io, "cannot execute ", argv[0], " submit");
  }
  sweep::RunOptions o;
  o.ranks = vm["ranks"].as<int>();
  o.use_mpirun = vm.count("no-mpirun") ? sweep::UseMpirun::No : sweep::UseMpirun::Yes;
  PLINTH_CHECK(o.use_mpirun == sweep::UseMpirun::Yes || o.ranks <= 1, Config,
               "plinth sweep run: --no-mpirun runs one rank; --ranks ", o.ranks, " needs mpirun");
  o.mpirun = vm["mpirun"].as<std::string>();
  o.mpirun_args = list("mpirun-arg");
  o.train_args = list("train-arg");
  o.only = list("only");
  o.retry = vm.count("retry-failed") ? sweep::RetryFailed::Yes : sweep::RetryFailed::No;
  o.plinth_exe = self_exe();
  sweep::RunSummary s = sweep::sweep_run_local(dir, o);
  log_info(str_cat("sweep ", dir, ": ", s.done, "/", s.total, " done, ", s.failed, " failed, ", s.interrupted,
                   " interrupted, ", s.pending, " pending (", s.ran, " jobs started now)",
                   s.violations ? str_cat("; ", s.violations, " run(s) BELOW the source entropy bound") : ""));
  if (s.failed) log_warn("failed runs are listed in results.csv; `plinth sweep run DIR --retry-failed` runs them again");
  return s.selected_unfinished > 0 ? 1 : 0;   // 0: every run asked for is done
}

int sweep_dir_cmd(const std::vector<std::string>& args, const std::string& sub) {
  po::options_description d("plinth sweep " + sub + " options");
  d.add_options()("help,h", "show the options")("dir", po::value<std::string>(), "sweep directory");
  if (sub == "report")
    d.add_options()("no-plots", "write the tables and report.md only")(
        "gnuplot", po::value<std::string>()->default_value("gnuplot"), "the gnuplot program")(
        "conditions", po::value<std::string>()->default_value(""), "text on the conditions of the runs, for report.md");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm = parse(args, d, pos, sub.c_str());
  if (vm.count("help")) return std::cout << "usage: plinth sweep " << sub << " DIR\n\n" << d, 0;
  PLINTH_CHECK(vm.count("dir"), Config, "plinth sweep ", sub, ": the sweep directory is required");
  const std::string dir = vm["dir"].as<std::string>();
  if (sub == "collect") {
    sweep::RunSummary s = sweep::sweep_collect(dir);
    log_info(str_cat("sweep ", dir, ": ", s.done, "/", s.total, " done, ", s.failed, " failed, ", s.pending,
                     " pending or unfinished"));
    return 0;
  }
  sweep::SweepAnalysis a = sweep::sweep_analyse(dir);
  sweep::sweep_fit_write(a);
  if (sub == "fit") {
    std::cout << sweep::sweep_fit_markdown(a);
    return 0;
  }
  sweep::ReportOptions ro;
  ro.plots = vm.count("no-plots") ? sweep::Plots::No : sweep::Plots::Yes;
  ro.gnuplot = vm["gnuplot"].as<std::string>();
  ro.conditions = vm["conditions"].as<std::string>();
  sweep::ReportFiles f = sweep::sweep_report(a, ro);
  log_info(str_cat("report: ", f.markdown, ", ", f.table, ", ", f.plots.size(), " plots in ", f.dir));
  return 0;
}

}  // namespace

int command_sweep(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kSweepUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "plan") return sweep_plan_cmd(rest);
  if (sub == "run") return sweep_run_cmd(rest);
  if (sub == "collect" || sub == "fit" || sub == "report") return sweep_dir_cmd(rest, sub);
  PLINTH_THROW(Config, "plinth sweep: unknown subcommand '", sub, "' (plan, run, collect, fit, report)");
}

}  // namespace plinth::launch
