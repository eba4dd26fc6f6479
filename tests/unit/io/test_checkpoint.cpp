// test_checkpoint.cpp -- checkpoints (format 2: shard files + virtual-dataset index): bit-exact
// save/load of 3 tensors x (model + 2 optimizer moments), metadata round trip, a save by two
// "ranks" (tensor-parallel slices and ZeRO-style flat pieces) read back in another slicing,
// atomic commit (leftover temp dirs ignored), corruption caught by checksums, truncated and
// missing files skipped by find_latest_valid, keep_last (and its protected checkpoint), and
// load errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/rng.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;
using test::TempDir;

TensorSpec tensor(const std::string& name, std::vector<int64_t> shape) {
  TensorSpec s;
  s.name = name;
  s.global_shape = std::move(shape);
  return s;
}

ParamLayout small_layout() {
  ParamLayout l;
  l.add(tensor("embed.weight", {8, 4}));
  l.add(tensor("layers.0.norm.weight", {4}));
  l.add(tensor("layers.0.mlp.fc.weight", {4, 6}));
  return l;
}

std::vector<float> random_buffer(const ParamLayout& l, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(l.size()), 0.0f);
  Rng rng(seed);
  for (auto& x : v) x = static_cast<float>(rng.uniform() * 2 - 1);
  v[1] = -0.0f;
  v[2] = std::numeric_limits<float>::denorm_min();
  v[3] = std::numeric_limits<float>::quiet_NaN();
  v[4] = std::numeric_limits<float>::infinity();
  return v;
}

bool same_tensor_bits(const ParamLayout& l, const std::vector<float>& a, const std::vector<float>& b) {
  for (const auto& s : l.specs())
    if (std::memcmp(a.data() + s.offset, b.data() + s.offset, static_cast<size_t>(s.numel()) * sizeof(float)))
      return false;
  return true;
}

CheckpointMeta sample_meta(int64_t step) {
  CheckpointMeta m;
  m.step = step;
  m.config_ini = "[model]\nn_layer = 1\nd_model = 4\n\n[train]\nlr = 3e-4  # ünïcode comment\n";
  m.model_signature = "d_model=4;n_layer=1;vocab=256";
  m.tokenizer_kind = "sentencepiece";
  m.tokenizer_model = std::string("\x0a\x00\xff binary \x00 model", 18);
  m.counters = {{"data.consumed_samples.0", 1234}, {"data.epoch", -1}, {"train.tokens", int64_t{1} << 40}};
  m.rng_states = {{"data", {1, 2, 3, ~uint64_t{0}}}, {"dropout.rank0", {42}}, {"empty", {}}};
  m.scalars = {{"loss_scale", 65536.0}, {"best_val_loss", 2.718281828459045}};
  return m;
}

struct State {
  ParamLayout layout = small_layout();
  std::vector<float> params, exp_avg, exp_avg_sq;
  explicit State(uint64_t seed)
      : params(random_buffer(layout, seed)), exp_avg(random_buffer(layout, seed + 1)),
        exp_avg_sq(random_buffer(layout, seed + 2)) {}
  std::vector<CheckpointTensors> sets() {
    return {{"model", &layout, params.data()},
            {"optim/exp_avg", &layout, exp_avg.data()},
            {"optim/exp_avg_sq", &layout, exp_avg_sq.data()}};
  }
};

