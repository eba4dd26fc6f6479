// tokenizer.cpp -- ByteTokenizer, SentencePieceTokenizer (training + loading) and the factory.
// SentencePiece is trained entirely in memory: sentences come from a SentenceIterator over the
// caller's documents and the model comes back as serialized bytes; nothing touches the disk.
#include "io/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include "core/error.h"

namespace plinth::io {

const char* tokenizer_kind_name(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::Byte: return "byte";
    case TokenizerKind::SentencePiece: return "sentencepiece";
  }
  return "byte";
}

TokenizerKind tokenizer_kind_parse(const std::string& name) {
  if (name == "byte") return TokenizerKind::Byte;
  if (name == "sentencepiece") return TokenizerKind::SentencePiece;
  PLINTH_THROW(Config, "unknown tokenizer '", name, "' (expected 'byte' or 'sentencepiece')");
}

// ---- ByteTokenizer ----------------------------------------------------------------------

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size());
  for (unsigned char c : text)
    if (c != 0) out.push_back(c);   // NUL is the EOD token; it never appears inside a document
  return out;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& tokens) const {
  std::string out;
  out.reserve(tokens.size());
  for (int32_t t : tokens) {
    PLINTH_CHECK(t >= 0 && t < 256, Input, "byte tokenizer: token ", t, " outside [0, 256)");
    if (t != 0) out.push_back(static_cast<char>(t));
  }
  return out;
}

// ---- SentencePieceTokenizer -------------------------------------------------------------

namespace {

// Feeds the non-empty lines of the documents to the trainer, keeping every `stride`-th line.
class LineIterator final : public sentencepiece::SentenceIterator {
 public:
  LineIterator(const std::vector<std::string>& docs, int64_t stride) : docs_(docs), stride_(stride) {
    advance();
  }
  bool done() const override { return done_; }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  bool next_line() {   // the next non-empty line of any document into line_
    while (doc_ < docs_.size()) {
      const std::string& d = docs_[doc_];
      if (pos_ >= d.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      size_t nl = d.find('\n', pos_);
      size_t end = nl == std::string::npos ? d.size() : nl;
      line_.assign(d, pos_, end - pos_);
      pos_ = end + 1;
      if (!line_.empty() && line_ != "\r") return true;
    }
    return false;
  }
  void advance() {
    while (true) {
      if (!next_line()) {
        done_ = true;
        return;
      }
      if (count_++ % stride_ == 0) return;
    }
  }

  const std::vector<std::string>& docs_;
  int64_t stride_;
  size_t doc_ = 0, pos_ = 0;
  int64_t count_ = 0;
  std::string line_;
  bool done_ = false;
};

int64_t count_lines(const std::vector<std::string>& docs) {
  LineIterator it(docs, 1);
  int64_t n = 0;
  for (; !it.done(); it.Next()) ++n;
  return n;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_bytes)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), model_(model_bytes) {
  PLINTH_CHECK(!model_bytes.empty(), Input, "sentencepiece tokenizer: the model is empty");
  auto status = sp_->LoadFromSerializedProto(model_bytes);
  PLINTH_CHECK(status.ok(), Input, "sentencepiece tokenizer: cannot load the model (",
               model_bytes.size(), " bytes): ", status.ToString());
  PLINTH_CHECK(sp_->eos_id() >= 0, Input, "sentencepiece tokenizer: the model has no </s> piece");
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::train(
    const std::vector<std::string>& documents, const SentencePieceTrainOptions& options) {
  PLINTH_CHECK(options.vocab_size >= kSentencePieceMinVocab && options.vocab_size <= kSentencePieceMaxVocab,
               Config, "sentencepiece vocab_size ", options.vocab_size, " outside [",
               kSentencePieceMinVocab, ", ", kSentencePieceMaxVocab, "]");
  int64_t n_lines = count_lines(documents);
  PLINTH_CHECK(n_lines > 0, Input, "sentencepiece training: the training documents contain no text");
  int64_t stride = 1;
  if (options.max_sentences > 0 && n_lines > options.max_sentences)
    stride = (n_lines + options.max_sentences - 1) / options.max_sentences;

  std::unordered_map<std::string, std::string> args = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"byte_fallback", "true"},
      {"hard_vocab_limit", "false"},              // a small corpus may give fewer pieces
      {"normalization_rule_name", "identity"},    // lossless: no NFKC, keep whitespace
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"split_digits", "false"},
      {"unk_id", "0"},
      {"eos_id", "1"},                            // </s> = end of document
      {"bos_id", "-1"},
      {"pad_id", "-1"},
      {"max_sentence_length", "1000000"},
      {"num_threads", std::to_string(options.num_threads > 0 ? options.num_threads : 1)},
      {"minloglevel", "2"},                       // errors only; training is otherwise chatty
  };
  LineIterator it(documents, stride);
  std::string model;
  auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  PLINTH_CHECK(status.ok(), Input, "sentencepiece training (vocab_size ", options.vocab_size,
               ", ", n_lines, " lines) failed: ", status.ToString());
  return std::make_unique<SentencePieceTokenizer>(model);
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  auto status = sp_->Encode(absl::string_view(text.data(), text.size()), &ids);
  PLINTH_CHECK(status.ok(), Input, "sentencepiece encode failed: ", status.ToString());
  return {ids.begin(), ids.end()};
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& tokens) const {
  int n = sp_->GetPieceSize();
  for (int32_t t : tokens)
    PLINTH_CHECK(t >= 0 && t < n, Input, "sentencepiece tokenizer: token ", t, " outside [0, ", n, ")");
  std::vector<int> ids(tokens.begin(), tokens.end());
  std::string out;
  auto status = sp_->Decode(ids, &out);
  PLINTH_CHECK(status.ok(), Input, "sentencepiece decode failed: ", status.ToString());
  return out;
}

int SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int32_t SentencePieceTokenizer::eod_token() const { return sp_->eos_id(); }

std::unique_ptr<Tokenizer> tokenizer_load(TokenizerKind kind, const std::string& model_bytes) {
  if (kind == TokenizerKind::Byte) {
    PLINTH_CHECK(model_bytes.empty(), Input, "byte tokenizer: unexpected model bytes (",
                 model_bytes.size(), ")");
    return std::make_unique<ByteTokenizer>();
  }
  return std::make_unique<SentencePieceTokenizer>(model_bytes);
}

}  // namespace plinth::io
