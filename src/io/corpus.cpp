// corpus.cpp -- Corpus::open (schema validation) and windowed token reads.
// Validation is cheap and complete for the schema: attributes, dataset presence, dtypes and
// sizes are checked on open; token values are range-checked only inside each window read.
#include "io/corpus.h"

#include "core/error.h"
#include "io/fs_util.h"
#include "io/h5.h"

namespace plinth::io {

const char* split_name(Split split) { return split == Split::Train ? "train" : "val"; }

std::string corpus_dtype_for_vocab(int64_t vocab_size) {
  return vocab_size <= 65536 ? "uint16" : "uint32";
}

struct Corpus::Impl {
  std::string path;
  CorpusInfo info;
  h5::File file;
  h5::Group root;
  h5::Dataset tokens[2];   // indexed by Split

  const h5::Dataset& ds(Split s) const { return tokens[s == Split::Train ? 0 : 1]; }
};

namespace {

CorpusInfo read_info(const h5::Group& root, const std::string& path) {
  PLINTH_CHECK(root.has_attr("format"), Input, "'", path,
               "' has no 'format' attribute: not a plinth-corpus file");
  CorpusInfo info;
  info.format = root.attr_string("format");
  PLINTH_CHECK(info.format == kCorpusFormat, Input, "'", path, "' has format '", info.format,
               "', expected '", kCorpusFormat, "'");
  PLINTH_CHECK(root.has_attr("format_version"), Input, "'", path, "' has no 'format_version' attribute");
  info.format_version = root.attr_int("format_version");
  PLINTH_CHECK(info.format_version == kCorpusFormatVersion, Input, "'", path,
               "' has plinth-corpus format_version ", info.format_version, "; this build reads version ",
               kCorpusFormatVersion);
  std::string tok = root.attr_string("tokenizer");
  PLINTH_CHECK(tok == "byte" || tok == "sentencepiece", Input, "'", path, "' has unknown tokenizer '",
               tok, "'");
  info.tokenizer = tokenizer_kind_parse(tok);
  info.vocab_size = root.attr_int("vocab_size");
  info.eod_token = root.attr_int("eod_token");
  info.dtype = root.attr_string("dtype");
  info.n_docs_train = root.attr_int("n_docs_train");
  info.n_docs_val = root.attr_int("n_docs_val");
  info.n_tokens_train = root.attr_int("n_tokens_train");
  info.n_tokens_val = root.attr_int("n_tokens_val");
  info.val_fraction = root.attr_double("val_fraction");
  info.seed = root.attr_uint("seed");
  info.source_digest = root.attr_string("source_digest");
  info.source_digest_algorithm = root.attr_string("source_digest_algorithm");
  info.source_files = root.attr_int("source_files");
  info.created_by = root.attr_string("created_by");

  PLINTH_CHECK(info.vocab_size > 0 && info.vocab_size <= (int64_t{1} << 32), Input, "'", path,
               "': vocab_size ", info.vocab_size, " out of range");
  PLINTH_CHECK(info.eod_token >= 0 && info.eod_token < info.vocab_size, Input, "'", path,
               "': eod_token ", info.eod_token, " outside [0, vocab_size ", info.vocab_size, ")");
  PLINTH_CHECK(info.dtype == "uint16" || info.dtype == "uint32", Input, "'", path, "': dtype attribute '",
               info.dtype, "', expected 'uint16' or 'uint32'");
  PLINTH_CHECK(info.dtype == "uint32" || info.vocab_size <= 65536, Input, "'", path, "': vocab_size ",
               info.vocab_size, " does not fit dtype uint16");
  PLINTH_CHECK(info.n_docs_train >= 0 && info.n_docs_val >= 0 && info.n_tokens_train >= 0 &&
                   info.n_tokens_val >= 0,
               Input, "'", path, "': negative document or token count");
  return info;
}

h5::Dataset open_split(const h5::Group& root, const CorpusInfo& info, Split split) {
  std::string name = std::string(split_name(split)) + "/tokens";
  PLINTH_CHECK(root.has_dataset(name), Input, "'", root.file(), "' has no dataset '/", name, "'");
  h5::Dataset ds = root.open_dataset(name);
  auto dims = ds.dims();
  PLINTH_CHECK(dims.size() == 1, Input, "'", root.file(), "': dataset '/", name, "' has rank ",
               dims.size(), ", expected 1");
  std::string actual = ds.dtype_description();
  PLINTH_CHECK(actual == info.dtype, Input, "'", root.file(), "': dataset '/", name, "' has dtype ",
               actual, ", expected ", info.dtype, " (the dtype attribute)");
  PLINTH_CHECK(dims[0] == info.n_tokens(split), Input, "'", root.file(), "': dataset '/", name, "' holds ",
               dims[0], " tokens but attribute n_tokens_", split_name(split), " says ", info.n_tokens(split));

  std::string off = std::string(split_name(split)) + "/doc_offsets";
  PLINTH_CHECK(root.has_dataset(off), Input, "'", root.file(), "' has no dataset '/", off, "'");
  h5::Dataset od = root.open_dataset(off);
  auto odims = od.dims();
  PLINTH_CHECK(odims.size() == 1 && od.dtype() == h5::Dtype::I64, Input, "'", root.file(),
               "': dataset '/", off, "' must be 1-D int64, found ", od.dtype_description());
  PLINTH_CHECK(odims[0] == info.n_docs(split) + 1, Input, "'", root.file(), "': dataset '/", off, "' has ",
               odims[0], " entries, expected n_docs_", split_name(split), " + 1 = ", info.n_docs(split) + 1);
  return ds;
}

}  // namespace

Corpus::Corpus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Corpus::Corpus(Corpus&&) noexcept = default;
Corpus& Corpus::operator=(Corpus&&) noexcept = default;
Corpus::~Corpus() = default;

Corpus Corpus::open(const std::string& path) {
  PLINTH_CHECK(path_exists(path), Input, "corpus file not found: '", path, "'");
  PLINTH_CHECK(h5::is_hdf5(path), Input, "corpus '", path, "' is not an HDF5 file");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = h5::File::open(path, h5::FileMode::ReadOnly);
  impl->root = impl->file.root();
  impl->info = read_info(impl->root, path);
  impl->tokens[0] = open_split(impl->root, impl->info, Split::Train);
  impl->tokens[1] = open_split(impl->root, impl->info, Split::Val);
  PLINTH_CHECK(impl->root.has_dataset("tokenizer/model"), Input, "'", path,
               "' has no dataset '/tokenizer/model'");
  return Corpus(std::move(impl));
}

const CorpusInfo& Corpus::info() const { return impl_->info; }
const std::string& Corpus::path() const { return impl_->path; }
int64_t Corpus::n_tokens(Split split) const { return impl_->info.n_tokens(split); }

void Corpus::read(Split split, int64_t start, int64_t count, int32_t* out) const {
  int64_t n = n_tokens(split);
  PLINTH_CHECK(start >= 0 && count >= 0 && start <= n && count <= n - start, Input, "corpus '",
               impl_->path, "': window [", start, ", ", start + count, ") outside the ", split_name(split),
               " split of ", n, " tokens");
  if (count == 0) return;
  impl_->ds(split).read(h5::Dtype::I32, {start}, {count}, out);
  const int64_t vocab = impl_->info.vocab_size;
  for (int64_t i = 0; i < count; ++i)
    PLINTH_CHECK(out[i] >= 0 && out[i] < vocab, Input, "corpus '", impl_->path, "': ", split_name(split),
                 " token ", start + i, " is ", out[i], ", outside [0, vocab_size ", vocab, ")");
}

std::vector<int32_t> Corpus::read(Split split, int64_t start, int64_t count) const {
  PLINTH_CHECK(count >= 0, Input, "corpus '", impl_->path, "': negative read count ", count);
  std::vector<int32_t> out(static_cast<size_t>(count));
  read(split, start, count, out.data());
  return out;
}

std::vector<int64_t> Corpus::doc_offsets(Split split) const {
  auto off = h5::read_vector<int64_t>(impl_->root, std::string(split_name(split)) + "/doc_offsets");
  PLINTH_CHECK(!off.empty() && off.front() == 0 && off.back() == n_tokens(split), Input, "corpus '",
               impl_->path, "': /", split_name(split), "/doc_offsets does not span the token stream");
  return off;
}

std::string Corpus::tokenizer_model() const {
  auto bytes = h5::read_vector<uint8_t>(impl_->root, "tokenizer/model");
  return std::string(bytes.begin(), bytes.end());
}

std::unique_ptr<Tokenizer> Corpus::load_tokenizer() const {
  std::unique_ptr<Tokenizer> tok = tokenizer_load(impl_->info.tokenizer, tokenizer_model());
  PLINTH_CHECK(tok->vocab_size() == impl_->info.vocab_size && tok->eod_token() == impl_->info.eod_token,
               Input, "corpus '", impl_->path, "': the stored tokenizer (vocab ", tok->vocab_size(), ", eod ",
               tok->eod_token(), ") disagrees with the attributes (vocab ", impl_->info.vocab_size, ", eod ",
               impl_->info.eod_token, ")");
  return tok;
}

}  // namespace plinth::io
