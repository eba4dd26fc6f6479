// plan.cpp -- candidate shapes, isoFLOP / grid expansion, run configurations and plan.csv.
#include "sweep/plan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/error.h"
#include "io/corpus.h"
#include "io/fs_util.h"
#include "sweep/approach2.h"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;

// INI text: the base [train] keys with overrides, grouped by section in first-seen order.
std::string make_ini(const std::vector<std::pair<std::string, std::string>>& base,
                     const std::vector<std::pair<std::string, std::string>>& overrides, const std::string& comment) {
  std::vector<std::pair<std::string, std::string>> all = base;
  for (const auto& [k, v] : overrides) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& kv) { return kv.first == k; });
    if (it != all.end()) it->second = v;
    else all.push_back({k, v});
  }
  std::vector<std::string> order;
  std::map<std::string, std::string> body;
  for (const auto& [k, v] : all) {
    const auto dot = k.find('.');
    const std::string sec = k.substr(0, dot), key = k.substr(dot + 1);
    if (!body.count(sec)) order.push_back(sec);
    body[sec] += key + " = " + v + "\n";
  }
  std::string out = comment;
  for (const auto& s : order) out += "\n[" + s + "]\n" + body[s];
  return out;
}

struct Candidate {
  int64_t n_layer, n_embd, n_head;
  ResolvedRun resolved;
  double n_total, n_non_embedding, flops;
};

std::string shape_name(int64_t L, int64_t d, int64_t h) { return str_cat("L", L, "-d", d, "-h", h); }

}  // namespace

double run_size(const PlannedRun& r, SizeMeasure m) {
  return static_cast<double>(m == SizeMeasure::Total ? r.params : r.params_non_embedding);
}

FlopsModel flops_model_fit(const std::vector<double>& n, const std::vector<double>& f) {
  PowerLaw p = fit_power_law(n, f);
  if (p.points < 2) return FlopsModel{n.empty() ? 6.0 : f[0] / n[0], 1.0};
  return FlopsModel{p.k, p.exponent};
}