TEST(Checkpoint, SaveLoadIsBitExactAndMetaRoundTrips) {
  TempDir root;
  State s(1);
  std::string dir = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  EXPECT_EQ(dir, root.file("step_00000100"));
  EXPECT_TRUE(is_regular_file(dir + "/index.h5"));
  EXPECT_TRUE(is_regular_file(dir + "/shard_00000.h5"));
  EXPECT_EQ(read_file(root.file("latest")), "step_00000100\n");
  EXPECT_EQ(list_dir(root.path()), (std::vector<std::string>{"latest", "step_00000100"}));

  State loaded(99);
  checkpoint_load(dir, loaded.sets());
  EXPECT_TRUE(same_tensor_bits(s.layout, s.params, loaded.params));
  EXPECT_TRUE(same_tensor_bits(s.layout, s.exp_avg, loaded.exp_avg));
  EXPECT_TRUE(same_tensor_bits(s.layout, s.exp_avg_sq, loaded.exp_avg_sq));
  EXPECT_FALSE(same_tensor_bits(s.layout, s.params, loaded.exp_avg));

  CheckpointMeta want = sample_meta(100), got = checkpoint_read_meta(dir);
  EXPECT_EQ(got.step, 100);
  EXPECT_EQ(got.config_ini, want.config_ini);
  EXPECT_EQ(got.model_signature, want.model_signature);
  EXPECT_EQ(got.tokenizer_kind, want.tokenizer_kind);
  EXPECT_EQ(got.tokenizer_model, want.tokenizer_model);
  EXPECT_EQ(got.counters, want.counters);
  EXPECT_EQ(got.rng_states, want.rng_states);
  EXPECT_EQ(got.scalars, want.scalars);
  checkpoint_verify(dir);
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), dir);
  EXPECT_EQ(checkpoint_resolve(root.path(), ResumeMode::Latest), dir);
  EXPECT_EQ(checkpoint_resolve(dir, ResumeMode::ExactPath), dir);
}

TEST(Checkpoint, ShardsOfTwoRanksReadBackInAnotherSlicing) {
  // "rank 0" and "rank 1" each hold half of w (rows) and write their model slice; their optimizer
  // state is written as flat pieces that cut rows (as ZeRO-1 shards do); the tensors are read
  // back whole and as column halves.
  TempDir root;
  const std::vector<int64_t> shape = {4, 6};
  std::vector<float> full(24), moments(24);
  for (int i = 0; i < 24; ++i) {
    full[static_cast<size_t>(i)] = 1.0f + static_cast<float>(i);
    moments[static_cast<size_t>(i)] = -0.5f * static_cast<float>(i);
  }
  const std::string tmp = checkpoint_prepare(root.path(), 7);
  EXPECT_EQ(tmp, checkpoint_temp_dir(root.path(), 7));
  std::vector<uint64_t> checksums;
  for (int r = 0; r < 2; ++r) {
    TensorSpec w = tensor("w", shape);
    w.local_shape = {2, 6};
    w.local_start = {2 * r, 0};
    w.split_dim = 0;
    const float* slice = full.data() + 12 * r;
    const float* mslice = moments.data() + 12 * r;
    std::vector<ShardPiece> pieces;
    shard_pieces_of_range("model", w, slice, 0, 12, pieces);
    // the moments in two uneven flat pieces of the slice: [0, 5) by this rank, [5, 12) too
    shard_pieces_of_range("optim/exp_avg", w, mslice, 0, 5, pieces);
    shard_pieces_of_range("optim/exp_avg", w, mslice, 5, 12, pieces);
    EXPECT_EQ(pieces.size(), 1u + 1u + 2u);   // [0,5) = one partial row; [5,12) = partial row + full row
    checksums.push_back(checkpoint_write_shard(tmp, r, pieces).checksum);
  }
  const std::string dir = checkpoint_commit(root.path(), tmp, sample_meta(7), checksums, 0);
  EXPECT_FALSE(is_directory(tmp));
  std::vector<int64_t> got_shape;
  EXPECT_EQ(checkpoint_read_tensor(dir, "model", "w", &got_shape), full);
  EXPECT_EQ(got_shape, shape);
  EXPECT_EQ(checkpoint_read_tensor(dir, "optim/exp_avg", "w", nullptr), moments);
  EXPECT_EQ(checkpoint_tensor_names(dir, "model"), (std::vector<std::string>{"w"}));
  for (int c = 0; c < 2; ++c) {   // column halves: another tensor-parallel layout
    ParamLayout l;
    TensorSpec w = tensor("w", shape);
    w.local_shape = {4, 3};
    w.local_start = {0, 3 * c};
    w.split_dim = 1;
    l.add(w);
    std::vector<float> back(static_cast<size_t>(l.size()), 0.0f);
    checkpoint_load(dir, {{"optim/exp_avg", &l, back.data()}});
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 3; ++j)
        EXPECT_EQ(back[static_cast<size_t>(l.at("w").offset + i * 3 + j)], moments[static_cast<size_t>(i * 6 + 3 * c + j)]);
  }
  checkpoint_verify(dir);
  // a shard file missing: named on load, and the checkpoint is no longer valid
  std::filesystem::remove(dir + "/shard_00001.h5");
  expect_error([&] { checkpoint_read_tensor(dir, "model", "w", nullptr); }, ErrorKind::Input,
               {"shard_00001.h5", "model/w", "missing"});
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), "");
}

