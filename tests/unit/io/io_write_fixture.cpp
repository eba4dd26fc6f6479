// io_write_fixture.cpp -- writes the files that the h5py and h5dump ctests read:
//   <dir>/corpus_byte.h5     byte-tokenized corpus prepared from <dir>/src/*.txt ('%' separated)
//   <dir>/expected_docs.json [[split, text], ...] in input order, for the reader to compare
//   <dir>/ckpt/step_00000007/{index,shard_00000}.h5   a checkpoint with known tensors and metadata
// Usage: io_write_fixture <dir>. Exits non-zero with the error message on failure.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/fs_util.h"
#include "io/prepare.h"

namespace {

using plinth::TensorSpec;

TensorSpec tensor(const std::string& name, std::vector<int64_t> shape) {
  TensorSpec s;
  s.name = name;
  s.global_shape = std::move(shape);
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

void write(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  PLINTH_CHECK(f, Io, "cannot write ", path);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

void write_corpus(const std::string& dir) {
  using namespace plinth::io;
  std::filesystem::create_directories(dir + "/src");
  std::vector<std::string> docs = {"The quick brown fox\njumps over the lazy dog.\n",
                                   "Second document: \"quoted\" and back\\slash.\n",
                                   "Ünïcödé text survives bytes.\n", "four\n", "five\n", "six, the last one\n"};
  write(dir + "/src/a.txt", docs[0] + "%\n" + docs[1] + "%\n" + docs[2]);
  write(dir + "/src/b.txt", docs[3] + "%\n" + docs[4] + "%\n" + docs[5]);
  PrepareOptions o;
  o.inputs = {dir + "/src/*.txt"};
  o.separator = "%";
  o.val_fraction = 0.34;
  o.seed = 11;
  o.output = dir + "/corpus_byte.h5";
  corpus_prepare(o);
  SplitRule rule(static_cast<int64_t>(docs.size()), o.val_fraction, o.seed);
  std::string json = "[\n";
  for (size_t i = 0; i < docs.size(); ++i)
    json += std::string(i ? ",\n" : "") + "  [\"" + split_name(rule(static_cast<int64_t>(i))) + "\", " +
            json_string(docs[i]) + "]";
  write(dir + "/expected_docs.json", json + "\n]\n");
}

void write_checkpoint(const std::string& dir) {
  using namespace plinth;
  ParamLayout l;
  l.add(tensor("embed.weight", {5, 3}));
  l.add(tensor("layers.0.norm.weight", {3}));
  std::vector<float> params(static_cast<size_t>(l.size())), moment(static_cast<size_t>(l.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = 0.25f * static_cast<float>(i) - 1.0f;
    moment[i] = 1e-3f * static_cast<float>(i);
  }
  io::CheckpointMeta m;
  m.step = 7;
  m.config_ini = "[model]\nd_model = 3\n";
  m.model_signature = "d_model=3";
  m.tokenizer_kind = "byte";
  m.counters = {{"data.consumed_samples.0", 56}};
  m.rng_states = {{"data", {1, 2, 3, 4}}};
  m.scalars = {{"loss_scale", 1024.0}};
  io::checkpoint_save(dir + "/ckpt", m, {{"model", &l, params.data()}, {"optim/exp_avg", &l, moment.data()}}, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: io_write_fixture <dir>\n");
    return 2;
  }
  try {
    std::string dir = argv[1];
    plinth::io::remove_tree_quietly(dir);
    std::filesystem::create_directories(dir);
    write_corpus(dir);
    write_checkpoint(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "io_write_fixture: %s\n", e.what());
    return 1;
  }
  return 0;
}