Plan sweep_plan(const SweepConfig& c, const std::string& out_dir, const RunResolver& resolve) {
  Plan plan;
  plan.flops = c.flops;
  plan.size_measure = c.size_measure;
  const std::string dir = fs::absolute(out_dir).lexically_normal().string();
  plan.corpus = fs::absolute(c.train_value("data.corpus", "")).lexically_normal().string();
  PLINTH_CHECK(c.train_value("data.corpus", "").find(',') == std::string::npos, Config, c.origin,
               ": [train] data.corpus must name one corpus for a sweep");
  // vocabulary from the corpus unless given
  std::string vocab = c.train_value("model.vocab_size", "0");
  if (vocab == "0") vocab = std::to_string(io::Corpus::open(plan.corpus).info().vocab_size);
  std::vector<std::pair<std::string, std::string>> base = c.train;
  auto set = [](std::vector<std::pair<std::string, std::string>>& kv, const std::string& k, const std::string& v) {
    auto it = std::find_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == k; });
    if (it != kv.end()) it->second = v;
    else kv.push_back({k, v});
  };
  set(base, "data.corpus", plan.corpus);
  set(base, "model.vocab_size", vocab);

  auto candidate = [&](int64_t L, int64_t d) {
    Candidate k{L, d, d / c.shapes.head_size, {}, 0, 0, 0};
    const std::string ini = make_ini(base, {{"model.n_layer", std::to_string(L)}, {"model.n_embd", std::to_string(d)},
                                            {"model.n_head", std::to_string(k.n_head)}}, "");
    k.resolved = resolve(ini, str_cat(c.origin, " (shape ", shape_name(L, d, k.n_head), ")"));
    model::ParamCounts pc = model::model_param_counts(k.resolved.model);
    k.n_total = static_cast<double>(pc.total);
    k.n_non_embedding = static_cast<double>(pc.non_embedding());
    k.flops = flops_per_token(k.resolved.model, c.flops);
    return k;
  };
  auto size_of = [&](const Candidate& k) { return c.size_measure == SizeMeasure::Total ? k.n_total : k.n_non_embedding; };

  std::vector<std::pair<Candidate, double>> chosen;   // candidate, target C (NaN for grid) ; tokens
  std::vector<double> grid_tokens;
  std::vector<int> budget_index;
  if (c.design == Design::IsoFlop) {
    std::vector<Candidate> cands;
    for (int64_t d = c.shapes.min_width; d <= c.shapes.max_width; d += c.shapes.width_step) {
      const int64_t L = std::clamp<int64_t>(std::llround(static_cast<double>(d) / c.shapes.aspect),
                                            c.shapes.min_layers, c.shapes.max_layers);
      cands.push_back(candidate(L, d));
    }
    std::sort(cands.begin(), cands.end(), [&](const Candidate& a, const Candidate& b) { return size_of(a) < size_of(b); });
    PLINTH_CHECK(static_cast<int>(cands.size()) >= c.sizes_per_budget, Config, "shapes.min_width .. shapes.max_width",
                 " give ", cands.size(), " shapes, fewer than sweep.sizes_per_budget (", c.sizes_per_budget, ")");
    for (size_t bi = 0; bi < c.budgets.size(); ++bi) {
      const double C = c.budgets[bi];
      // g(N) = F(N) r N, log-log interpolation between candidates (extrapolated from the end segments)
      auto log_g = [&](const Candidate& k) { return std::log(k.flops * c.tokens_per_param * size_of(k)); };
      size_t j = 1;
      while (j + 1 < cands.size() && log_g(cands[j]) < std::log(C)) ++j;
      const double x0 = std::log(size_of(cands[j - 1])), x1 = std::log(size_of(cands[j]));
      const double y0 = log_g(cands[j - 1]), y1 = log_g(cands[j]);
      const double x_star = x0 + (std::log(C) - y0) * (x1 - x0) / (y1 - y0);
      std::vector<bool> used(cands.size(), false);
      const int k = c.sizes_per_budget;
      for (int t = 0; t < k; ++t) {
        const double frac = k == 1 ? 0.0 : static_cast<double>(t) / (k - 1) - 0.5;
        const double target = x_star + frac * std::log(c.size_span);
        PLINTH_CHECK(target <= std::log(size_of(cands.back()) * 1.25), Config, "budget ", C,
                     " wants models of N = ", std::exp(target), ", larger than the largest shape (N = ",
                     size_of(cands.back()), "): raise shapes.max_width or lower the budget");
        PLINTH_CHECK(target >= std::log(size_of(cands.front()) * 0.8), Config, "budget ", C,
                     " wants models of N = ", std::exp(target), ", smaller than the smallest shape (N = ",
                     size_of(cands.front()), "): lower shapes.min_width or raise the budget");
        size_t best = cands.size();
        for (size_t i = 0; i < cands.size(); ++i)
          if (!used[i] && (best == cands.size() || std::abs(std::log(size_of(cands[i])) - target) <
                                                       std::abs(std::log(size_of(cands[best])) - target)))
            best = i;
        used[best] = true;
        chosen.push_back({cands[best], C});
        grid_tokens.push_back(C / cands[best].flops);
        budget_index.push_back(static_cast<int>(bi));
      }
      // plan order within a budget: increasing N
      std::sort(chosen.end() - k, chosen.end(),
                [&](const auto& a, const auto& b) { return size_of(a.first) < size_of(b.first); });
      for (int t = 0; t < k; ++t) {
        auto& e = chosen[chosen.size() - k + t];
        grid_tokens[grid_tokens.size() - k + t] = C / e.first.flops;
      }
    }
  } else {
    for (const GridShape& s : c.grid_shapes) {
      PLINTH_CHECK(s.n_embd % c.shapes.head_size == 0, Config, "grid.shapes: width ", s.n_embd,
                   " is not a multiple of shapes.head_size (", c.shapes.head_size, ")");
      Candidate k = candidate(s.n_layer, s.n_embd);
      for (double t : c.grid_tokens) {
        chosen.push_back({k, std::numeric_limits<double>::quiet_NaN()});
        grid_tokens.push_back(t);
        budget_index.push_back(-1);
      }
    }
  }

  std::vector<double> fit_n, fit_f;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Candidate& k = chosen[i].first;
    PlannedRun r;
    char id[32];
    std::snprintf(id, sizeof id, "r%03zu", i);
    r.id = id;
    r.budget_index = budget_index[i];
    r.budget = chosen[i].second;
    r.n_layer = k.n_layer, r.n_embd = k.n_embd, r.n_head = k.n_head;
    r.shape = shape_name(k.n_layer, k.n_embd, k.n_head);
    r.seq_len = k.resolved.model.seq_len;
    r.params = static_cast<int64_t>(k.n_total);
    r.params_non_embedding = static_cast<int64_t>(k.n_non_embedding);
    r.flops_per_token = k.flops;
    r.global_batch = k.resolved.global_batch > 0 ? k.resolved.global_batch
                                                 : k.resolved.micro_batch * k.resolved.grad_accum * c.ranks;
    const double per_step = static_cast<double>(r.global_batch * r.seq_len);
    r.steps = std::max<int64_t>(1, std::llround(grid_tokens[i] / per_step));
    r.tokens = r.steps * r.global_batch * r.seq_len;
    r.compute = r.flops_per_token * static_cast<double>(r.tokens);
    r.compute_6nd = 6.0 * static_cast<double>(r.params) * static_cast<double>(r.tokens);
    r.lr = k.resolved.lr * std::pow(c.lr_reference_width / static_cast<double>(r.n_embd), c.lr_width_exponent);
    r.min_lr = r.lr * c.min_lr_fraction;
    r.warmup = std::llround(c.warmup_fraction * static_cast<double>(r.steps));
    r.checkpoint_interval = std::max<int64_t>(1, r.steps / c.checkpoints_per_run);
    r.seed = k.resolved.seed;
    const std::string run_dir = (fs::path(dir) / "runs" / r.id).string();
    std::vector<std::pair<std::string, std::string>> ov = {
        {"model.n_layer", std::to_string(r.n_layer)}, {"model.n_embd", std::to_string(r.n_embd)},
        {"model.n_head", std::to_string(r.n_head)}, {"train.steps", std::to_string(r.steps)},
        {"train.global_batch", std::to_string(r.global_batch)}, {"optim.lr", fmt_num(r.lr)},
        {"optim.min_lr", fmt_num(r.min_lr)}, {"optim.warmup_steps", std::to_string(r.warmup)},
        {"log.out_dir", run_dir}, {"checkpoint.interval", std::to_string(r.checkpoint_interval)},
        {"checkpoint.keep", "2"}};
    if (c.train_value("eval.interval", "").empty()) ov.push_back({"eval.interval", "0"});
    if (c.train_value("sample.tokens", "").empty()) ov.push_back({"sample.tokens", "0"});
    if (c.train_value("log.interval", "").empty())
      ov.push_back({"log.interval", std::to_string(std::max<int64_t>(1, r.steps / 10))});
    r.config_ini = make_ini(base, ov,
                            str_cat("# sweep ", c.name, ", run ", r.id, " (", r.shape, ", N = ", r.params, ", D = ",
                                    r.tokens, ", C = ", fmt_num(r.compute), " by the ", flops_formula_name(c.flops),
                                    " formula). Written by `plinth sweep plan`.\n"));
    resolve(r.config_ini, str_cat("run ", r.id));   // every key checked as training will
    fit_n.push_back(run_size(r, c.size_measure));
    fit_f.push_back(r.flops_per_token);
    plan.runs.push_back(std::move(r));
  }
  plan.flops_model = flops_model_fit(fit_n, fit_f);
  return plan;
}

