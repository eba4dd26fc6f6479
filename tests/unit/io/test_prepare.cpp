// test_prepare.cpp -- corpus_prepare end to end: % separated text, one document per file,
// JSONL with escapes, SentencePiece on fortunes; the token stream of every document is read back
// exactly; the train/val split is deterministic, disjoint and never empty; input errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "io/digest.h"
#include "io/prepare.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;
using test::TempDir;
using test::write_text;

// Every document of both splits, decoded from the token stream via doc_offsets, in split order.
std::map<Split, std::vector<std::string>> read_docs(const Corpus& c, const Tokenizer& tok) {
  std::map<Split, std::vector<std::string>> out;
  for (Split s : {Split::Train, Split::Val}) {
    auto off = c.doc_offsets(s);
    for (size_t i = 0; i + 1 < off.size(); ++i) {
      auto ids = c.read(s, off[i], off[i + 1] - off[i]);
      EXPECT_EQ(ids.back(), tok.eod_token()) << "document must end with EOD";
      ids.pop_back();
      for (int32_t t : ids) EXPECT_NE(t, tok.eod_token());
      EXPECT_EQ(ids, tok.encode(tok.decode(ids)));
      out[s].push_back(tok.decode(ids));
    }
  }
  return out;
}

// Checks that the corpus holds exactly `docs` (in input order) split by SplitRule.
void expect_corpus_holds(const std::string& path, const std::vector<std::string>& docs, const PrepareOptions& o) {
  Corpus c = Corpus::open(path);
  auto tok = c.load_tokenizer();
  auto got = read_docs(c, *tok);
  SplitRule rule(static_cast<int64_t>(docs.size()), o.val_fraction, o.seed);
  std::map<Split, std::vector<std::string>> want;
  for (size_t i = 0; i < docs.size(); ++i) want[rule(static_cast<int64_t>(i))].push_back(docs[i]);
  EXPECT_EQ(got[Split::Train], want[Split::Train]);
  EXPECT_EQ(got[Split::Val], want[Split::Val]);
  // The token stream of each document is exactly encode(document) + EOD.
  auto off = c.doc_offsets(Split::Train);
  for (size_t i = 0; i < want[Split::Train].size(); ++i) {
    auto ids = tok->encode(want[Split::Train][i]);
    ids.push_back(tok->eod_token());
    EXPECT_EQ(c.read(Split::Train, off[i], off[i + 1] - off[i]), ids);
  }
}

PrepareOptions options_for(const std::string& input, const std::string& output) {
  PrepareOptions o;
  o.inputs = {input};
  o.output = output;
  o.val_fraction = 0.3;
  o.seed = 5;
  return o;
}

TEST(Prepare, TextWithPercentSeparators) {
  TempDir dir;
  write_text(dir.file("a.txt"), "doc one\nline two\n%\ndoc two\n%\n  \n%\n%\r\ndoc three\n100% sure\n%\n");
  write_text(dir.file("b.txt"), "fourth\n%\nfifth, no newline at end");
  PrepareOptions o = options_for(dir.file("*.txt"), dir.file("c.h5"));
  o.separator = "%";
  PrepareReport r = corpus_prepare(o);
  std::vector<std::string> docs = {"doc one\nline two\n", "doc two\n", "doc three\n100% sure\n", "fourth\n",
                                   "fifth, no newline at end"};
  EXPECT_EQ(r.n_files, 2);
  EXPECT_EQ(r.n_docs_train + r.n_docs_val, 5);
  EXPECT_GE(r.n_docs_val, 1);
  EXPECT_GE(r.n_docs_train, 1);
  EXPECT_EQ(r.vocab_size, 256);
  int64_t bytes = 0;
  for (auto& d : docs) bytes += static_cast<int64_t>(d.size()) + 1;
  EXPECT_EQ(r.n_tokens_train + r.n_tokens_val, bytes);
  std::string all = read_file(dir.file("a.txt")) + read_file(dir.file("b.txt"));
  EXPECT_EQ(r.source_digest, hex64(fnv1a64(all.data(), all.size())));
  expect_corpus_holds(o.output, docs, o);
  Corpus c = Corpus::open(o.output);
  EXPECT_EQ(c.info().source_digest, r.source_digest);
  EXPECT_EQ(c.info().source_files, 2);
  EXPECT_EQ(c.info().val_fraction, 0.3);
  EXPECT_EQ(c.info().seed, 5u);
}

