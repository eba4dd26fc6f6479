// test_corpus.cpp -- CorpusWriter + Corpus: exact round trips, dtype choice by vocabulary,
// atomic commit, and every validation error of Corpus::open on hand-made bad files.
// Bad files are written with the h5 wrapper into a temporary directory removed at the end.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/corpus.h"
#include "io/corpus_writer.h"
#include "io/digest.h"
#include "io/h5.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;
using test::TempDir;

CorpusHeader byte_header() {
  CorpusHeader h;
  h.source_digest = "0123456789abcdef";
  h.source_files = 2;
  h.val_fraction = 0.5;
  h.seed = 77;
  return h;
}

TEST(Digest, StandardFnv1a64Vectors) {
  EXPECT_EQ(hex64(fnv1a64("", 0)), "cbf29ce484222325");
  EXPECT_EQ(hex64(fnv1a64("a", 1)), "af63dc4c8601ec8c");
  EXPECT_EQ(hex64(fnv1a64("foobar", 6)), "85944171f73967e8");
  Fnv1a64 pieces;
  pieces.update("foo");
  pieces.update("bar");
  EXPECT_EQ(pieces.value(), fnv1a64("foobar", 6));
}

TEST(Corpus, WriteThenReadRoundTripsDocuments) {
  TempDir dir;
  std::string out = dir.file("c.h5");
  std::vector<std::vector<int32_t>> train = {{1, 2, 3}, {}, {255, 4}}, val = {{9, 9}};
  {
    CorpusWriter w(out, byte_header());
    for (auto& d : train) w.add_document(Split::Train, d);
    for (auto& d : val) w.add_document(Split::Val, d);
    EXPECT_FALSE(path_exists(out));   // nothing under the final name before commit
    EXPECT_TRUE(path_exists(w.temp_path()));
    CorpusInfo info = w.commit();
    EXPECT_EQ(info.n_tokens_train, 8);
    EXPECT_FALSE(path_exists(w.temp_path()));
  }
  Corpus c = Corpus::open(out);
  const CorpusInfo& info = c.info();
  EXPECT_EQ(info.format, "plinth-corpus");
  EXPECT_EQ(info.format_version, 1);
  EXPECT_EQ(info.tokenizer, TokenizerKind::Byte);
  EXPECT_EQ(info.vocab_size, 256);
  EXPECT_EQ(info.eod_token, 0);
  EXPECT_EQ(info.dtype, "uint16");
  EXPECT_EQ(info.n_docs_train, 3);
  EXPECT_EQ(info.n_docs_val, 1);
  EXPECT_EQ(info.n_tokens_train, 8);
  EXPECT_EQ(info.n_tokens_val, 3);
  EXPECT_EQ(info.val_fraction, 0.5);
  EXPECT_EQ(info.seed, 77u);
  EXPECT_EQ(info.source_digest, "0123456789abcdef");
  EXPECT_EQ(info.source_digest_algorithm, "fnv1a64");
  EXPECT_EQ(info.source_files, 2);
  EXPECT_EQ(info.created_by, "plinth");
  EXPECT_EQ(c.read(Split::Train, 0, 8), (std::vector<int32_t>{1, 2, 3, 0, 0, 255, 4, 0}));
  EXPECT_EQ(c.read(Split::Train, 5, 2), (std::vector<int32_t>{255, 4}));
  EXPECT_EQ(c.read(Split::Val, 0, 3), (std::vector<int32_t>{9, 9, 0}));
  EXPECT_EQ(c.doc_offsets(Split::Train), (std::vector<int64_t>{0, 4, 5, 8}));
  EXPECT_EQ(c.doc_offsets(Split::Val), (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(c.tokenizer_model().empty());
  EXPECT_EQ(c.load_tokenizer()->kind(), TokenizerKind::Byte);
  expect_error([&] { c.read(Split::Val, 2, 2); }, ErrorKind::Input, {"c.h5", "outside the val split"});
}

TEST(Corpus, LargeStreamCrossesBufferAndChunkBoundaries) {
  TempDir dir;
  std::string out = dir.file("big.h5");
  std::vector<int32_t> doc(700000);
  for (size_t i = 0; i < doc.size(); ++i) doc[i] = 1 + static_cast<int32_t>(i % 255);
  {
    CorpusWriter w(out, byte_header());
    for (int k = 0; k < 3; ++k) w.add_document(Split::Train, doc);
    w.commit();
  }
  Corpus c = Corpus::open(out);
  ASSERT_EQ(c.n_tokens(Split::Train), 3 * 700001);
  std::vector<int32_t> window = c.read(Split::Train, 700001 + 65530, 20);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(window[i], doc[65530 + i]);
  EXPECT_EQ(c.read(Split::Train, 2 * 700001 - 1, 2), (std::vector<int32_t>{0, doc[0]}));
}

TEST(Corpus, DtypeFollowsVocabulary) {
  EXPECT_EQ(corpus_dtype_for_vocab(256), "uint16");
  EXPECT_EQ(corpus_dtype_for_vocab(65536), "uint16");
  EXPECT_EQ(corpus_dtype_for_vocab(65537), "uint32");
  TempDir dir;
  CorpusHeader h = byte_header();
  h.tokenizer = TokenizerKind::SentencePiece;
  h.vocab_size = 70000;
  h.eod_token = 1;
  h.tokenizer_model = "opaque model bytes";
  {
    CorpusWriter w(dir.file("u32.h5"), h);
    w.add_document(Split::Train, {69999, 65536, 0, 2});
    w.commit();
  }
  Corpus c = Corpus::open(dir.file("u32.h5"));
  EXPECT_EQ(c.info().dtype, "uint32");
  EXPECT_EQ(c.read(Split::Train, 0, 5), (std::vector<int32_t>{69999, 65536, 0, 2, 1}));
  EXPECT_EQ(c.tokenizer_model(), "opaque model bytes");
  h5::File f = h5::File::open(dir.file("u32.h5"), h5::FileMode::ReadOnly);
  EXPECT_EQ(f.root().open_dataset("train/tokens").dtype(), h5::Dtype::U32);
}

TEST(CorpusWriter, UncommittedWriterLeavesNothing) {
  TempDir dir;
  std::string out = dir.file("never.h5"), tmp;
  {
    CorpusWriter w(out, byte_header());
    w.add_document(Split::Train, {5, 6});
    tmp = w.temp_path();
    expect_error([&] { w.add_document(Split::Train, {7, 0}); }, ErrorKind::Input, {"EOD"});
    expect_error([&] { w.add_document(Split::Val, {256}); }, ErrorKind::Input, {"never.h5", "256"});
  }
  EXPECT_FALSE(path_exists(out));
  EXPECT_FALSE(path_exists(tmp));
  EXPECT_TRUE(list_dir(dir.path()).empty());
  expect_error([&] { CorpusWriter(dir.file("missing/x.h5"), byte_header()); }, ErrorKind::Io, {"missing"});
}

// A corpus-shaped HDF5 file with selected defects.
struct FakeCorpus {
  bool format_attr = true;
  std::string format = "plinth-corpus";
  int64_t version = 1;
  bool tokens = true;
  h5::Dtype token_type = h5::Dtype::U16;
  int64_t vocab = 256;
  std::vector<uint16_t> train = {65, 66, 0};
};

void write_fake(const std::string& path, const FakeCorpus& fc) {
  h5::File f = h5::File::create(path);
  h5::Group r = f.root();
  if (fc.format_attr) r.set_attr("format", fc.format);
  r.set_attr("format_version", fc.version);
  r.set_attr("tokenizer", "byte");
  r.set_attr("vocab_size", fc.vocab);
  r.set_attr("eod_token", int64_t{0});
  r.set_attr("dtype", "uint16");
  r.set_attr("n_docs_train", int64_t{1});
  r.set_attr("n_docs_val", int64_t{0});
  r.set_attr("n_tokens_train", static_cast<int64_t>(fc.train.size()));
  r.set_attr("n_tokens_val", int64_t{0});
  r.set_attr("val_fraction", 0.0);
  r.set_attr("seed", uint64_t{1});
  r.set_attr("source_digest", "0000000000000000");
  r.set_attr("source_digest_algorithm", "fnv1a64");
  r.set_attr("source_files", int64_t{1});
  r.set_attr("created_by", "test");
  if (fc.tokens) {
    h5::Dataset d = r.create_dataset("train/tokens", fc.token_type, {static_cast<int64_t>(fc.train.size())});
    d.write_all(h5::Dtype::U16, fc.train.data());
  }
  h5::write_vector(r, "train/doc_offsets", std::vector<int64_t>{0, static_cast<int64_t>(fc.train.size())});
  h5::write_vector(r, "val/tokens", std::vector<uint16_t>{});
  h5::write_vector(r, "val/doc_offsets", std::vector<int64_t>{0});
  h5::write_vector(r, "tokenizer/model", std::vector<uint8_t>{});
  f.close();
}

TEST(CorpusOpen, ValidFakeOpens) {
  TempDir dir;
  write_fake(dir.file("ok.h5"), {});
  EXPECT_EQ(Corpus::open(dir.file("ok.h5")).read(Split::Train, 0, 3), (std::vector<int32_t>{65, 66, 0}));
}

TEST(CorpusOpen, EveryErrorNamesTheFile) {
  TempDir dir;
  expect_error([&] { Corpus::open(dir.file("missing.h5")); }, ErrorKind::Input, {"not found", "missing.h5"});

  test::write_text(dir.file("text.h5"), "hello, I am not HDF5\n");
  expect_error([&] { Corpus::open(dir.file("text.h5")); }, ErrorKind::Input, {"text.h5", "not an HDF5 file"});

  FakeCorpus no_tokens;
  no_tokens.tokens = false;
  write_fake(dir.file("no_tokens.h5"), no_tokens);
  expect_error([&] { Corpus::open(dir.file("no_tokens.h5")); }, ErrorKind::Input, {"no_tokens.h5", "/train/tokens"});

  FakeCorpus float_tokens;
  float_tokens.token_type = h5::Dtype::F32;
  write_fake(dir.file("float.h5"), float_tokens);
  expect_error([&] { Corpus::open(dir.file("float.h5")); }, ErrorKind::Input,
               {"float.h5", "/train/tokens", "float32", "expected uint16"});

  FakeCorpus no_format;
  no_format.format_attr = false;
  write_fake(dir.file("no_format.h5"), no_format);
  expect_error([&] { Corpus::open(dir.file("no_format.h5")); }, ErrorKind::Input, {"no_format.h5", "'format'"});

  FakeCorpus wrong_format;
  wrong_format.format = "something-else";
  write_fake(dir.file("wrong_format.h5"), wrong_format);
  expect_error([&] { Corpus::open(dir.file("wrong_format.h5")); }, ErrorKind::Input,
               {"wrong_format.h5", "something-else"});

  FakeCorpus v2;
  v2.version = 2;
  write_fake(dir.file("v2.h5"), v2);
  expect_error([&] { Corpus::open(dir.file("v2.h5")); }, ErrorKind::Input, {"v2.h5", "format_version 2"});
}

TEST(CorpusOpen, ReadChecksTokenRangeInTheWindow) {
  TempDir dir;
  FakeCorpus bad;
  bad.vocab = 100;
  bad.train = {5, 200, 0};
  write_fake(dir.file("range.h5"), bad);
  // the attribute-only check at open leaves files without max_token_id to the window check
  Corpus c = Corpus::open(dir.file("range.h5"), {.check = TokenCheck::Recorded});
  EXPECT_EQ(c.read(Split::Train, 0, 1), (std::vector<int32_t>{5}));
  expect_error([&] { c.read(Split::Train, 0, 3); }, ErrorKind::Input, {"range.h5", "is 200", "vocab_size 100"});
}

TEST(CorpusOpen, TruncatedFileIsRejected) {
  TempDir dir;
  std::string out = dir.file("t.h5");
  {
    CorpusWriter w(out, byte_header());
    w.add_document(Split::Train, std::vector<int32_t>(100000, 7));
    w.commit();
  }
  std::filesystem::resize_file(out, std::filesystem::file_size(out) / 2);
  expect_error([&] { Corpus::open(out); }, ErrorKind::Input, {"t.h5"});
}

}  // namespace
}  // namespace plinth::io
