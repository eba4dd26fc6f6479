// corpus_writer.cpp -- CorpusWriter: buffered appends, attributes, atomic commit.
// Tokens are buffered as uint32 and converted by HDF5 to the file dtype (uint16 when
// vocab_size <= 65536) on each flush; the token datasets grow along their unlimited dim 0.
// The largest token id written is recorded as max_token_id, so readers check ids on open.
#include "io/corpus_writer.h"

#include <unistd.h>

#include <algorithm>

#include "core/error.h"
#include "io/fs_util.h"
#include "io/h5.h"

namespace plinth::io {

namespace {
constexpr size_t kBufferTokens = size_t{1} << 20;
}

struct CorpusWriter::SplitState {
  h5::Dataset tokens;
  std::vector<uint32_t> buffer;
  int64_t written = 0;                 // tokens already in the dataset
  std::vector<int64_t> offsets{0};     // document starts, plus the running end
};

struct CorpusWriter::Impl {
  h5::File file;
  h5::Group root;
  SplitState splits[2];
  int64_t max_token_id = -1;   // over both splits, EOD included
  SplitState& at(Split s) { return splits[s == Split::Train ? 0 : 1]; }
};

CorpusWriter::CorpusWriter(const std::string& output, const CorpusHeader& header)
    : output_(output), header_(header) {
  PLINTH_CHECK(!output.empty(), Config, "corpus output path is empty");
  std::string dir = parent_dir(output);
  PLINTH_CHECK(is_directory(dir), Io, "corpus output directory '", dir, "' does not exist");
  PLINTH_CHECK(!is_directory(output), Io, "corpus output '", output, "' is a directory");
  PLINTH_CHECK(header.vocab_size > 0 && header.vocab_size <= (int64_t{1} << 32), Internal,
               "corpus writer: vocab_size ", header.vocab_size, " out of range");
  PLINTH_CHECK(header.eod_token >= 0 && header.eod_token < header.vocab_size, Internal,
               "corpus writer: eod_token ", header.eod_token, " outside the vocabulary");
  tmp_path_ = output + ".tmp-" + std::to_string(::getpid());

  impl_ = std::make_unique<Impl>();
  impl_->file = h5::File::create(tmp_path_);
  impl_->root = impl_->file.root();
  h5::Dtype dtype = corpus_dtype_for_vocab(header.vocab_size) == "uint16" ? h5::Dtype::U16 : h5::Dtype::U32;
  for (Split s : {Split::Train, Split::Val}) {
    std::string name = std::string(split_name(s)) + "/tokens";
    impl_->at(s).tokens = impl_->root.create_dataset(name, dtype, {0}, h5::Layout::Chunked, kCorpusChunkTokens);
    impl_->at(s).buffer.reserve(kBufferTokens);
  }
}

CorpusWriter::~CorpusWriter() {
  if (committed_) return;
  impl_.reset();   // closes every handle before the file is removed
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void CorpusWriter::flush(SplitState& s) {
  if (s.buffer.empty()) return;
  int64_t n = static_cast<int64_t>(s.buffer.size());
  s.tokens.extend({s.written + n});
  s.tokens.write(h5::Dtype::U32, {s.written}, {n}, s.buffer.data());
  s.written += n;
  s.buffer.clear();
}

void CorpusWriter::add_document(Split split, const int32_t* tokens, size_t n) {
  PLINTH_CHECK(impl_ && !committed_, Internal, "corpus writer for '", output_, "' is already committed");
  SplitState& s = impl_->at(split);
  const int64_t vocab = header_.vocab_size, eod = header_.eod_token;
  int64_t max_id = eod;
  for (size_t i = 0; i < n; ++i) {
    int32_t t = tokens[i];
    PLINTH_CHECK(t >= 0 && t < vocab && t != eod, Input, "corpus '", output_, "': ", split_name(split),
                 " document ", s.offsets.size() - 1, " token ", i, " is ", t,
                 t == eod ? " (the EOD token)" : " (outside the vocabulary)");
    max_id = std::max<int64_t>(max_id, t);
    s.buffer.push_back(static_cast<uint32_t>(t));
    if (s.buffer.size() == kBufferTokens) flush(s);
  }
  impl_->max_token_id = std::max(impl_->max_token_id, max_id);
  s.buffer.push_back(static_cast<uint32_t>(eod));
  if (s.buffer.size() == kBufferTokens) flush(s);
  s.offsets.push_back(s.offsets.back() + static_cast<int64_t>(n) + 1);
}

CorpusInfo CorpusWriter::commit() {
  PLINTH_CHECK(impl_ && !committed_, Internal, "corpus writer for '", output_, "' is already committed");
  CorpusInfo info;
  info.tokenizer = header_.tokenizer;
  info.vocab_size = header_.vocab_size;
  info.eod_token = header_.eod_token;
  info.dtype = corpus_dtype_for_vocab(header_.vocab_size);
  info.val_fraction = header_.val_fraction;
  info.seed = header_.seed;
  info.source_digest = header_.source_digest;
  info.source_files = header_.source_files;
  info.max_token_id = impl_->max_token_id;

  const h5::Group& root = impl_->root;
  for (Split s : {Split::Train, Split::Val}) {
    SplitState& st = impl_->at(s);
    flush(st);
    h5::write_vector(root, std::string(split_name(s)) + "/doc_offsets", st.offsets);
    (s == Split::Train ? info.n_docs_train : info.n_docs_val) = static_cast<int64_t>(st.offsets.size()) - 1;
    (s == Split::Train ? info.n_tokens_train : info.n_tokens_val) = st.written;
  }
  std::vector<uint8_t> model(header_.tokenizer_model.begin(), header_.tokenizer_model.end());
  h5::write_vector(root, "tokenizer/model", model);

  root.set_attr("format", info.format);
  root.set_attr("format_version", info.format_version);
  root.set_attr("tokenizer", tokenizer_kind_name(info.tokenizer));
  root.set_attr("vocab_size", info.vocab_size);
  root.set_attr("eod_token", info.eod_token);
  root.set_attr("dtype", info.dtype);
  root.set_attr("n_docs_train", info.n_docs_train);
  root.set_attr("n_docs_val", info.n_docs_val);
  root.set_attr("n_tokens_train", info.n_tokens_train);
  root.set_attr("n_tokens_val", info.n_tokens_val);
  root.set_attr("val_fraction", info.val_fraction);
  root.set_attr("seed", info.seed);
  root.set_attr("source_digest", info.source_digest);
  root.set_attr("source_digest_algorithm", info.source_digest_algorithm);
  root.set_attr("source_files", info.source_files);
  root.set_attr("created_by", info.created_by);
  root.set_attr("max_token_id", *info.max_token_id);

  for (SplitState& st : impl_->splits) st.tokens = h5::Dataset();
  impl_->root = h5::Group();
  impl_->file.close();
  impl_.reset();
  fsync_file(tmp_path_);
  rename_path(tmp_path_, output_);
  committed_ = true;
  fsync_dir(parent_dir(output_));
  return info;
}

}  // namespace plinth::io
