// sweep_config.cpp -- INI reading and the checks of a sweep configuration.
#include "sweep/sweep_config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace plinth::sweep {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

double parse_number(const std::string& s, const std::string& key) {
  double v = 0;
  const std::string t = trim(s);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  PLINTH_CHECK(ec == std::errc() && ptr == t.data() + t.size() && !t.empty() && std::isfinite(v), Config, key,
               ": '", s, "' is not a number");
  return v;
}

int64_t parse_int(const std::string& s, const std::string& key) {
  int64_t v = 0;
  const std::string t = trim(s);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  PLINTH_CHECK(ec == std::errc() && ptr == t.data() + t.size() && !t.empty(), Config, key, ": '", s,
               "' is not an integer");
  return v;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>* IniFile::section(const std::string& name) const {
  for (const auto& s : sections)
    if (s.first == name) return &s.second;
  return nullptr;
}

IniFile ini_parse(const std::string& text, const std::string& origin) {
  IniFile ini;
  ini.origin = origin;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    ++n;
    // comments: a line starting with # or ;, or " #" after a value
    const auto hash = line.find(" #");
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      PLINTH_CHECK(line.back() == ']', Config, origin, ":", n, ": malformed section header '", line, "'");
      const std::string name = trim(line.substr(1, line.size() - 2));
      PLINTH_CHECK(!ini.section(name), Config, origin, ":", n, ": section [", name, "] appears twice");
      ini.sections.push_back({name, {}});
      continue;
    }
    const auto eq = line.find('=');
    PLINTH_CHECK(eq != std::string::npos, Config, origin, ":", n, ": expected key = value, got '", line, "'");
    PLINTH_CHECK(!ini.sections.empty(), Config, origin, ":", n, ": key outside a [section]");
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    const std::string full = ini.sections.back().first + "." + key;
    PLINTH_CHECK(seen.insert(full).second, Config, origin, ":", n, ": key ", full, " appears twice");
    ini.sections.back().second.push_back({key, value});
  }
  return ini;
}

const char* size_measure_name(SizeMeasure m) { return m == SizeMeasure::Total ? "total" : "non_embedding"; }

std::vector<double> parse_number_list(const std::string& s, const std::string& key) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(parse_number(item, key));
  return out;
}

std::string SweepConfig::train_value(const std::string& key, const std::string& fallback) const {
  for (const auto& [k, v] : train)
    if (k == key) return v;
  return fallback;
}