TEST(Checkpoint, LeftoverTempDirsAndIncompleteStepsAreIgnored) {
  TempDir root;
  State s(2);
  checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::string good = checkpoint_save(root.path(), sample_meta(200), s.sets(), 0);
  // A crashed save: a temp dir with a (garbage) shard file, and a step dir without index.h5.
  std::string tmp = root.file(".tmp-step_00000300");
  std::filesystem::create_directory(tmp);
  test::write_text(tmp + "/shard_00000.h5", "half-written");
  std::filesystem::create_directory(root.file("step_00000400"));
  test::write_text(root.file("step_00000500"), "a file, not a directory");
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), good);
  std::filesystem::remove(root.file("latest"));   // without the pointer: by decreasing step
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), good);
  EXPECT_EQ(checkpoint_find_latest_valid(root.file("no_such_root")), "");
  expect_error([&] { checkpoint_resolve(root.file("step_00000400"), ResumeMode::ExactPath); }, ErrorKind::Input,
               {"step_00000400", "index.h5"});
}

// Offset of the first occurrence of `needle` in `hay`, or npos.
size_t find_bytes(const std::string& hay, const void* needle, size_t n) {
  return hay.find(std::string(static_cast<const char*>(needle), n));
}

TEST(Checkpoint, FlippedByteInTensorDataIsDetected) {
  TempDir root;
  State s(3);
  const TensorSpec& fc = s.layout.at("layers.0.mlp.fc.weight");
  for (int64_t i = 0; i < fc.numel(); ++i) {   // a distinctive bit pattern to find in the file
    uint32_t bits = 0x5A5A0000u | static_cast<uint32_t>(i);
    std::memcpy(&s.exp_avg[static_cast<size_t>(fc.offset + i)], &bits, 4);
  }
  std::string dir = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::string path = dir + "/shard_00000.h5";
  std::string bytes = read_file(path);
  size_t at = find_bytes(bytes, &s.exp_avg[static_cast<size_t>(fc.offset)], 16);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 9] ^= 0x01;
  test::write_text(path, bytes);

  expect_error([&] { checkpoint_verify(dir); }, ErrorKind::Input,
               {"shard_00000.h5", "optim/exp_avg/layers.0.mlp.fc.weight", "checksum mismatch"});
  State loaded(4);
  expect_error([&] { checkpoint_load(dir, loaded.sets()); }, ErrorKind::Input,
               {"shard_00000.h5", "layers.0.mlp.fc.weight", "checksum mismatch"});
  // Structure is intact, so only the Full scan rejects it.
  EXPECT_EQ(checkpoint_find_latest_valid(root.path(), Validation::Structure), dir);
  EXPECT_EQ(checkpoint_find_latest_valid(root.path(), Validation::Full), "");
}

TEST(Checkpoint, FlippedByteInMetadataIsDetectedByHdf5HeaderChecksums) {
  TempDir root;
  State s(10);
  std::string first = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::string dir = checkpoint_save(root.path(), sample_meta(200), s.sets(), 0);
  std::string path = dir + "/index.h5";
  std::string bytes = read_file(path);
  double scalar = sample_meta(0).scalars.at("best_val_loss");   // stored in an attribute
  size_t at = find_bytes(bytes, &scalar, sizeof scalar);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] ^= 0x10;
  test::write_text(path, bytes);
  expect_error([&] { checkpoint_read_meta(dir); }, ErrorKind::Input, {path, "checksum"});
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), first);
}

