// tokenizer.h -- text <-> token ids: a byte-level tokenizer and a SentencePiece BPE tokenizer.
// ByteTokenizer: token = byte value (vocab 256); EOD is token 0, so NUL bytes in the input are
// dropped by encode() and token 0 is skipped by decode(). SentencePieceTokenizer: BPE trained
// in memory through libsentencepiece with byte fallback (every byte string is encodable) and
// identity normalization, so decode(encode(text)) == text for valid UTF-8 text without U+2581
// ('▁', SentencePiece's space marker, decodes to a space; invalid UTF-8 decodes as U+FFFD).
// EOD is </s>.
// A trained tokenizer is stored as its serialized model bytes (model_bytes()).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace plinth::io {

enum class TokenizerKind { Byte, SentencePiece };

const char* tokenizer_kind_name(TokenizerKind kind);           // "byte" | "sentencepiece"
TokenizerKind tokenizer_kind_parse(const std::string& name);   // Config error naming the value

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;   // no EOD appended
  virtual std::string decode(const std::vector<int32_t>& tokens) const = 0;   // EOD decodes to ""
  virtual int vocab_size() const = 0;
  virtual int32_t eod_token() const = 0;
  virtual TokenizerKind kind() const = 0;
  virtual std::string model_bytes() const = 0;   // empty for the byte tokenizer
};

class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& tokens) const override;   // Input error when a token is outside [0, 256)
  int vocab_size() const override { return 256; }
  int32_t eod_token() const override { return 0; }
  TokenizerKind kind() const override { return TokenizerKind::Byte; }
  std::string model_bytes() const override { return {}; }
};

struct SentencePieceTrainOptions {
  int vocab_size = 8000;        // requested; a small corpus may yield fewer pieces
  int num_threads = 2;
  int64_t max_sentences = 0;    // 0 = train on every line; else a deterministic sample of lines
};

// Smallest and largest vocab_size accepted for training (256 byte pieces + <unk> + </s> + 1).
constexpr int kSentencePieceMinVocab = 259;
constexpr int kSentencePieceMaxVocab = 1 << 20;

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Loads a serialized model (as returned by model_bytes()); Input error when it does not parse
  // or lacks an </s> piece.
  explicit SentencePieceTokenizer(const std::string& model_bytes);
  ~SentencePieceTokenizer() override;

  // Trains BPE on the lines of `documents` (the trainer sees one line per sentence; lines are
  // split at '\n' and empty lines skipped). Config error for a vocab_size out of range, Input
  // error when training fails (e.g. vocab_size smaller than the corpus' required characters).
  static std::unique_ptr<SentencePieceTokenizer> train(const std::vector<std::string>& documents,
                                                       const SentencePieceTrainOptions& options);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& tokens) const override;
  int vocab_size() const override;
  int32_t eod_token() const override;
  TokenizerKind kind() const override { return TokenizerKind::SentencePiece; }
  std::string model_bytes() const override { return model_; }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string model_;
};

// Byte: model_bytes must be empty. SentencePiece: loads the serialized model.
std::unique_ptr<Tokenizer> tokenizer_load(TokenizerKind kind, const std::string& model_bytes);

}  // namespace plinth::io