TEST(Prepare, OneDocumentPerFileFromADirectoryWithExclusions) {
  TempDir dir;
  std::string in = dir.file("in");
  ASSERT_TRUE(std::filesystem::create_directory(in));
  write_text(in + "/b", "second file\n%\nstill second\n");
  write_text(in + "/a", "first file\n");
  write_text(in + "/a.dat", "binary index, excluded");
  write_text(in + "/.hidden", "hidden, skipped");
  write_text(in + "/empty", " \n\n");
  PrepareOptions o = options_for(in, dir.file("c.h5"));
  o.exclude_suffixes = {".dat", ".u8"};
  PrepareReport r = corpus_prepare(o);
  EXPECT_EQ(r.n_files, 3);   // a, b, empty (blank: contributes no document)
  expect_corpus_holds(o.output, {"first file\n", "second file\n%\nstill second\n"}, o);
}

TEST(Prepare, JsonlWithEscapes) {
  TempDir dir;
  write_text(dir.file("d.jsonl"),
             "{\"id\": 1, \"text\": \"Hello\\nWorld \\\"quoted\\\" back\\\\slash\"}\n"
             "\n"
             "{\"meta\": {\"text\": \"nested\"}, \"text\": \"caf\\u00e9 \\ud83d\\ude00 \\t tab\"}\n"
             "{\"text\": \"   \"}\n"
             "{\"text\": \"raw ü\", \"n\": [1, 2.5, null]}\n");
  PrepareOptions o = options_for(dir.file("d.jsonl"), dir.file("c.h5"));
  PrepareReport r = corpus_prepare(o);
  EXPECT_EQ(r.n_docs_train + r.n_docs_val, 3);
  expect_corpus_holds(o.output, {"Hello\nWorld \"quoted\" back\\slash", "café 😀 \t tab", "raw ü"}, o);
}

