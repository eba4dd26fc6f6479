// corpus.cpp -- Corpus::open (schema and token-id validation) and windowed token reads.
// Attributes, dataset presence, dtypes and sizes are checked on open; token ids against the
// max_token_id attribute, or by one scan when a file lacks it; and again inside each window.
// Window reads go through a dup of HDF5's own file descriptor with pread(2) when the token
// data are plain bytes in the file (h5::raw_layout): no HDF5 call, so no wait on the h5 lock.
#include "io/corpus.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "io/fs_util.h"
#include "io/h5.h"

namespace plinth::io {

const char* split_name(Split split) { return split == Split::Train ? "train" : "val"; }

std::string corpus_dtype_for_vocab(int64_t vocab_size) {
  return vocab_size <= 65536 ? "uint16" : "uint32";
}

namespace {

constexpr int64_t kScanBlockTokens = int64_t{1} << 20;   // tokens per read of the open-time scan
constexpr int64_t kProbeTokens = 256;                   // head and tail compared at open

// Owns a file descriptor.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// The direct reader's state: a dup of HDF5's descriptor and, per split it serves, the layout.
struct DirectReads {
  FileDescriptor fd;
  std::optional<h5::RawLayout> raw[2];   // indexed by Split
};

}  // namespace

struct Corpus::Impl {
  std::string path;
  CorpusInfo info;
  h5::File file;
  h5::Group root;
  h5::Dataset tokens[2];                  // indexed by Split
  DirectReads direct;