TEST(Checkpoint, TruncatedStateFallsBackToThePreviousCheckpoint) {
  TempDir root;
  State s(5);
  std::string first = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::string second = checkpoint_save(root.path(), sample_meta(200), s.sets(), 0);
  std::string path = second + "/index.h5";
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), first);
  expect_error([&] { checkpoint_read_meta(second); }, ErrorKind::Input, {path});
  State loaded(6);
  expect_error([&] { checkpoint_load(second, loaded.sets()); }, ErrorKind::Input, {path});
  std::filesystem::resize_file(path, 0);
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), first);
}

TEST(Checkpoint, KeepLastPrunesOlderCheckpointsOnly) {
  TempDir root;
  State s(7);
  for (int64_t step : {100, 200, 300, 400, 500}) checkpoint_save(root.path(), sample_meta(step), s.sets(), 2);
  EXPECT_EQ(list_dir(root.path()), (std::vector<std::string>{"latest", "step_00000400", "step_00000500"}));
  checkpoint_save(root.path(), sample_meta(600), s.sets(), 1);
  EXPECT_EQ(list_dir(root.path()), (std::vector<std::string>{"latest", "step_00000600"}));
  checkpoint_save(root.path(), sample_meta(700), s.sets(), 0);
  EXPECT_EQ(list_dir(root.path()).size(), 3u);
  // keep 1, but the checkpoint a run resumed from (step 600) is protected
  const std::string tmp = checkpoint_prepare(root.path(), 800);
  std::vector<ShardPiece> pieces;
  for (const TensorSpec& t : s.layout.specs())
    shard_pieces_of_range("model", t, s.params.data() + t.offset, 0, t.numel(), pieces);
  const uint64_t checksum = checkpoint_write_shard(tmp, 0, pieces).checksum;
  checkpoint_commit(root.path(), tmp, sample_meta(800), {checksum}, 1, root.file("step_00000600"));
  EXPECT_EQ(list_dir(root.path()), (std::vector<std::string>{"latest", "step_00000600", "step_00000800"}));
}

TEST(Checkpoint, NeverOverwritesAndTheNewestStepWins) {
  TempDir root;
  State s(8);
  std::string c100 = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::string c200 = checkpoint_save(root.path(), sample_meta(200), s.sets(), 0);
  std::string before = read_file(c100 + "/shard_00000.h5") + read_file(c100 + "/index.h5");
  expect_error([&] { checkpoint_save(root.path(), sample_meta(100), s.sets(), 0); }, ErrorKind::Input,
               {"step_00000100", "already exists"});
  EXPECT_EQ(read_file(c100 + "/shard_00000.h5") + read_file(c100 + "/index.h5"), before);
  // `latest` does not decide (issue 14): a kill between the rename of step_200 and the update of
  // `latest` leaves it naming step_100, and the complete step_200 is still the one to resume.
  write_file_atomic(root.path() + "/latest", "step_00000100\n");
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), c200);
  // the trainer refuses to start a run at step 100 here (its saves would collide): the list it uses
  std::string c150 = checkpoint_save(root.path(), sample_meta(150), s.sets(), 2);
  EXPECT_EQ(checkpoint_newer_than(root.path(), 100), (std::vector<std::string>{"step_00000200", "step_00000150"}));
  EXPECT_TRUE(checkpoint_newer_than(root.path(), 200).empty());
  EXPECT_TRUE(is_directory(c200));   // newer checkpoints are never pruned by an older save
  EXPECT_TRUE(is_directory(c100));
  EXPECT_EQ(read_file(c100 + "/shard_00000.h5") + read_file(c100 + "/index.h5"), before);
}

