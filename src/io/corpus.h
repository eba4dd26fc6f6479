// corpus.h -- read access to a tokenized corpus file (plinth-corpus, format_version 1).
// One HDF5 file holds the train and val token streams (uint16 or uint32), per-document start
// offsets and the tokenizer that produced them; docs/formats.md gives the exact schema.
// Corpus::open validates the schema and every token id (against the recorded max_token_id,
// or by one scan of files that lack it) and throws plinth::Error(Input) naming the file.
// Window reads never load the corpus whole: where the token data are plain bytes in the file
// (contiguous, or chunked without filters: every file plinth writes) they are pread(2) from
// the file directly, without the HDF5 library or its process-wide lock, so a checkpoint shard
// written on another thread cannot stall them; otherwise they are HDF5 hyperslab reads.
// Not thread-safe: give each thread its own Corpus.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/tokenizer.h"

namespace plinth::io {

enum class Split { Train, Val };
const char* split_name(Split split);   // "train" | "val"

inline constexpr const char* kCorpusFormat = "plinth-corpus";
inline constexpr int64_t kCorpusFormatVersion = 1;

// The root attributes of a corpus file.
struct CorpusInfo {
  std::string format = kCorpusFormat;
  int64_t format_version = kCorpusFormatVersion;
  TokenizerKind tokenizer = TokenizerKind::Byte;
  int64_t vocab_size = 0;
  int64_t eod_token = 0;
  std::string dtype;                 // "uint16" | "uint32"
  int64_t n_docs_train = 0, n_docs_val = 0;
  int64_t n_tokens_train = 0, n_tokens_val = 0;
  double val_fraction = 0.0;
  uint64_t seed = 0;
  std::string source_digest;         // 16 hex digits
  std::string source_digest_algorithm = "fnv1a64";
  int64_t source_files = 0;
  std::string created_by = "plinth";
  // The largest token id in both splits (-1 when both are empty): the optional max_token_id
  // attribute, or what the open-time scan found; nullopt when neither is known.
  std::optional<int64_t> max_token_id;

  int64_t n_docs(Split s) const { return s == Split::Train ? n_docs_train : n_docs_val; }
  int64_t n_tokens(Split s) const { return s == Split::Train ? n_tokens_train : n_tokens_val; }
};

// "uint16" when every token id fits (vocab_size <= 65536), else "uint32".
std::string corpus_dtype_for_vocab(int64_t vocab_size);

// How window reads reach the token data. Auto: pread(2) where the storage allows (see above),
// HDF5 otherwise; Hdf5: always through the library (the reference path, for tests).
enum class CorpusReads { Auto, Hdf5 };
enum class TokenReader { Direct, Hdf5 };   // what a split ended up with

// Token-id check at open. Full: the max_token_id attribute when present, else a scan of every
// token (100 M tokens: about 0.1 s from the page cache, 0.2-0.5 s from disk). Recorded: the
// attribute only, a file without it is checked window by window (for the ranks whose
// coordinator made the full check).
enum class TokenCheck { Full, Recorded };

struct CorpusOpenOptions {
  CorpusReads reads = CorpusReads::Auto;
  TokenCheck check = TokenCheck::Full;
};

class Corpus {
 public:
  static Corpus open(const std::string& path, const CorpusOpenOptions& options = {});
  Corpus(Corpus&&) noexcept;
  Corpus& operator=(Corpus&&) noexcept;
  ~Corpus();

  const CorpusInfo& info() const;
  const std::string& path() const;
  int64_t n_tokens(Split split) const;
  TokenReader reader(Split split) const;

  // Tokens [start, start + count) of the split, converted to int32. Input error when the window
  // leaves the split or holds a token >= vocab_size. On the direct reader no HDF5 call is made.
  void read(Split split, int64_t start, int64_t count, int32_t* out) const;
  std::vector<int32_t> read(Split split, int64_t start, int64_t count) const;

  // n_docs + 1 entries: document i is tokens [off[i], off[i+1]), its last token is EOD.
  std::vector<int64_t> doc_offsets(Split split) const;

  std::string tokenizer_model() const;               // bytes of /tokenizer/model
  std::unique_ptr<Tokenizer> load_tokenizer() const;

 private:
  struct Impl;
  explicit Corpus(std::unique_ptr<Impl> impl);
  void read_unchecked(Split split, int64_t start, int64_t count, int32_t* out) const;
  void check_token_ids(TokenCheck check);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::io
