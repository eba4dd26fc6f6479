// resume_check.cpp -- compares the configuration stored in a checkpoint with the one a resumed
// run was given (see resume_check.h). The stored text is read key by key, not through
// run_config_from_ini, so that a checkpoint written by an older plinth (a key since renamed or
// removed) can still be compared on the keys both know.
#include "launch/resume_check.h"

#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "optim/optim.h"

namespace plinth::launch {
namespace {

using Values = std::map<std::string, std::string>;

// Keys whose value changes what the run computes from the resume step on, compared as text.
// Not listed: the parallel layout (every layout trains the same model), threads, micro_batch
// (global_batch is fixed), logging, evaluation, checkpointing, sampling, model.init_std (used
// before step 0 only).
const char* const kExactKeys[] = {
    "model.arch",      "model.vocab_size", "model.vocab_pad_multiple", "model.n_layer",  "model.n_embd",
    "model.n_head",    "model.n_head_kv",  "model.seq_len",            "model.ffn_hidden", "model.norm_eps",
    "model.rope_theta", "model.tie_embeddings", "data.corpus",         "data.weights",   "train.global_batch",
    "train.seed",      "train.grad_clip",  "optim.weight_decay",       "optim.beta1",    "optim.beta2",
    "optim.eps"};

// The learning-rate schedule: compared by the rates it gives, not by its text.
const char* const kScheduleKeys[] = {"optim.schedule", "optim.lr",       "optim.min_lr",
                                     "optim.warmup_steps", "optim.cooldown_steps", "train.steps"};

Values ini_values(const std::string& text) {
  Values out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const size_t eq = line.find(" = ");
    if (eq != std::string::npos) out[section + "." + line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

std::string value_or(const Values& v, const std::string& key, const char* fallback) {
  auto it = v.find(key);
  return it == v.end() ? fallback : it->second;
}

// The schedule a configuration describes; nullopt-like `ok = false` when a value does not parse
// (then the schedule keys are compared as text).
optim::LrScheduleConfig schedule_of(const Values& v, bool* ok) {
  optim::LrScheduleConfig c;
  try {
    c.kind = optim::lr_schedule_parse(value_or(v, "optim.schedule", "cosine"));
    c.lr = std::stof(value_or(v, "optim.lr", "0"));
    c.min_lr = std::stof(value_or(v, "optim.min_lr", "0"));
    c.warmup_steps = std::stoll(value_or(v, "optim.warmup_steps", "0"));
    c.cooldown_steps = std::stoll(value_or(v, "optim.cooldown_steps", "0"));
    c.total_steps = std::stoll(value_or(v, "train.steps", "1"));
    *ok = true;
  } catch (const std::exception&) {
    *ok = false;
  }
  return c;
}

// The first step up to and including `step` (the steps trained so far and the next one) at which
// the two schedules give different learning rates, or -1: the same past, and no jump on resume.
int64_t first_lr_difference(const optim::LrScheduleConfig& a, const optim::LrScheduleConfig& b, int64_t step) {
  for (int64_t k = 0; k <= step; ++k)
    if (optim::lr_at(a, k) != optim::lr_at(b, k)) return k;
  return -1;
}

// One trajectory key whose value differs, and how: "optim.beta2 0.95 -> 0.99".
struct Change {
  std::string key, text;
};

// Every trajectory key whose value differs between the run saved and this one, resumed at
// `step`; a key the stored text lacks (an older plinth) is not compared.
std::vector<Change> trajectory_changes(const Values& stored, const Values& now, int64_t step) {
  std::vector<Change> changes;
  auto differs = [&](const std::string& key) {
    auto it = stored.find(key);
    return it != stored.end() && it->second != value_or(now, key, "");
  };
  auto change = [&](const std::string& key, const std::string& note) {
    return Change{key, key + " " + stored.at(key) + " -> " + value_or(now, key, "") + note};
  };
  for (const char* key : kExactKeys)
    if (differs(key)) changes.push_back(change(key, ""));
  bool ok_old = false, ok_new = false;
  const auto old_schedule = schedule_of(stored, &ok_old), new_schedule = schedule_of(now, &ok_new);
  const int64_t k = ok_old && ok_new ? first_lr_difference(old_schedule, new_schedule, step) : 0;
  const std::string note = ok_old && ok_new ? str_cat(" (learning rate at step ", k + 1, ": ", optim::lr_at(old_schedule, k),
                                                      " -> ", optim::lr_at(new_schedule, k), ")")
                                            : std::string();
  if (k >= 0)
    for (const char* key : kScheduleKeys)
      if (differs(key)) changes.push_back(change(key, note));
  return changes;
}

}  // namespace

void check_resume_config(const std::string& stored_ini, const std::string& ckpt_dir, int64_t step,
                         const RunConfig& now_rc) {
  const Values stored = ini_values(stored_ini), now = ini_values(run_config_ini(now_rc));
  // what the user allowed, by key name
  std::set<std::string> allowed;
  std::istringstream list(value_or(now, "checkpoint.allow_changes", ""));
  for (std::string key; std::getline(list, key, ',');) {
    if (key.empty()) continue;
    PLINTH_CHECK(now.count(key), Config, "checkpoint.allow_changes: '", key, "' is not a configuration key");
    allowed.insert(key);
  }
  std::string list_text, keys;
  for (const Change& c : trajectory_changes(stored, now, step)) {
    if (allowed.count(c.key)) {
      log_warn(str_cat("resuming ", ckpt_dir, " with a change allowed by checkpoint.allow_changes: ", c.text));
      continue;
    }
    list_text += (list_text.empty() ? "" : "; ") + c.text;
    keys += (keys.empty() ? "" : ",") + c.key;
  }
  if (list_text.empty()) return;
  PLINTH_THROW(Config, "resuming ", ckpt_dir, " (step ", step, ") would change the run: ", list_text,
               ". Resume with the stored values, or accept with --checkpoint.allow_changes=", keys,
               " (to extend a run, train with optim.schedule=constant_cooldown and raise train.steps before the "
               "cooldown begins: README, Extending a run)");
}

}  // namespace plinth::launch
