// prepare.cpp -- corpus_prepare: count pass (documents, digest), optional tokenizer-training
// pass over the train documents, then the encoding pass into a CorpusWriter.
// Each pass reads one input file at a time, so memory holds one file (plus, for SentencePiece
// training, the train documents, which the trainer needs in memory anyway).
#include "io/prepare.h"

#include <chrono>

#include "core/error.h"
#include "core/rng.h"
#include "io/corpus_writer.h"
#include "io/digest.h"
#include "io/fs_util.h"

namespace plinth::io {

SplitRule::SplitRule(int64_t n_docs, double val_fraction, uint64_t seed)
    : val_fraction_(val_fraction), seed_(seed) {
  if (n_docs < 1) return;
  int64_t n_val = 0, arg_min = 0, arg_max = 0;
  double u_min = 2.0, u_max = -1.0;
  for (int64_t i = 0; i < n_docs; ++i) {
    double u = uniform_at(seed, static_cast<uint64_t>(i));
    if (u < val_fraction) ++n_val;
    if (u < u_min) u_min = u, arg_min = i;
    if (u > u_max) u_max = u, arg_max = i;
  }
  if (val_fraction > 0 && n_docs >= 2 && n_val == 0) forced_val_ = arg_min;
  if (n_val == n_docs) forced_train_ = arg_max;
}

Split SplitRule::operator()(int64_t i) const {
  if (i == forced_val_) return Split::Val;
  if (i == forced_train_) return Split::Train;
  return uniform_at(seed_, static_cast<uint64_t>(i)) < val_fraction_ ? Split::Val : Split::Train;
}

namespace {

void validate(const PrepareOptions& o) {
  PLINTH_CHECK(!o.inputs.empty(), Config, "corpus prepare: no inputs given");
  PLINTH_CHECK(!o.output.empty(), Config, "corpus prepare: no output path given");
  PLINTH_CHECK(o.val_fraction >= 0.0 && o.val_fraction < 1.0, Config, "corpus prepare: val_fraction ",
               o.val_fraction, " outside [0, 1)");
  if (o.tokenizer == TokenizerKind::SentencePiece)
    PLINTH_CHECK(o.vocab_size >= kSentencePieceMinVocab && o.vocab_size <= kSentencePieceMaxVocab, Config,
                 "corpus prepare: sentencepiece vocab_size ", o.vocab_size, " outside [",
                 kSentencePieceMinVocab, ", ", kSentencePieceMaxVocab, "]");
}

// Calls fn(doc_index, text) for every document of every file, in order.
template <typename Fn>
void for_each_document(const std::vector<std::string>& files, const PrepareOptions& o, Fnv1a64* digest, Fn&& fn) {
  int64_t index = 0;
  for (const std::string& path : files) {
    std::string contents = read_file(path);
    if (digest) digest->update(contents);
    split_documents(path, contents, o.format, o.separator, [&](std::string_view doc) { fn(index++, doc); });
  }
}

}  // namespace

PrepareReport corpus_prepare(const PrepareOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  validate(o);
  std::vector<std::string> files = expand_inputs(o.inputs, o.exclude_suffixes);

  // Pass 1: count documents and digest the raw bytes.
  Fnv1a64 digest;
  int64_t n_docs = 0;
  for_each_document(files, o, &digest, [&](int64_t, std::string_view) { ++n_docs; });
  PLINTH_CHECK(n_docs > 0, Input, "corpus prepare: the ", files.size(), " input file(s) hold no documents");
  SplitRule rule(n_docs, o.val_fraction, o.seed);

  // Pass 2 (SentencePiece only): train the tokenizer on the train documents.
  std::unique_ptr<Tokenizer> tok;
  if (o.tokenizer == TokenizerKind::SentencePiece) {
    std::vector<std::string> train_docs;
    for_each_document(files, o, nullptr, [&](int64_t i, std::string_view doc) {
      if (rule(i) == Split::Train) train_docs.emplace_back(doc);
    });
    SentencePieceTrainOptions sp;
    sp.vocab_size = o.vocab_size;
    tok = SentencePieceTokenizer::train(train_docs, sp);
  } else {
    tok = std::make_unique<ByteTokenizer>();
  }

  // Pass 3: tokenize and write.
  CorpusHeader header;
  header.tokenizer = tok->kind();
  header.tokenizer_model = tok->model_bytes();
  header.vocab_size = tok->vocab_size();
  header.eod_token = tok->eod_token();
  header.val_fraction = o.val_fraction;
  header.seed = o.seed;
  header.source_digest = hex64(digest.value());
  header.source_files = static_cast<int64_t>(files.size());
  CorpusWriter writer(o.output, header);
  Fnv1a64 check;
  for_each_document(files, o, &check, [&](int64_t i, std::string_view doc) {
    writer.add_document(rule(i), tok->encode(doc));
  });
  PLINTH_CHECK(check.value() == digest.value(), Input,
               "corpus prepare: the input files changed while they were being read");
  CorpusInfo info = writer.commit();

  PrepareReport r;
  r.n_files = static_cast<int64_t>(files.size());
  r.n_docs_train = info.n_docs_train;
  r.n_docs_val = info.n_docs_val;
  r.n_tokens_train = info.n_tokens_train;
  r.n_tokens_val = info.n_tokens_val;
  r.vocab_size = info.vocab_size;
  r.source_digest = info.source_digest;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace plinth::io