TEST(CheckpointRecovery, QuarantineMovesAsideWithTheReasonAndKeepLastIgnoresIt) {
  TempDir root;
  State s(12);
  std::string c1 = checkpoint_save(root.path(), sample_meta(1), s.sets(), 0);
  std::string c2 = checkpoint_save(root.path(), sample_meta(2), s.sets(), 0);
  const std::string bytes = read_file(c2 + "/shard_00000.h5");
  const std::string moved = checkpoint_quarantine(c2, "checksum mismatch in shard file 'x' (stored 1)");
  EXPECT_FALSE(path_exists(c2));
  EXPECT_EQ(moved.rfind(root.path() + "/quarantine/step_00000002.checksum-mismatch.", 0), 0u) << moved;
  EXPECT_EQ(read_file(moved + "/shard_00000.h5"), bytes);   // kept whole
  EXPECT_NE(read_file(moved + ".reason.txt").find("checksum mismatch in shard file 'x'"), std::string::npos);
  EXPECT_EQ(checkpoint_candidates(root.path()), std::vector<std::string>{c1});
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), c1);
  // keep_last = 1 prunes step 1 when step 3 is saved, never the quarantined one
  checkpoint_save(root.path(), sample_meta(3), s.sets(), 1);
  EXPECT_FALSE(path_exists(c1));
  EXPECT_TRUE(is_directory(moved));
  // the same step set aside twice in one second gets distinct names
  std::string c4 = checkpoint_save(root.path(), sample_meta(4), s.sets(), 0);
  std::string again = checkpoint_quarantine(c4, "x");
  std::string c4b = checkpoint_save(root.path(), sample_meta(4), s.sets(), 0);
  EXPECT_NE(checkpoint_quarantine(c4b, "x"), again);
}

TEST(CheckpointRecovery, DamageKindsLatestPointerAndStaleTemps) {
  EXPECT_EQ(checkpoint_damage_kind("checksum mismatch in shard file 'a'"), "checksum-mismatch");
  EXPECT_EQ(checkpoint_damage_kind("checkpoint 'd': shard file 'shard_00001.h5' is missing"), "missing-shard");
  EXPECT_EQ(checkpoint_damage_kind("checkpoint 'd' has no index.h5"), "no-index");
  EXPECT_EQ(checkpoint_damage_kind("cannot open HDF5 file 'a' (HDF5: truncated file: eof = 10)"), "truncated");
  EXPECT_EQ(checkpoint_damage_kind("object '/meta/x': cannot read (HDF5: bad heap)"), "unreadable");
  EXPECT_EQ(checkpoint_damage_kind("step mismatch"), "invalid");
  TempDir root;
  State s(13);
  std::string c5 = checkpoint_save(root.path(), sample_meta(5), s.sets(), 0);
  checkpoint_save(root.path(), sample_meta(6), s.sets(), 0);
  checkpoint_publish_latest(c5);
  EXPECT_EQ(read_file(root.path() + "/latest"), "step_00000005\n");
  std::filesystem::create_directories(root.path() + "/.tmp-step_00000009");
  write_file_atomic(root.path() + "/.tmp-step_00000009/shard_00000.h5", "partial");
  std::filesystem::create_directories(root.path() + "/.tmp-step_00000003");
  EXPECT_EQ(checkpoint_remove_stale_temps(root.path()).size(), 2u);
  EXPECT_FALSE(path_exists(root.path() + "/.tmp-step_00000009"));
  EXPECT_TRUE(is_directory(c5));
  EXPECT_TRUE(checkpoint_remove_stale_temps(root.path() + "/none").empty());
}

TEST(Checkpoint, FailedSaveLeavesNoDirectory) {
  TempDir root;
  State s(11);
  CheckpointMeta bad = sample_meta(100);
  bad.counters["data/consumed"] = 1;   // '/' is not allowed in a counter name
  expect_error([&] { checkpoint_save(root.path(), bad, s.sets(), 0); }, ErrorKind::Internal, {"data/consumed"});
  EXPECT_TRUE(list_dir(root.path()).empty());
  EXPECT_EQ(checkpoint_find_latest_valid(root.path()), "");
  EXPECT_EQ(checkpoint_dir_name(7), "step_00000007");
  EXPECT_EQ(checkpoint_dir_name(123456789), "step_123456789");
}