SweepConfig sweep_config_parse(const std::string& text, const std::string& origin) {
  IniFile ini = ini_parse(text, origin);
  SweepConfig c;
  c.origin = origin;
  c.text = text;
  for (const auto& [section, keys] : ini.sections) {
    if (section == "train") {
      for (const auto& [k, v] : keys) {
        PLINTH_CHECK(k.find('.') != std::string::npos, Config, origin, ": [train] key '", k,
                     "' must be section.key as in `plinth train` (e.g. optim.lr)");
        c.train.push_back({k, v});
      }
      continue;
    }
    for (const auto& [k, v] : keys) {
      const std::string key = section + "." + k;
      auto num = [&] { return parse_number(v, key); };
      auto integer = [&] { return parse_int(v, key); };
      if (key == "sweep.name") c.name = v;
      else if (key == "sweep.design") {
        PLINTH_CHECK(v == "isoflop" || v == "grid", Config, key, ": '", v, "' is not isoflop or grid");
        c.design = v == "isoflop" ? Design::IsoFlop : Design::Grid;
      } else if (key == "sweep.budgets") c.budgets = parse_number_list(v, key);
      else if (key == "sweep.sizes_per_budget") c.sizes_per_budget = static_cast<int>(integer());
      else if (key == "sweep.size_span") c.size_span = num();
      else if (key == "sweep.tokens_per_param") c.tokens_per_param = num();
      else if (key == "sweep.flops") c.flops = flops_formula_parse(v, key);
      else if (key == "sweep.size_measure") {
        PLINTH_CHECK(v == "total" || v == "non_embedding", Config, key, ": '", v, "' is not total or non_embedding");
        c.size_measure = v == "total" ? SizeMeasure::Total : SizeMeasure::NonEmbedding;
      } else if (key == "sweep.lr_width_exponent") c.lr_width_exponent = num();
      else if (key == "sweep.lr_reference_width") c.lr_reference_width = num();
      else if (key == "sweep.warmup_fraction") c.warmup_fraction = num();
      else if (key == "sweep.min_lr_fraction") c.min_lr_fraction = num();
      else if (key == "sweep.checkpoints_per_run") c.checkpoints_per_run = static_cast<int>(integer());
      else if (key == "sweep.ranks") c.ranks = static_cast<int>(integer());
      else if (key == "shapes.head_size") c.shapes.head_size = integer();
      else if (key == "shapes.aspect") c.shapes.aspect = num();
      else if (key == "shapes.min_layers") c.shapes.min_layers = integer();
      else if (key == "shapes.max_layers") c.shapes.max_layers = integer();
      else if (key == "shapes.min_width") c.shapes.min_width = integer();
      else if (key == "shapes.max_width") c.shapes.max_width = integer();
      else if (key == "shapes.width_step") c.shapes.width_step = integer();
      else if (key == "grid.shapes") {
        std::stringstream ss(v);
        std::string item;
        while (std::getline(ss, item, ',')) {
          item = trim(item);
          const auto x = item.find('x');
          PLINTH_CHECK(x != std::string::npos, Config, key, ": '", item, "' is not LAYERSxWIDTH (e.g. 2x64)");
          c.grid_shapes.push_back({parse_int(item.substr(0, x), key), parse_int(item.substr(x + 1), key)});
        }
      } else if (key == "grid.tokens") c.grid_tokens = parse_number_list(v, key);
      else if (key == "fit.bootstrap") c.bootstrap = static_cast<int>(integer());
      else if (key == "fit.bootstrap_seed") c.bootstrap_seed = static_cast<uint64_t>(integer());
      else if (key == "fit.huber_delta") c.huber_delta = num();
      else if (key == "fit.budgets") c.fit_budgets = parse_number_list(v, key);
      else if (key == "fit.e_max_relative_width") c.e_max_relative_width = num();
      else PLINTH_THROW(Config, origin, ": unknown key ", key);
    }
  }
  // checks
  if (c.design == Design::IsoFlop) {
    PLINTH_CHECK(!c.budgets.empty(), Config, origin, ": sweep.budgets is required for design = isoflop");
    for (double b : c.budgets) PLINTH_CHECK(b > 0, Config, "sweep.budgets: every budget must be positive, got ", b);
    PLINTH_CHECK(c.sizes_per_budget >= 1, Config, "sweep.sizes_per_budget must be >= 1, got ", c.sizes_per_budget);
    PLINTH_CHECK(c.size_span >= 1, Config, "sweep.size_span must be >= 1, got ", c.size_span);
    PLINTH_CHECK(c.tokens_per_param > 0, Config, "sweep.tokens_per_param must be positive");
  } else {
    PLINTH_CHECK(!c.grid_shapes.empty() && !c.grid_tokens.empty(), Config, origin,
                 ": design = grid needs grid.shapes and grid.tokens");
    for (double t : c.grid_tokens) PLINTH_CHECK(t >= 1, Config, "grid.tokens: every value must be >= 1, got ", t);
    for (const auto& s : c.grid_shapes)
      PLINTH_CHECK(s.n_layer >= 1 && s.n_embd >= 1, Config, "grid.shapes: ", s.n_layer, "x", s.n_embd,
                   " is not a positive shape");
  }
  const ShapeRule& s = c.shapes;
  PLINTH_CHECK(s.head_size >= 1, Config, "shapes.head_size must be >= 1");
  PLINTH_CHECK(s.aspect > 0, Config, "shapes.aspect must be positive");
  PLINTH_CHECK(s.min_layers >= 1 && s.max_layers >= s.min_layers, Config,
               "shapes.min_layers / shapes.max_layers: need 1 <= min_layers <= max_layers");
  PLINTH_CHECK(s.width_step >= 1 && s.width_step % s.head_size == 0, Config, "shapes.width_step (", s.width_step,
               ") must be a positive multiple of shapes.head_size (", s.head_size, ")");
  PLINTH_CHECK(s.min_width >= s.width_step && s.max_width >= s.min_width, Config,
               "shapes.min_width / shapes.max_width: need width_step <= min_width <= max_width");
  PLINTH_CHECK(c.warmup_fraction >= 0 && c.warmup_fraction < 1, Config, "sweep.warmup_fraction must be in [0, 1)");
  PLINTH_CHECK(c.min_lr_fraction >= 0 && c.min_lr_fraction <= 1, Config, "sweep.min_lr_fraction must be in [0, 1]");
  PLINTH_CHECK(c.checkpoints_per_run >= 1, Config, "sweep.checkpoints_per_run must be >= 1");
  PLINTH_CHECK(c.ranks >= 1, Config, "sweep.ranks must be >= 1");
  PLINTH_CHECK(c.bootstrap >= 0, Config, "fit.bootstrap must be >= 0");
  PLINTH_CHECK(c.huber_delta > 0, Config, "fit.huber_delta must be positive");
  PLINTH_CHECK(c.e_max_relative_width > 0, Config, "fit.e_max_relative_width must be positive");
  PLINTH_CHECK(!c.train_value("data.corpus", "").empty(), Config, origin,
               ": [train] data.corpus is required (the corpus every run trains on)");
  if (c.fit_budgets.empty()) c.fit_budgets = c.budgets;
  return c;
}

SweepConfig sweep_config_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PLINTH_CHECK(in.good(), Input, "sweep configuration not found or unreadable: '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return sweep_config_parse(ss.str(), path);
}

}  // namespace plinth::sweep