TEST(Prepare, JsonlLineWithoutTextNamesFileAndLine) {
  TempDir dir;
  write_text(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n\n{\"body\": \"no text field\"}\n");
  expect_error([&] { corpus_prepare(options_for(dir.file("bad.jsonl"), dir.file("c.h5"))); }, ErrorKind::Input,
               {"bad.jsonl:3", "\"text\""});
  EXPECT_FALSE(path_exists(dir.file("c.h5")));
  EXPECT_EQ(list_dir(dir.path()).size(), 1u);   // no temporary file left behind
  write_text(dir.file("bad2.jsonl"), "{\"text\": \"ok\"\n");
  expect_error([&] { corpus_prepare(options_for(dir.file("bad2.jsonl"), dir.file("c.h5"))); }, ErrorKind::Input,
               {"bad2.jsonl:1", "malformed JSON"});
}

TEST(Prepare, SplitIsDeterministicDisjointAndNeverEmpty) {
  TempDir dir;
  std::string text;
  std::vector<std::string> docs;
  for (int i = 0; i < 200; ++i) {
    docs.push_back("document number " + std::to_string(i) + "\n");
    text += docs.back() + "%\n";
  }
  write_text(dir.file("many.txt"), text);
  PrepareOptions o = options_for(dir.file("many.txt"), dir.file("a.h5"));
  o.separator = "%";
  o.val_fraction = 0.1;
  PrepareReport ra = corpus_prepare(o);
  o.output = dir.file("b.h5");
  PrepareReport rb = corpus_prepare(o);
  EXPECT_EQ(read_file(dir.file("a.h5")).size(), read_file(dir.file("b.h5")).size());
  EXPECT_EQ(ra.n_docs_val, rb.n_docs_val);
  EXPECT_GT(ra.n_docs_val, 5);
  EXPECT_LT(ra.n_docs_val, 40);
  expect_corpus_holds(o.output, docs, o);   // each document exactly once, in its one split
  Corpus a = Corpus::open(dir.file("a.h5")), b = Corpus::open(dir.file("b.h5"));
  for (Split s : {Split::Train, Split::Val}) {
    EXPECT_EQ(a.doc_offsets(s), b.doc_offsets(s));
    EXPECT_EQ(a.read(s, 0, a.n_tokens(s)), b.read(s, 0, b.n_tokens(s)));
  }
  // Another seed gives another assignment.
  SplitRule r5(200, 0.1, 5), r6(200, 0.1, 6);
  int differ = 0;
  for (int i = 0; i < 200; ++i) differ += r5(i) != r6(i);
  EXPECT_GT(differ, 0);
  // A tiny fraction still yields one val document; zero yields none.
  SplitRule tiny(2, 1e-9, 1), none(50, 0.0, 1), single(1, 0.99, 1);
  EXPECT_NE(tiny(0), tiny(1));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(none(i), Split::Train);
  EXPECT_EQ(single(0), Split::Train);
}

TEST(Prepare, SentencePieceOnFortunesTrainsOnTrainDocumentsOnly) {
  std::string text = test::fortune_text();
  if (text.empty()) GTEST_SKIP() << test::kFortunes << " not installed";
  TempDir dir;
  PrepareOptions o = options_for(test::kFortunes, dir.file("sp.h5"));
  o.separator = "%";
  o.tokenizer = TokenizerKind::SentencePiece;
  o.vocab_size = 512;
  o.val_fraction = 0.05;
  PrepareReport r = corpus_prepare(o);
  EXPECT_EQ(r.vocab_size, 512);
  EXPECT_LT(r.n_tokens_train + r.n_tokens_val, static_cast<int64_t>(text.size()));
  std::vector<std::string> docs;
  split_documents(test::kFortunes, text, InputFormat::Text, "%", [&](std::string_view d) { docs.emplace_back(d); });
  expect_corpus_holds(o.output, docs, o);
  Corpus c = Corpus::open(o.output);
  EXPECT_EQ(c.info().tokenizer, TokenizerKind::SentencePiece);
  EXPECT_EQ(c.info().dtype, "uint16");
  EXPECT_EQ(c.info().eod_token, 1);
  // Training is deterministic, so the stored model equals one trained on the train docs alone.
  SplitRule rule(static_cast<int64_t>(docs.size()), o.val_fraction, o.seed);
  std::vector<std::string> train;
  for (size_t i = 0; i < docs.size(); ++i)
    if (rule(static_cast<int64_t>(i)) == Split::Train) train.push_back(docs[i]);
  SentencePieceTrainOptions so;
  so.vocab_size = 512;
  EXPECT_EQ(c.tokenizer_model(), SentencePieceTokenizer::train(train, so)->model_bytes());
}

TEST(Prepare, InputErrors) {
  TempDir dir;
  expect_error([&] { corpus_prepare(options_for(dir.file("nothing*.txt"), dir.file("c.h5"))); }, ErrorKind::Input,
               {"no input matched", "nothing*.txt"});
  write_text(dir.file("x.dat"), "excluded");
  PrepareOptions o = options_for(dir.file("*.dat"), dir.file("c.h5"));
  o.exclude_suffixes = {".dat"};
  expect_error([&] { corpus_prepare(o); }, ErrorKind::Input, {"no input files left", "*.dat"});
  expect_error([&] { read_file(dir.path()); }, ErrorKind::Input, {dir.path()});
  write_text(dir.file("ok.txt"), "text\n");
  o = options_for(dir.file("ok.txt"), dir.file("c.h5"));
  o.tokenizer = TokenizerKind::SentencePiece;
  o.vocab_size = 10;
  expect_error([&] { corpus_prepare(o); }, ErrorKind::Config, {"vocab_size 10"});
  o = options_for(dir.file("ok.txt"), dir.file("c.h5"));
  o.val_fraction = 1.0;
  expect_error([&] { corpus_prepare(o); }, ErrorKind::Config, {"val_fraction"});
  write_text(dir.file("blank.txt"), "\n \n");
  expect_error([&] { corpus_prepare(options_for(dir.file("blank.txt"), dir.file("c.h5"))); }, ErrorKind::Input,
               {"no documents"});
  expect_error([&] { corpus_prepare(options_for(dir.file("ok.txt"), dir.file("nodir/c.h5"))); }, ErrorKind::Io,
               {"nodir"});
  EXPECT_EQ(input_format_resolve(InputFormat::Auto, "a.json"), InputFormat::Jsonl);
  EXPECT_EQ(input_format_resolve(InputFormat::Auto, "a.txt"), InputFormat::Text);
  expect_error([] { input_format_parse("csv"); }, ErrorKind::Config, {"'csv'"});
}

}  // namespace
}  // namespace plinth::io
