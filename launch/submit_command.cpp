// submit_command.cpp -- `plinth submit`: option parsing, the checks before sbatch (config, corpus,
// layout vs tasks, time limit vs signal margin), rendering of the slurm/ template, the sbatch call,
// and a warning when a -DPLINTH_NATIVE=ON build may meet nodes without its instruction set.
#include "launch/submit_command.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <sys/wait.h>

#include "core/error.h"
#include "core/log.h"
#include "io/corpus.h"
#include "kernels/kernels.h"
#include "launch/run_config.h"
#include "model/model_config.h"
#include "parallel/grid.h"
#include "train/train_config.h"

#ifndef PLINTH_SLURM_DIR_DEFAULT
#define PLINTH_SLURM_DIR_DEFAULT "slurm"
#endif

namespace plinth::launch {
namespace fs = std::filesystem;
namespace {

const char* kUsage =
    "usage: plinth submit [submit options] --config FILE.ini [--section.key=value ...]\n"
    "       plinth submit [submit options] --sweep DIR [--section.key=value ...]\n"
    "\n"
    "Checks the configuration, the corpus files and the parallel layout against the task count on\n"
    "this host, renders slurm/pretrain.sbatch (or slurm/sweep_array.sbatch, one array task per\n"
    "DIR/runs/<id>/config.ini) into <log.out_dir>/submit.sbatch (DIR/submit_array.sbatch) and\n"
    "submits it with sbatch. Train arguments (--config, --section.key=value) go to plinth train.\n"
    "\n"
    "submit options:\n"
    "  --nodes N              nodes (default 1)\n"
    "  --ntasks-per-node N    MPI ranks per node (default 1); ranks = nodes x ntasks-per-node\n"
    "                         must equal parallel.tp x parallel.pp x parallel.dp\n"
    "  --time T               time limit in Slurm's format, e.g. 90, 04:00:00, 1-12:00:00 (default 01:00:00)\n"
    "  --signal-margin S      USR1 S seconds before the limit: save, exit 75, requeue (default 300)\n"
    "  --job-name NAME        (default plinth)\n"
    "  --partition P, --account A\n"
    "  --launcher srun|mpirun srun --mpi=pmix (default) or Open MPI's mpirun inside the allocation\n"
    "  --sweep DIR            a job array over DIR/runs/*/config.ini (sorted ids; task i = run i)\n"
    "  --sbatch-arg OPT       one more #SBATCH option, e.g. --sbatch-arg=--exclusive (repeatable)\n"
    "  --template FILE        another batch template (must keep the '# @plinth-submit-settings@' line)\n"
    "  --plinth PATH          the plinth binary the job runs (default: this one)\n"
    "  --dry-run              check and render, print the script's path, do not call sbatch\n"
    "environment: PLINTH_SBATCH (default sbatch), PLINTH_SINFO (default sinfo), PLINTH_SLURM_DIR (the\n"
    "templates; default the source tree's slurm/), and the site settings listed in slurm/lib/plinth_job.sh.\n"
    "A -DPLINTH_NATIVE=ON build warns when the partition's node features do not show the\n"
    "instruction set it was compiled for (the default, portable build runs on any x86-64 node).\n";

const char* kSettingsMarker = "# @plinth-submit-settings@";

int64_t parse_int(const std::string& option, const std::string& text, int64_t min) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  PLINTH_CHECK(!text.empty() && errno == 0 && end && *end == '\0' && v >= min, Config, "plinth submit: ", option,
               " must be an integer >= ", min, ", got '", text, "'");
  return v;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> sorted_run_ids(const std::string& sweep_dir) {
  const fs::path runs = fs::path(sweep_dir) / "runs";
  PLINTH_CHECK(fs::is_directory(runs), Input, "plinth submit: --sweep ", sweep_dir, ": ", runs.string(),
               " is not a directory (expected the output of `plinth sweep plan --out DIR`)");
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(runs))
    if (e.is_directory()) ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  PLINTH_CHECK(!ids.empty(), Input, "plinth submit: --sweep ", sweep_dir, ": ", runs.string(), " holds no runs");
  return ids;
}

// The checks of one training run (`label` prefixes messages: "" or "run r001: "). Returns the
// resolved configuration with the layout it gets from `tasks` ranks.
RunConfig check_run(const std::vector<std::string>& train_args, int tasks, const std::string& label, SubmitPlan& plan) {
  RunConfig rc = run_config_parse(train_args);
  PLINTH_CHECK(!rc.help, Config, "plinth submit: --help is a submit option here; use plinth train --help for the keys");
  train::train_config_validate(rc.train);
  PLINTH_CHECK(!rc.train.data.corpora.empty(), Config, label, "data.corpus is not set");
  for (const std::string& path : rc.train.data.corpora) {
    PLINTH_CHECK(fs::exists(path), Input, label, "data.corpus: ", path, " does not exist (checked on the submitting ",
                 "host, relative to ", fs::current_path().string(), ", where the job starts too)");
    const int64_t vocab = io::Corpus::open(path).info().vocab_size;   // throws Input naming the file
    if (rc.model.vocab_size == 0) rc.model.vocab_size = vocab;
  }
  model::model_config_validate(rc.model);
  if (rc.train.resume == train::ResumeKind::Path)
    PLINTH_CHECK(fs::exists(rc.train.resume_path), Input, label, "checkpoint.resume: ", rc.train.resume_path,
                 " does not exist");

  // The layout against the task count.
  const int tp = rc.parallel.tp, pp = rc.parallel.pp;
  PLINTH_CHECK(tp >= 1 && pp >= 1, Config, label, "parallel.tp and parallel.pp must be >= 1");
  int dp = rc.parallel.dp;
  if (dp > 0) {
    const int64_t need = static_cast<int64_t>(tp) * pp * dp;
    PLINTH_CHECK(need == tasks, Config, label, "the job asks for ", tasks, " tasks (--nodes x --ntasks-per-node) but ",
                 "the layout parallel.tp x parallel.pp x parallel.dp = ", tp, " x ", pp, " x ", dp, " = ", need,
                 tasks > need ? " uses fewer: the extra tasks would sit idle; lower --nodes/--ntasks-per-node or "
                                "raise parallel.dp"
                              : " needs more tasks; raise --nodes/--ntasks-per-node or lower the layout");
  } else {
    PLINTH_CHECK(tasks % (tp * pp) == 0, Config, label, "the layout does not fit the task count: ", tasks,
                 " tasks (--nodes x --ntasks-per-node) are not divisible by parallel.tp x parallel.pp = ", tp, " x ",
                 pp, " = ", tp * pp);
    dp = tasks / (tp * pp);
  }
  parallel::grid_validate(parallel::GridShape{.tp = tp, .pp = pp, .dp = dp}, tasks);
  model::model_config_validate_tp(rc.model, tp, rc.train.sequence_parallel);
  train::train_config_resolve_batch(rc.train, dp);
  // the pipeline partition and schedule (more stages than layers, too few micro-batches, ...)
  if (pp > 1) (void)train::train_pipeline_partition(rc.model.n_layer, rc.train, pp);
  plan.tp = tp;
  plan.pp = pp;
  plan.dp = dp;
  return rc;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  PLINTH_CHECK(in.good(), Input, "plinth submit: template ", path, " cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    PLINTH_CHECK(out.good(), Io, "plinth submit: cannot write ", tmp);
  }
  fs::rename(tmp, path);
}

// Runs a command line through the shell; returns its exit status and merged output.
int run_capture(const std::string& command, std::string& output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  PLINTH_CHECK(p, Io, "plinth submit: cannot run '", command, "'");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string slurm_dir() {
  const char* env = std::getenv("PLINTH_SLURM_DIR");
  return fs::absolute(env && *env ? env : PLINTH_SLURM_DIR_DEFAULT).lexically_normal().string();
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) parts.push_back(item);
  return parts;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// The build features (build_isa_requirements' names) a node feature implies, e.g. avx512 or
// x86-64-v4 -> all of them; empty for a feature that names no instruction set.
std::vector<std::string> implied_features(std::string token) {
  std::transform(token.begin(), token.end(), token.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(token.begin(), token.end(), '.', '_');                                     // sse4.2
  if (token.rfind("x86_64", 0) == 0) std::replace(token.begin(), token.end(), '_', '-');  // x86_64_v3
  if (token.rfind("avx512", 0) == 0 || token == "x86-64-v4") return {"avx512f", "avx2", "fma", "avx", "sse4_2"};
  if (token == "avx2" || token == "x86-64-v3") return {"avx2", "fma", "avx", "sse4_2"};
  if (token == "fma") return {"fma", "avx", "sse4_2"};
  if (token == "avx") return {"avx", "sse4_2"};
  if (token == "sse4_2" || token == "x86-64-v2") return {"sse4_2"};
  return {};
}

// The required features one node group (a comma-separated feature list) lacks; nullopt when its
// features name no instruction set at all.
std::optional<std::vector<std::string>> missing_features(const std::vector<std::string>& required,
                                                         const std::string& feature_list) {
  std::vector<std::string> has;
  for (const std::string& token : split(feature_list, ',')) {
    const std::vector<std::string> implied = implied_features(token);
    has.insert(has.end(), implied.begin(), implied.end());
  }
  if (has.empty()) return std::nullopt;
  std::vector<std::string> missing;
  for (const std::string& f : required)
    if (std::find(has.begin(), has.end(), f) == has.end()) missing.push_back(f);
  return missing;
}

// Asks Slurm for the partition's node features (PLINTH_SINFO replaces sinfo, for tests) and logs
// isa_warning's line, if any. The portable build asks nothing; neither does a job that runs
// another binary (--plinth), whose build this one cannot see.
void warn_about_isa(const SubmitOptions& o) {
  const std::vector<std::string> required = kernels::build_isa_requirements();
  std::error_code ec;
  if (required.empty() || !fs::equivalent(o.plinth_bin, "/proc/self/exe", ec)) return;
  const char* env = std::getenv("PLINTH_SINFO");
  const std::string sinfo = env && *env ? env : "sinfo";
  std::string output;
  const int rc = run_capture(sinfo + " -h -o " + shell_quote("%P %f") +
                                 (o.partition.empty() ? "" : " -p " + shell_quote(o.partition)),
                             output);
  const std::vector<std::string> lists = rc == 0 ? partition_features(output, o.partition) : std::vector<std::string>{};
  if (const auto warning = isa_warning(required, lists, o.partition)) log_warn(*warning);
}

}  // namespace

std::vector<std::string> partition_features(const std::string& sinfo_output, const std::string& partition) {
  std::vector<std::string> lists;
  for (const std::string& line : split(sinfo_output, '\n')) {
    std::stringstream ss(line);
    std::string name, features;
    if (!(ss >> name >> features)) continue;
    const bool is_default = name.back() == '*';
    if (is_default) name.pop_back();
    if (partition.empty() ? is_default : name == partition) lists.push_back(features == "(null)" ? "" : features);
  }
  return lists;
}

std::optional<std::string> isa_warning(const std::vector<std::string>& required,
                                       const std::vector<std::string>& feature_lists, const std::string& partition) {
  if (required.empty()) return std::nullopt;
  const std::string where = partition.empty() ? "the default partition" : "partition '" + partition + "'";
  const std::string fix = "; rebuild with -DPLINTH_NATIVE=OFF (portable: any x86-64 node, kernels chosen at run time)";
  bool unknown = feature_lists.empty();
  for (const std::string& list : feature_lists) {
    const auto missing = missing_features(required, list);
    if (!missing) {
      unknown = true;
    } else if (!missing->empty()) {
      return str_cat("this plinth build requires ", join(*missing, ", "), " (compiled with -DPLINTH_NATIVE=ON) but ",
                     "nodes of ", where, " report features '", list, "' without ", missing->size() == 1 ? "it" : "them",
                     ": the job would die with SIGILL there", fix);
    }
  }
  if (!unknown) return std::nullopt;
  return str_cat("this plinth build requires ", join(required, ", "), " (compiled with -DPLINTH_NATIVE=ON); ",
                 "cannot confirm that every node of ", where, " has them (Slurm reports no instruction-set features ",
                 "for ", feature_lists.empty() ? "the partition" : "some of its nodes", ")", fix);
}

SubmitOptions submit_options_parse(const std::vector<std::string>& args) {
  SubmitOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") { o.help = true; continue; }
    if (a == "--dry-run") { o.dry_run = true; continue; }
    PLINTH_CHECK(a.rfind("--", 0) == 0 || a == "-c", Config, "plinth submit: unexpected argument '", a,
                 "' (options are --name=value or --name value)");
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    auto value = [&]() -> std::string {
      if (eq != std::string::npos) return a.substr(eq + 1);
      PLINTH_CHECK(i + 1 < args.size(), Config, "plinth submit: ", name, " needs a value");
      return args[++i];
    };
    if (name == "--config" || name == "-c") {
      o.train_args.push_back("--config");
      o.train_args.push_back(value());
    } else if (name.find('.') != std::string::npos) {
      o.train_args.push_back(eq != std::string::npos ? a : name + "=" + value());
    } else if (name == "--nodes") {
      o.nodes = static_cast<int>(parse_int(name, value(), 1));
    } else if (name == "--ntasks-per-node") {
      o.tasks_per_node = static_cast<int>(parse_int(name, value(), 1));
    } else if (name == "--time") {
      o.time = value();
    } else if (name == "--signal-margin") {
      o.signal_margin_s = parse_int(name, value(), 0);
    } else if (name == "--job-name") {
      o.job_name = value();
    } else if (name == "--partition") {
      o.partition = value();
    } else if (name == "--account") {
      o.account = value();
    } else if (name == "--launcher") {
      o.launcher = value();
      PLINTH_CHECK(o.launcher == "srun" || o.launcher == "mpirun", Config, "plinth submit: --launcher must be srun ",
                   "or mpirun, got '", o.launcher, "'");
    } else if (name == "--template") {
      o.template_path = value();
    } else if (name == "--plinth") {
      o.plinth_bin = value();
    } else if (name == "--sweep") {
      o.sweep_dir = value();
    } else if (name == "--sbatch-arg") {
      o.sbatch_args.push_back(value());
    } else {
      PLINTH_THROW(Config, "plinth submit: unknown option '", name,
                   "' (see plinth submit --help; train keys look like --section.key=value)");
    }
  }
  return o;
}

int64_t slurm_time_seconds(const std::string& text) {
  if (text == "UNLIMITED" || text == "INFINITE" || text == "unlimited" || text == "infinite") return -1;
  auto bad = [&]() { PLINTH_THROW(Config, "plinth submit: --time '", text, "' is not a Slurm time (M, M:S, H:M:S, D-H, D-H:M or D-H:M:S)"); };
  if (text.empty()) bad();
  int64_t days = -1;
  std::string rest = text;
  if (const size_t dash = text.find('-'); dash != std::string::npos) {
    if (dash == 0 || text.find_first_not_of("0123456789") != dash) bad();
    days = std::stoll(text.substr(0, dash));
    rest = text.substr(dash + 1);
  }
  std::vector<int64_t> parts;
  std::stringstream ss(rest);
  std::string item;
  while (std::getline(ss, item, ':')) {
    if (item.empty() || item.size() > 9 || item.find_first_not_of("0123456789") != std::string::npos) bad();
    parts.push_back(std::stoll(item));
  }
  if (parts.empty() || parts.size() > 3 || rest.back() == ':') bad();
  if (days >= 0) {   // D-H[:M[:S]]
    int64_t s = days * 86400 + parts[0] * 3600;
    if (parts.size() > 1) s += parts[1] * 60;
    if (parts.size() > 2) s += parts[2];
    return s;
  }
  if (parts.size() == 1) return parts[0] * 60;                             // M
  if (parts.size() == 2) return parts[0] * 60 + parts[1];                  // M:S
  return parts[0] * 3600 + parts[1] * 60 + parts[2];                       // H:M:S
}

SubmitPlan submit_check(const SubmitOptions& o) {
  SubmitPlan plan;
  PLINTH_CHECK(o.nodes >= 1 && o.tasks_per_node >= 1, Config, "plinth submit: --nodes and --ntasks-per-node must be >= 1");
  plan.tasks = o.nodes * o.tasks_per_node;
  const int64_t limit = slurm_time_seconds(o.time);
  if (limit >= 0) {
    PLINTH_CHECK(o.signal_margin_s < limit, Config, "plinth submit: --signal-margin (", o.signal_margin_s,
                 " s) must be shorter than --time (", o.time, " = ", limit, " s), or the save signal comes at once");
  }
  PLINTH_CHECK(o.signal_margin_s <= 65535, Config, "plinth submit: --signal-margin (", o.signal_margin_s,
               " s) exceeds Slurm's limit of 65535 s");
  if (!o.sweep_dir.empty()) {
    PLINTH_CHECK(std::none_of(o.train_args.begin(), o.train_args.end(), [](const std::string& a) { return a == "--config"; }),
                 Config, "plinth submit: --sweep takes each run's config.ini; --config cannot be given too");
    plan.run_ids = sorted_run_ids(o.sweep_dir);
    for (const std::string& id : plan.run_ids) {
      const std::string cfg = (fs::path(o.sweep_dir) / "runs" / id / "config.ini").string();
      PLINTH_CHECK(fs::exists(cfg), Input, "plinth submit: run ", id, ": ", cfg, " does not exist");
      std::vector<std::string> args = {"--config", cfg};
      args.insert(args.end(), o.train_args.begin(), o.train_args.end());
      check_run(args, plan.tasks, "run " + id + " (" + cfg + "): ", plan);
    }
    plan.out_dir = fs::absolute(o.sweep_dir).lexically_normal().string();
  } else {
    PLINTH_CHECK(std::any_of(o.train_args.begin(), o.train_args.end(), [](const std::string& a) { return a == "--config"; }),
                 Config, "plinth submit: --config FILE.ini is required (or --sweep DIR)");
    RunConfig rc = check_run(o.train_args, plan.tasks, "", plan);
    plan.out_dir = fs::absolute(rc.train.out_dir).lexically_normal().string();
  }
  return plan;
}

std::string submit_render(const std::string& template_text, const SubmitOptions& o, const SubmitPlan& plan,
                          const std::string& slurm_dir_path) {
  const bool sweep = !o.sweep_dir.empty();
  // The #SBATCH options this submission sets, in order; a template line with the same option is replaced.
  std::vector<std::pair<std::string, std::string>> ours = {
      {"job-name", o.job_name},
      {"nodes", std::to_string(o.nodes)},
      {"ntasks-per-node", std::to_string(o.tasks_per_node)},
      {"time", o.time},
      {"signal", str_cat("B:USR1@", o.signal_margin_s)},
      {"requeue", ""},
      {"open-mode", "append"},
      {"output", plan.out_dir + (sweep ? "/slurm-%A_%a.out" : "/slurm-%j.out")},
      {"chdir", fs::current_path().string()}};
  if (sweep) ours.push_back({"array", str_cat("0-", plan.run_ids.size() - 1)});
  if (!o.partition.empty()) ours.push_back({"partition", o.partition});
  if (!o.account.empty()) ours.push_back({"account", o.account});
  auto directive = [](const std::string& k, const std::string& v) { return "#SBATCH --" + k + (v.empty() ? "" : "=" + v); };
  // --sbatch-arg options win over the values above and over the template's lines for the same option.
  auto option_key = [](const std::string& opt) { return opt.substr(2, opt.find_first_of("= \t", 2) - 2); };
  std::vector<std::string> overridden;
  for (const std::string& a : o.sbatch_args) {
    PLINTH_CHECK(a.rfind("--", 0) == 0 && a.size() > 2, Config, "plinth submit: --sbatch-arg '", a,
                 "' is not a long sbatch option (--name or --name=value)");
    const std::string key = option_key(a);
    for (const char* checked : {"nodes", "ntasks", "ntasks-per-node", "time", "signal"})
      PLINTH_CHECK(key != checked, Config, "plinth submit: --sbatch-arg ", a, " would bypass the checks; use plinth ",
                   "submit's own ", key == "ntasks" ? "--nodes/--ntasks-per-node" : key == "signal" ? "--signal-margin" : "--" + key);
    overridden.push_back(key);
  }
  auto is_overridden = [&](const std::string& k) {
    return std::find(overridden.begin(), overridden.end(), k) != overridden.end();
  };
  std::erase_if(ours, [&](const auto& kv) { return is_overridden(kv.first); });

  std::vector<std::string> lines;
  std::stringstream in(template_text);
  std::string line;
  std::map<std::string, bool> used;
  size_t last_directive = 0;
  bool marker = false;
  while (std::getline(in, line)) {
    if (line.rfind("#SBATCH --", 0) == 0) {
      const std::string key = option_key(line.substr(8));
      if (key == "ntasks" || is_overridden(key)) continue;   // ntasks: ntasks-per-node x nodes says it
      auto it = std::find_if(ours.begin(), ours.end(), [&](const auto& kv) { return kv.first == key; });
      if (it != ours.end()) {
        if (used[key]) continue;
        used[key] = true;
        line = directive(it->first, it->second);
      }
      lines.push_back(line);
      last_directive = lines.size();
      continue;
    }
    if (line.rfind(kSettingsMarker, 0) == 0) {
      marker = true;
      std::string block = str_cat("# ---- rendered by plinth submit from ", o.template_path.empty() ? "the default template" : o.template_path, " ----\n");
      block += "export PLINTH_BIN=" + shell_quote(o.plinth_bin) + "\n";
      block += "export PLINTH_LAUNCHER=" + shell_quote(o.launcher) + "\n";
      block += "export PLINTH_SLURM_DIR=" + shell_quote(slurm_dir_path) + "\n";
      block += "set --";
      if (sweep) block.append(" ").append(shell_quote(fs::absolute(o.sweep_dir).lexically_normal().string()));
      for (size_t i = 0; i < o.train_args.size(); ++i) {
        std::string a = o.train_args[i];
        if (i > 0 && o.train_args[i - 1] == "--config") a = fs::absolute(a).lexically_normal().string();
        block.append(" ").append(shell_quote(a));
      }
      block += "\n# ---- end of rendered settings ----";
      line = block;
    }
    lines.push_back(line);
  }
  PLINTH_CHECK(marker, Input, "plinth submit: the template has no '", kSettingsMarker, "' line to fill in");
  std::vector<std::string> extra;
  for (const auto& [k, v] : ours)
    if (!used[k]) extra.push_back(directive(k, v));
  for (const std::string& a : o.sbatch_args) extra.push_back("#SBATCH " + a);
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(last_directive), extra.begin(), extra.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

int command_submit(const std::vector<std::string>& args) {
  SubmitOptions o = submit_options_parse(args);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  const std::string sdir = slurm_dir();
  if (o.template_path.empty())
    o.template_path = (fs::path(sdir) / (o.sweep_dir.empty() ? "pretrain.sbatch" : "sweep_array.sbatch")).string();
  if (o.plinth_bin.empty()) o.plinth_bin = fs::read_symlink("/proc/self/exe").string();
  if (!o.sweep_dir.empty() && o.job_name == "plinth") o.job_name = "plinth-sweep";
  PLINTH_CHECK(fs::exists(o.plinth_bin), Config, "plinth submit: --plinth ", o.plinth_bin, " does not exist");
  o.plinth_bin = fs::absolute(o.plinth_bin).string();

  SubmitPlan plan = submit_check(o);   // every check before anything is written or submitted
  warn_about_isa(o);
  const std::string text = submit_render(read_text(o.template_path), o, plan, sdir);
  fs::create_directories(plan.out_dir);
  const std::string script =
      (fs::path(plan.out_dir) / (o.sweep_dir.empty() ? "submit.sbatch" : "submit_array.sbatch")).string();
  write_text(script, text);
  const std::string what =
      o.sweep_dir.empty()
          ? str_cat(plan.tasks, " ranks on ", o.nodes, " node(s) as tp ", plan.tp, " x pp ", plan.pp, " x dp ", plan.dp)
          : str_cat("an array of ", plan.run_ids.size(), " runs (", plan.run_ids.front(), " .. ", plan.run_ids.back(),
                    "), each ", plan.tasks, " rank(s)");
  log_info(str_cat("checked: ", what, "; time ", o.time, ", USR1 ", o.signal_margin_s, " s before the limit; launcher ",
                   o.launcher));
  if (o.dry_run) {
    std::cout << "rendered " << script << " (dry run: not submitted)" << std::endl;
    return 0;
  }
  const char* sbatch_env = std::getenv("PLINTH_SBATCH");
  const std::string sbatch = sbatch_env && *sbatch_env ? sbatch_env : "sbatch";
  std::string output;
  const int rc = run_capture(sbatch + " --parsable " + shell_quote(script), output);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  PLINTH_CHECK(rc == 0, Io, "plinth submit: ", sbatch, " ", script, " failed (exit ", rc, "): ", output);
  const std::string last = output.substr(output.find_last_of('\n') == std::string::npos ? 0 : output.find_last_of('\n') + 1);
  const std::string job_id = last.substr(0, last.find(';'));
  PLINTH_CHECK(!job_id.empty() && job_id.find_first_not_of("0123456789") == std::string::npos, Io, "plinth submit: ",
               sbatch, " answered '", output, "', not a job id");
  log_info(str_cat("script ", script, "; Slurm log ", plan.out_dir,
                   o.sweep_dir.empty() ? str_cat("/slurm-", job_id, ".out") : str_cat("/slurm-", job_id, "_<task>.out")));
  std::cout << "submitted batch job " << job_id << std::endl;
  return 0;
}

}  // namespace plinth::launch
