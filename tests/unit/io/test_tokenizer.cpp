// test_tokenizer.cpp -- byte and SentencePiece tokenizers on real English text (the fortune
// file 'computers'): exact round trips, model serialization, determinism, error cases.
// The SentencePiece model (vocab 512) is trained once and shared by the tests that need it.
#include <gtest/gtest.h>

#include "io/documents.h"
#include "io/tokenizer.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;

std::vector<std::string> fortune_docs() {
  std::vector<std::string> docs;
  std::string text = test::fortune_text();
  split_documents(test::kFortunes, text, InputFormat::Text, "%", [&](std::string_view d) { docs.emplace_back(d); });
  return docs;
}

// Trained once for the whole test binary (training takes well under a second).
const SentencePieceTokenizer& fortune_sp() {
  static std::unique_ptr<SentencePieceTokenizer> tok = [] {
    SentencePieceTrainOptions o;
    o.vocab_size = 512;
    return SentencePieceTokenizer::train(fortune_docs(), o);
  }();
  return *tok;
}

TEST(ByteTokenizer, RoundTripsEnglishText) {
  std::string text = test::fortune_text();
  if (text.empty()) GTEST_SKIP() << test::kFortunes << " not installed";
  ByteTokenizer tok;
  auto ids = tok.encode(text);
  EXPECT_EQ(ids.size(), text.size());
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.vocab_size(), 256);
  EXPECT_EQ(tok.eod_token(), 0);
  EXPECT_EQ(tok.kind(), TokenizerKind::Byte);
  EXPECT_TRUE(tok.model_bytes().empty());
}

TEST(ByteTokenizer, DropsNulAndRejectsOutOfRangeTokens) {
  ByteTokenizer tok;
  EXPECT_EQ(tok.encode(std::string("a\0b\xff", 4)), (std::vector<int32_t>{97, 98, 255}));
  EXPECT_EQ(tok.decode({104, 0, 105}), "hi");   // EOD decodes to nothing
  expect_error([&] { tok.decode({65, 256}); }, ErrorKind::Input, {"256"});
}

TEST(SentencePieceTokenizer, RoundTripsEveryFortuneAndCompresses) {
  if (test::fortune_text().empty()) GTEST_SKIP() << test::kFortunes << " not installed";
  const auto& sp = fortune_sp();
  EXPECT_EQ(sp.vocab_size(), 512);
  EXPECT_EQ(sp.eod_token(), 1);
  EXPECT_EQ(sp.kind(), TokenizerKind::SentencePiece);
  int64_t bytes = 0, tokens = 0;
  for (const std::string& doc : fortune_docs()) {
    auto ids = sp.encode(doc);
    ASSERT_EQ(sp.decode(ids), doc);
    for (int32_t t : ids) {
      ASSERT_GE(t, 0);
      ASSERT_LT(t, 512);
      ASSERT_NE(t, sp.eod_token());
    }
    bytes += static_cast<int64_t>(doc.size());
    tokens += static_cast<int64_t>(ids.size());
  }
  EXPECT_LT(tokens, bytes * 3 / 4) << "BPE with 512 pieces should compress English text";
  std::string whole = test::fortune_text();
  EXPECT_EQ(sp.decode(sp.encode(whole)), whole);
}

TEST(SentencePieceTokenizer, ByteFallbackCoversUnseenText) {
  if (test::fortune_text().empty()) GTEST_SKIP() << test::kFortunes << " not installed";
  const auto& sp = fortune_sp();
  std::string text = "  Ünïcödé — 日本語\t tabs\n\n  and   spaces \x01\x7f end\n";
  EXPECT_EQ(sp.decode(sp.encode(text)), text);
  auto with_eod = sp.encode("abc");
  with_eod.push_back(sp.eod_token());
  EXPECT_EQ(sp.decode(with_eod), "abc");
  expect_error([&] { sp.decode({512}); }, ErrorKind::Input, {"512"});
}

TEST(SentencePieceTokenizer, SerializedModelReloadsAndTrainingIsDeterministic) {
  if (test::fortune_text().empty()) GTEST_SKIP() << test::kFortunes << " not installed";
  const auto& sp = fortune_sp();
  std::string model = sp.model_bytes();
  ASSERT_FALSE(model.empty());
  auto loaded = tokenizer_load(TokenizerKind::SentencePiece, model);
  std::string text = fortune_docs().at(3);
  EXPECT_EQ(loaded->encode(text), sp.encode(text));
  EXPECT_EQ(loaded->vocab_size(), 512);
  SentencePieceTrainOptions o;
  o.vocab_size = 512;
  EXPECT_EQ(SentencePieceTokenizer::train(fortune_docs(), o)->model_bytes(), model);
}

TEST(SentencePieceTokenizer, Errors) {
  SentencePieceTrainOptions o;
  o.vocab_size = 100;
  expect_error([&] { SentencePieceTokenizer::train({"some text"}, o); }, ErrorKind::Config, {"vocab_size 100"});
  o.vocab_size = 512;
  expect_error([&] { SentencePieceTokenizer::train({"", "\n\n"}, o); }, ErrorKind::Input, {"no text"});
  if (!test::fortune_text().empty()) {
    o.vocab_size = 260;   // fewer than 256 bytes + meta pieces + the corpus' characters
    expect_error([&] { SentencePieceTokenizer::train(fortune_docs(), o); }, ErrorKind::Input,
                 {"sentencepiece training", "vocab"});
  }
  expect_error([&] { tokenizer_load(TokenizerKind::SentencePiece, "not a model"); }, ErrorKind::Input,
               {"cannot load"});
  expect_error([&] { tokenizer_load(TokenizerKind::Byte, "x"); }, ErrorKind::Input, {"byte tokenizer"});
  expect_error([&] { tokenizer_kind_parse("bpe"); }, ErrorKind::Config, {"'bpe'"});
  EXPECT_EQ(tokenizer_kind_parse("sentencepiece"), TokenizerKind::SentencePiece);
  EXPECT_STREQ(tokenizer_kind_name(TokenizerKind::Byte), "byte");
}

}  // namespace
}  // namespace plinth::io