  static int at(Split s) { return s == Split::Train ? 0 : 1; }
  const h5::Dataset& ds(Split s) const { return tokens[at(s)]; }
  const std::optional<h5::RawLayout>& raw(Split s) const { return direct.raw[at(s)]; }
};

namespace {

// Reads exactly n bytes at `offset`; a short file is an Input error, a failing read an Io error.
void pread_fully(int fd, unsigned char* dst, int64_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, dst, static_cast<size_t>(n), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    PLINTH_CHECK(got >= 0, Io, "corpus '", path, "': cannot read ", n, " bytes at offset ", offset, ": ",
                 std::strerror(errno));
    PLINTH_CHECK(got > 0, Input, "corpus '", path, "': the file ends before byte ", offset + n,
                 " of its token data (truncated?)");
    dst += got, offset += got, n -= got;
  }
}

template <typename U>
U byte_swapped(U v) {
  U r = 0;
  for (size_t b = 0; b < sizeof(U); ++b) r = static_cast<U>((r << 8) | ((v >> (8 * b)) & 0xff));
  return r;
}

// Stored unsigned integers -> int32 as HDF5 converts them (values above INT32_MAX clip to it).
template <typename U>
void convert_tokens(const unsigned char* src, int64_t count, h5::ByteOrder order, int32_t* out) {
  const bool swap = (order == h5::ByteOrder::Big) != (std::endian::native == std::endian::big);
  for (int64_t i = 0; i < count; ++i) {
    U v;
    std::memcpy(&v, src + i * static_cast<int64_t>(sizeof(U)), sizeof(U));
    if (swap) v = byte_swapped(v);
    out[i] = static_cast<uint64_t>(v) > INT32_MAX ? INT32_MAX : static_cast<int32_t>(v);
  }
}

// Elements [start, start + count) of a split from its raw segments, with pread(2).
void direct_read(int fd, const h5::RawLayout& layout, int64_t start, int64_t count, int32_t* out,
                 const std::string& path) {
  const int64_t es = layout.element_size;
  std::vector<unsigned char> bytes(static_cast<size_t>(count * es));
  auto seg = std::upper_bound(layout.segments.begin(), layout.segments.end(), start,
                              [](int64_t v, const h5::RawSegment& s) { return v < s.first; }) - 1;
  for (int64_t done = 0; done < count; ++seg) {
    const int64_t in_seg = start + done - seg->first, n = std::min(count - done, seg->count - in_seg);
    pread_fully(fd, bytes.data() + done * es, n * es, seg->offset + in_seg * es, path);
    done += n;
  }
  if (es == 2) convert_tokens<uint16_t>(bytes.data(), count, layout.order, out);
  else convert_tokens<uint32_t>(bytes.data(), count, layout.order, out);
}

// Whether the direct reader returns what HDF5 returns for the head and tail of the split (a
// guard against any surprise in the storage description; on a mismatch HDF5 keeps serving).
bool direct_matches_hdf5(int fd, const h5::RawLayout& layout, const h5::Dataset& ds, int64_t n,
                         const std::string& path) {
  for (int64_t start : {int64_t{0}, std::max<int64_t>(0, n - kProbeTokens)}) {
    const int64_t count = std::min(kProbeTokens, n - start);
    if (count <= 0) continue;
    std::vector<int32_t> direct(static_cast<size_t>(count)), library(direct.size());
    direct_read(fd, layout, start, count, direct.data(), path);
    ds.read(h5::Dtype::I32, {start}, {count}, library.data());
    if (direct != library) return false;
  }
  return true;
}

// Direct reads for every split whose storage allows them (see the file comment).
DirectReads setup_direct_reads(const h5::Group& root, const h5::Dataset (&tokens)[2], const CorpusInfo& info,
                               const std::string& path) {
  DirectReads out;
  // (open_split has checked the element type: uint16 or uint32)
  std::string why_not[2], fd_why_not;
  std::optional<h5::RawLayout> layouts[2] = {h5::raw_layout(tokens[0], &why_not[0]),
                                             h5::raw_layout(tokens[1], &why_not[1])};
  for (int i : {0, 1})
    if (!layouts[i]) log_info(str_cat("corpus ", path, ": ", tokens[i].path(), " is read through HDF5 (", why_not[i], ")"));
  if (!layouts[0] && !layouts[1]) return out;
  const int fd = h5::raw_file_descriptor(root, &fd_why_not);
  if (fd < 0) {
    log_info(str_cat("corpus ", path, ": read through HDF5 (", fd_why_not, ")"));
    return out;
  }
  out.fd = FileDescriptor(fd);
  for (int i : {0, 1}) {
    const int64_t n = i == 0 ? info.n_tokens_train : info.n_tokens_val;
    if (layouts[i] && direct_matches_hdf5(fd, *layouts[i], tokens[i], n, path)) out.raw[i] = std::move(layouts[i]);
  }
  return out;
}

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

Corpus Corpus::open(const std::string& path, const CorpusOpenOptions& options) {
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
  if (options.reads == CorpusReads::Auto)
    impl->direct = setup_direct_reads(impl->root, impl->tokens, impl->info, path);
  Corpus corpus(std::move(impl));
  corpus.check_token_ids(options.check);
  return corpus;
}

const CorpusInfo& Corpus::info() const { return impl_->info; }
const std::string& Corpus::path() const { return impl_->path; }
int64_t Corpus::n_tokens(Split split) const { return impl_->info.n_tokens(split); }
TokenReader Corpus::reader(Split split) const {
  return impl_->raw(split) ? TokenReader::Direct : TokenReader::Hdf5;
}

void Corpus::read_unchecked(Split split, int64_t start, int64_t count, int32_t* out) const {
  if (const auto& raw = impl_->raw(split)) direct_read(impl_->direct.fd.get(), *raw, start, count, out, impl_->path);
  else impl_->ds(split).read(h5::Dtype::I32, {start}, {count}, out);
}

// The recorded max_token_id when present; otherwise (TokenCheck::Full) one pass over every
// token, in blocks, through the split's reader; the first id outside the vocabulary is named.
void Corpus::check_token_ids(TokenCheck check) {
  CorpusInfo& info = impl_->info;
  const int64_t vocab = info.vocab_size;
  if (impl_->root.has_attr("max_token_id")) {
    const int64_t max_id = impl_->root.attr_int("max_token_id");
    PLINTH_CHECK(max_id >= -1 && max_id < vocab, Input, "corpus '", impl_->path, "' holds token id ", max_id,
                 " (its max_token_id attribute), outside [0, vocab_size ", vocab, ")");
    info.max_token_id = max_id;
    return;
  }
  if (check == TokenCheck::Recorded) return;
  int64_t max_id = -1;
  std::vector<int32_t> block(static_cast<size_t>(std::min(kScanBlockTokens, std::max(info.n_tokens_train,
                                                                                         info.n_tokens_val))));
  for (Split s : {Split::Train, Split::Val}) {
    for (int64_t start = 0; start < n_tokens(s); start += kScanBlockTokens) {
      const int64_t count = std::min(kScanBlockTokens, n_tokens(s) - start);
      read_unchecked(s, start, count, block.data());
      const auto end = block.begin() + count;
      const int32_t block_max = *std::max_element(block.begin(), end);   // ids are >= 0 (unsigned in the file)
      max_id = std::max<int64_t>(max_id, block_max);
      if (block_max < vocab) continue;
      const int64_t i = std::find_if(block.begin(), end, [&](int32_t t) { return t >= vocab; }) - block.begin();
      PLINTH_THROW(Input, "corpus '", impl_->path, "' holds token id ", block[static_cast<size_t>(i)], " (",
                   split_name(s), " token ", start + i, "), outside [0, vocab_size ", vocab,
                   ") (found by the open-time scan; the file has no max_token_id attribute)");
    }
  }
  info.max_token_id = max_id;
}

void Corpus::read(Split split, int64_t start, int64_t count, int32_t* out) const {
  int64_t n = n_tokens(split);
  PLINTH_CHECK(start >= 0 && count >= 0 && start <= n && count <= n - start, Input, "corpus '",
               impl_->path, "': window [", start, ", ", start + count, ") outside the ", split_name(split),
               " split of ", n, " tokens");
  if (count == 0) return;
  read_unchecked(split, start, count, out);
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
