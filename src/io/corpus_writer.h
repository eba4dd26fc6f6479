// corpus_writer.h -- streaming writer of plinth-corpus files (format_version 1).
// Documents are appended per split (each followed by one EOD token) through a buffer into
// chunked, uncompressed HDF5 datasets. Everything is written to "<output>.tmp-<pid>"; commit()
// adds offsets and attributes, closes, fsyncs and renames onto <output>, so a crash or an error
// never leaves a file under the final name. The destructor deletes an uncommitted temp file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/corpus.h"
#include "io/tokenizer.h"

namespace plinth::io {

// What the writer records besides the tokens (becomes the root attributes).
struct CorpusHeader {
  TokenizerKind tokenizer = TokenizerKind::Byte;
  std::string tokenizer_model;     // serialized SentencePiece model; empty for byte
  int64_t vocab_size = 256;
  int64_t eod_token = 0;
  double val_fraction = 0.0;
  uint64_t seed = 0;
  std::string source_digest;       // hex FNV-1a-64 of the raw input bytes, in input order
  int64_t source_files = 0;
};

inline constexpr int64_t kCorpusChunkTokens = 1 << 16;   // chunk length of the token datasets

class CorpusWriter {
 public:
  CorpusWriter(const std::string& output, const CorpusHeader& header);
  ~CorpusWriter();
  CorpusWriter(const CorpusWriter&) = delete;
  CorpusWriter& operator=(const CorpusWriter&) = delete;

  // Appends one document and an EOD token. Input error when a token is outside
  // [0, vocab_size) or equals the EOD token.
  void add_document(Split split, const int32_t* tokens, size_t n);
  void add_document(Split split, const std::vector<int32_t>& tokens) {
    add_document(split, tokens.data(), tokens.size());
  }

  // Finishes the file and moves it to the output path; returns its attributes.
  CorpusInfo commit();

  const std::string& temp_path() const { return tmp_path_; }

 private:
  struct Impl;
  struct SplitState;
  void flush(SplitState& s);
  std::unique_ptr<Impl> impl_;
  std::string output_, tmp_path_;
  CorpusHeader header_;
  bool committed_ = false;
};

}  // namespace plinth::io