TEST(Checkpoint, LoadErrorsNameFileAndTensor) {
  TempDir root;
  State s(9);
  std::string dir = checkpoint_save(root.path(), sample_meta(100), s.sets(), 0);
  std::vector<float> buf(1024, 0.0f);

  ParamLayout wrong_shape;
  wrong_shape.add(tensor("embed.weight", {4, 8}));
  wrong_shape.add(tensor("layers.0.norm.weight", {4}));
  wrong_shape.add(tensor("layers.0.mlp.fc.weight", {4, 6}));
  expect_error([&] { checkpoint_load(dir, {{"model", &wrong_shape, buf.data()}}); }, ErrorKind::Input,
               {"step_00000100", "model/embed.weight", "(8, 4)", "(4, 8)"});

  ParamLayout extra = small_layout();
  extra.add(tensor("layers.1.norm.weight", {4}));
  expect_error([&] { checkpoint_load(dir, {{"model", &extra, buf.data()}}); }, ErrorKind::Input,
               {"step_00000100", "no tensor 'model/layers.1.norm.weight'"});

  ParamLayout fewer;
  fewer.add(tensor("embed.weight", {8, 4}));
  expect_error([&] { checkpoint_load(dir, {{"model", &fewer, buf.data()}}); }, ErrorKind::Input,
               {"step_00000100", "holds tensor 'model/layers.0.", "does not have"});

  ParamLayout l = small_layout();
  expect_error([&] { checkpoint_load(dir, {{"optim/missing", &l, buf.data()}}); }, ErrorKind::Input,
               {"step_00000100", "optim/missing"});
  expect_error([&] { checkpoint_load(root.file("step_00000999"), s.sets()); }, ErrorKind::Input,
               {"step_00000999"});

  test::write_text(root.file("not_a_ckpt.h5"), "x");
  std::filesystem::create_directory(root.file("step_00000300"));
  test::write_text(root.file("step_00000300/index.h5"), "not hdf5 at all");
  expect_error([&] { checkpoint_read_meta(root.file("step_00000300")); }, ErrorKind::Input,
               {"step_00000300/index.h5", "not an HDF5 file"});
}

// ZeRO-1 resume: a load restricted to flat ranges of the buffer fills exactly those elements
// (bit-exact) and leaves every other element as it was.
TEST(Checkpoint, RangedLoadFillsOnlyTheRanges) {
  TempDir root;
  State s(21);
  const std::string dir = checkpoint_save(root.path(), sample_meta(5), s.sets(), 0);
  const ParamLayout& l = s.layout;
  // ranges cutting rows of embed.weight (8 x 4), the whole norm, part of the fc weight (4 x 6)
  const TensorSpec& fc = l.specs()[2];
  const std::vector<FlatRange> ranges = {{3, 13}, {30, l.specs()[1].offset + 4}, {fc.offset + 5, fc.offset + 17}};
  const float sentinel = 12345.0f;
  std::vector<float> got(static_cast<size_t>(l.size()), sentinel);
  checkpoint_load(dir, {{"optim/exp_avg", &l, got.data(), TensorCoverage::All, &ranges}});
  for (int64_t i = 0; i < l.size(); ++i) {
    const bool in_range = std::any_of(ranges.begin(), ranges.end(), [&](const FlatRange& r) { return i >= r.begin && i < r.end; });
    const bool in_tensor = std::any_of(l.specs().begin(), l.specs().end(), [&](const TensorSpec& t) {
      return i >= t.offset && i < t.offset + t.numel();   // not the alignment padding between tensors
    });
    const bool inside = in_range && in_tensor;
    const float want = inside ? s.exp_avg[static_cast<size_t>(i)] : sentinel;
    EXPECT_EQ(std::memcmp(&got[static_cast<size_t>(i)], &want, sizeof(float)), 0) << "element " << i;
  }
}

TEST(Checkpoint, UnknownChecksumAlgorithmIsRefused) {
  TempDir root;
  State s(22);
  const std::string dir = checkpoint_save(root.path(), sample_meta(6), s.sets(), 0);
  {
    h5::File f = h5::File::open(dir + "/index.h5", h5::FileMode::ReadWrite);
    f.root().set_attr("checksum_algorithm", "fnv1a64");
  }
  expect_error([&] { checkpoint_read_meta(dir); }, ErrorKind::Input,
               {"index.h5", "checksum_algorithm 'fnv1a64'", "'xxh64'"});
}

}  // namespace
}  // namespace plinth::io
