// test_plan.cpp -- sweep configuration errors, isoFLOP / grid expansion, the run table and its
// round trip, refusing to overwrite a different plan, results and metrics parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/fs_util.h"
#include "model/model_config.h"
#include "sweep/plan.h"
#include "sweep/results.h"

namespace plinth::sweep {
namespace {

const char* kIso = R"(
[sweep]
name = t
budgets = 1e11,4e11
sizes_per_budget = 3
size_span = 4
[shapes]
head_size = 16
aspect = 64
min_width = 16
max_width = 256
width_step = 16
[train]
data.corpus = /nonexistent/corpus.h5
model.vocab_size = 256
model.seq_len = 32
train.micro_batch = 8
optim.lr = 2e-3
)";

// A stand-in for launch's resolver: reads the few keys the plan needs from the run's INI.
ResolvedRun fake_resolve(const std::string& ini_text, const std::string& origin) {
  IniFile ini = ini_parse(ini_text, origin);
  ResolvedRun r;
  r.model.arch = model::Arch::Gpt2;
  auto get = [&](const char* sec, const char* key, const char* def) {
    if (const auto* s = ini.section(sec))
      for (const auto& [k, v] : *s)
        if (k == key) return v;
    return std::string(def);
  };
  r.model.vocab_size = std::stoll(get("model", "vocab_size", "0"));
  r.model.n_layer = std::stoll(get("model", "n_layer", "4"));
  r.model.n_embd = std::stoll(get("model", "n_embd", "128"));
  r.model.n_head = std::stoll(get("model", "n_head", "4"));
  r.model.seq_len = std::stoll(get("model", "seq_len", "128"));
  r.micro_batch = std::stoll(get("train", "micro_batch", "16"));
  r.lr = std::stod(get("optim", "lr", "1e-3"));
  r.seed = 1337;
  PLINTH_CHECK(r.model.vocab_size > 0, Config, origin, ": no vocabulary");
  return r;
}

TEST(SweepConfig, ErrorsNameTheKey) {
  auto message = [](const std::string& text) {
    try {
      sweep_config_parse(text, "x.ini");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(std::string(kIso) + "[fit]\nbogus = 1\n").find("fit.bogus"), std::string::npos);
  std::string bad = kIso;
  bad.replace(bad.find("1e11,4e11"), 9, "1e11,abc");
  EXPECT_NE(message(bad).find("sweep.budgets"), std::string::npos);
  std::string no_corpus = kIso;
  no_corpus.replace(no_corpus.find("data.corpus"), 11, "data.weights");
  EXPECT_NE(message(no_corpus).find("data.corpus"), std::string::npos);
  std::string step = kIso;
  step.replace(step.find("width_step = 16"), 15, "width_step = 24");
  EXPECT_NE(message(step).find("shapes.width_step"), std::string::npos);
}

TEST(Plan, IsoFlopExpansion) {
  const SweepConfig c = sweep_config_parse(kIso, "t.ini");
  const std::string dir = io::make_temp_dir("plinth-plan-");
  const Plan p = sweep_plan(c, dir, fake_resolve);
  ASSERT_EQ(p.runs.size(), 6u);
  for (size_t i = 0; i < p.runs.size(); ++i) {
    const PlannedRun& r = p.runs[i];
    char id[32];
    std::snprintf(id, sizeof id, "r%03zu", i);
    EXPECT_EQ(r.id, id);
    EXPECT_EQ(r.budget_index, static_cast<int>(i / 3));
    EXPECT_EQ(r.tokens, r.steps * r.global_batch * r.seq_len);
    EXPECT_EQ(r.global_batch, 8);
    // C = F * D lands within half a step of the budget
    EXPECT_NEAR(r.compute, r.budget, 0.5 * r.flops_per_token * r.global_batch * r.seq_len + 1);
    EXPECT_DOUBLE_EQ(r.compute_6nd, 6.0 * r.params * r.tokens);
    // F is the trainer's count (the matrix products plinth computes), within a few % of 6N here
    // (before issue 16 it also counted the embeddings as one-hot products and was > 6N)
    model::ModelConfig m;
    m.arch = model::Arch::Gpt2;
    m.vocab_size = 256, m.n_layer = r.n_layer, m.n_embd = r.n_embd, m.n_head = r.n_head, m.seq_len = r.seq_len;
    EXPECT_DOUBLE_EQ(r.flops_per_token, model::model_flops_per_token(m, r.seq_len));
    EXPECT_NEAR(r.compute / r.compute_6nd, 1.0, 0.05);
    if (i % 3) {
      EXPECT_GT(r.params, p.runs[i - 1].params);   // sizes increase within a budget
    }
    EXPECT_NE(r.config_ini.find("out_dir = " + (std::filesystem::path(dir) / "runs" / id).string()),
              std::string::npos);
    EXPECT_NE(r.config_ini.find("steps = " + std::to_string(r.steps)), std::string::npos);
  }
  // the size span of a budget follows size_span within the coarseness of the shape ladder
  const double span = static_cast<double>(p.runs[2].params) / static_cast<double>(p.runs[0].params);
  EXPECT_GT(span, 2.0);
  EXPECT_LT(span, 8.0);
  // a bigger budget puts its sizes higher
  EXPECT_GE(p.runs[4].params, p.runs[1].params);
  // write, re-read, refuse a different plan in the same directory
  sweep_plan_write(p, c, dir);
  Table t = table_read((std::filesystem::path(dir) / "plan.csv").string());
  ASSERT_EQ(t.rows.size(), 6u);
  EXPECT_EQ(t.at(3, "id"), "r003");
  EXPECT_EQ(t.number(3, "tokens"), static_cast<double>(p.runs[3].tokens));
  EXPECT_EQ(t.at(0, "flops_formula"), "causal");
  EXPECT_TRUE(io::path_exists((std::filesystem::path(dir) / "runs/r005/config.ini").string()));
  sweep_plan_write(p, c, dir);   // identical: fine
  Plan other = p;
  other.runs[0].steps += 1;
  EXPECT_THROW(sweep_plan_write(other, c, dir), Error);
  io::remove_tree_quietly(dir);
}

TEST(Plan, GridExpansion) {
  std::string text = kIso;
  text.replace(text.find("[shapes]"), 8, "[grid]\nshapes = 1x16,2x64\ntokens = 1e4,3e4\n[shapes]");
  text.replace(text.find("name = t"), 8, "name = t\ndesign = grid");
  const SweepConfig c = sweep_config_parse(text, "g.ini");
  const Plan p = sweep_plan(c, "/tmp/unused-plan-dir", fake_resolve);
  ASSERT_EQ(p.runs.size(), 4u);
  EXPECT_EQ(p.runs[0].shape, "L1-d16-h1");
  EXPECT_EQ(p.runs[3].shape, "L2-d64-h4");
  EXPECT_EQ(p.runs[1].steps, std::llround(3e4 / (8 * 32)));
  EXPECT_EQ(p.runs[0].budget_index, -1);
}

TEST(Csv, QuotedRoundTrip) {
  Table t;
  t.header = {"a", "b"};
  t.rows = {{"x,y", "say \"hi\""}, {"", "2"}};
  const Table u = table_from_csv(table_to_csv(t), "mem");
  EXPECT_EQ(u.rows, t.rows);
  EXPECT_THROW(table_from_csv("a,b\n1\n", "mem"), Error);
}

TEST(Results, MetricsAndEntropyCheck) {
  const std::string dir = io::make_temp_dir("plinth-results-");
  const std::string m = dir + "/metrics.jsonl";
  {
    std::ofstream f(m);
    f << "{\"step\": 5, \"loss\": 3.5, \"val_loss\": null, \"elapsed_s\": 1}\n"
      << "{\"step\": 10, \"loss\": 3.25, \"val_loss\": 3.3, \"val_loss_se\": 0.01, \"elapsed_s\": 2}\n"
      << "{\"step\": 1";   // a record cut short by a kill
  }
  RunMetrics r = read_run_metrics(m);
  EXPECT_EQ(r.last_step, 10);
  EXPECT_DOUBLE_EQ(r.final_train_loss, 3.25);
  EXPECT_DOUBLE_EQ(r.val_loss_se, 0.01);
  EXPECT_TRUE(run_complete(r, 10));
  EXPECT_FALSE(run_complete(r, 20));
  EXPECT_EQ(read_run_metrics(dir + "/none.jsonl").last_step, 0);
  EXPECT_EQ(entropy_check(3.3, 0.01, 3.0), "ok");
  EXPECT_EQ(entropy_check(2.97, 0.01, 3.0), "ok");          // within 4 SE
  EXPECT_EQ(entropy_check(2.95, 0.01, 3.0), "violation");   // 5 SE below H
  EXPECT_EQ(entropy_check(3.3, NAN, NAN), "n/a");
  // results.csv round trip; ids without a row are pending
  std::vector<RunResult> rs(1);
  rs[0].id = "r000";
  rs[0].status = RunStatus::Failed;
  rs[0].exit_code = 2;
  rs[0].message = "exit code 2, see log";
  results_write(dir, rs);
  const std::vector<RunResult> back = results_read(dir, {"r000", "r001"});
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].status, RunStatus::Failed);
  EXPECT_EQ(back[0].message, "exit code 2, see log");
  EXPECT_EQ(back[1].status, RunStatus::Pending);
  io::remove_tree_quietly(dir);
}

}  // namespace
}  // namespace plinth::sweep
