// prepare.h -- corpus preparation: raw text files -> tokenized plinth-corpus file.
// Expands the inputs, splits them into documents, assigns each document to train or val
// deterministically from (seed, document index), trains a SentencePiece BPE tokenizer on the
// train documents when asked, tokenizes everything and writes the corpus atomically.
// The raw input bytes are digested (FNV-1a-64, in input order) into the corpus' source_digest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/corpus.h"
#include "io/documents.h"
#include "io/tokenizer.h"

namespace plinth::io {

struct PrepareOptions {
  std::vector<std::string> inputs;             // files, directories or glob(3) patterns
  InputFormat format = InputFormat::Auto;
  std::string separator;                       // text: a line equal to this ends a document ("%")
  std::vector<std::string> exclude_suffixes;   // e.g. {".dat", ".u8"} for /usr/share/games/fortunes
  TokenizerKind tokenizer = TokenizerKind::Byte;
  int vocab_size = 8000;                       // sentencepiece only (requested size)
  double val_fraction = 0.01;                  // in [0, 1)
  uint64_t seed = 1234;
  std::string output;                          // corpus file to write (replaced atomically)
};

struct PrepareReport {
  int64_t n_files = 0;
  int64_t n_docs_train = 0, n_docs_val = 0;
  int64_t n_tokens_train = 0, n_tokens_val = 0;   // EOD tokens included
  int64_t vocab_size = 0;                         // actual (SentencePiece may give fewer than asked)
  double seconds = 0.0;
  std::string source_digest;
};

PrepareReport corpus_prepare(const PrepareOptions& options);

// The train/val rule. Document i (0-based over all non-blank documents, in input order) goes to
// val when uniform_at(seed, i) < val_fraction. When val_fraction > 0, n_docs >= 2 and no document
// is val, the one with the smallest uniform_at goes to val; when n_docs >= 1 and none is train,
// the one with the largest goes to train.
class SplitRule {
 public:
  SplitRule(int64_t n_docs, double val_fraction, uint64_t seed);
  Split operator()(int64_t doc_index) const;

 private:
  double val_fraction_;
  uint64_t seed_;
  int64_t forced_val_ = -1, forced_train_ = -1;
};

}  // namespace plinth::io