Table plan_table(const Plan& p) {
  Table t;
  t.header = {"id", "budget_index", "budget", "shape", "n_layer", "n_embd", "n_head", "seq_len", "params",
              "params_non_embedding", "flops_per_token", "flops_formula", "tokens", "steps", "global_batch",
              "compute", "compute_6nd", "compute_over_6nd", "lr", "min_lr", "warmup", "seed", "config"};
  for (const PlannedRun& r : p.runs)
    t.rows.push_back({r.id, std::to_string(r.budget_index), fmt_num(r.budget), r.shape, std::to_string(r.n_layer),
                      std::to_string(r.n_embd), std::to_string(r.n_head), std::to_string(r.seq_len),
                      std::to_string(r.params), std::to_string(r.params_non_embedding), fmt_num(r.flops_per_token),
                      flops_formula_name(p.flops), std::to_string(r.tokens), std::to_string(r.steps),
                      std::to_string(r.global_batch), fmt_num(r.compute), fmt_num(r.compute_6nd),
                      fmt_num(r.compute / r.compute_6nd), fmt_num(r.lr), fmt_num(r.min_lr), std::to_string(r.warmup),
                      std::to_string(r.seed), "runs/" + r.id + "/config.ini"});
  return t;
}

void sweep_plan_write(const Plan& p, const SweepConfig& c, const std::string& out_dir) {
  const fs::path dir(out_dir);
  const std::string csv = table_to_csv(plan_table(p));
  const fs::path plan_path = dir / "plan.csv";
  if (io::path_exists(plan_path.string())) {
    PLINTH_CHECK(io::read_file(plan_path.string()) == csv, Config, "sweep directory '", out_dir,
                 "' already holds a different plan (", plan_path.string(),
                 "); plan into a new directory, or remove the old one");
  }
  std::error_code ec;
  fs::create_directories(dir / "runs", ec);
  PLINTH_CHECK(!ec, Io, "cannot create '", (dir / "runs").string(), "': ", ec.message());
  for (const PlannedRun& r : p.runs) {
    fs::create_directories(dir / "runs" / r.id, ec);
    PLINTH_CHECK(!ec, Io, "cannot create '", (dir / "runs" / r.id).string(), "': ", ec.message());
    io::write_file_atomic((dir / "runs" / r.id / "config.ini").string(), r.config_ini);
  }
  io::write_file_atomic((dir / "sweep.ini").string(), c.text);
  io::write_file_atomic(plan_path.string(), csv);   // last: a plan.csv means a complete plan
}

}  // namespace plinth::sweep
