// test_corpus_reads.cpp -- the corpus's direct (pread) reader against the HDF5 reader, its
// fallback for storage it cannot read, its independence from the process-wide HDF5 lock (what
// an asynchronous checkpoint shard write holds), and the token-id check at open (the recorded
// max_token_id attribute, or a scan of files without it).
// Token datasets of every storage kind are written with the HDF5 C API into a temp directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/rng.h"
#include "io/corpus.h"
#include "io/corpus_writer.h"
#include "io/h5.h"
#include "io/h5_internal.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;
using test::TempDir;

enum class Storage { Contiguous, Chunked, Shuffled, Compact };

// A corpus-shaped file whose /train/tokens has the given file type and storage (val is empty).
struct RawCorpus {
  std::vector<uint32_t> train;
  hid_t file_type = H5T_STD_U16LE;
  Storage storage = Storage::Contiguous;
  int64_t vocab = 256;
  std::optional<int64_t> max_token_id;   // the attribute, when set
};

void write_tokens(const h5::Group& root, const RawCorpus& rc) {
  const hsize_t n = rc.train.size(), chunk = 1000, unlimited = H5S_UNLIMITED;
  const bool chunked = rc.storage == Storage::Chunked || rc.storage == Storage::Shuffled;
  hid_t space = H5Screate_simple(1, &n, chunked ? &unlimited : nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunked) H5Pset_chunk(dcpl, 1, &chunk);
  if (rc.storage == Storage::Shuffled) H5Pset_shuffle(dcpl);
  if (rc.storage == Storage::Compact) H5Pset_layout(dcpl, H5D_COMPACT);
  hid_t ds = H5Dcreate2(root.id(), "train/tokens", rc.file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, rc.train.data()), 0);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
}

void write_raw_corpus(const std::string& path, const RawCorpus& rc) {
  h5::File f = h5::File::create(path);
  h5::Group r = f.root();
  r.set_attr("format", "plinth-corpus");
  r.set_attr("format_version", int64_t{1});
  r.set_attr("tokenizer", "byte");
  r.set_attr("vocab_size", rc.vocab);
  r.set_attr("eod_token", int64_t{0});
  r.set_attr("dtype", H5Tget_size(rc.file_type) == 2 ? "uint16" : "uint32");
  r.set_attr("n_docs_train", int64_t{1});
  r.set_attr("n_docs_val", int64_t{0});
  r.set_attr("n_tokens_train", static_cast<int64_t>(rc.train.size()));
  r.set_attr("n_tokens_val", int64_t{0});
  r.set_attr("val_fraction", 0.0);
  r.set_attr("seed", uint64_t{1});
  r.set_attr("source_digest", "0000000000000000");
  r.set_attr("source_digest_algorithm", "fnv1a64");
  r.set_attr("source_files", int64_t{1});
  r.set_attr("created_by", "test");
  if (rc.max_token_id) r.set_attr("max_token_id", *rc.max_token_id);
  r.create_group("train");
  write_tokens(r, rc);
  h5::write_vector(r, "train/doc_offsets", std::vector<int64_t>{0, static_cast<int64_t>(rc.train.size())});
  if (H5Tget_size(rc.file_type) == 2) h5::write_vector(r, "val/tokens", std::vector<uint16_t>{});
  else h5::write_vector(r, "val/tokens", std::vector<uint32_t>{});
  h5::write_vector(r, "val/doc_offsets", std::vector<int64_t>{0});
  h5::write_vector(r, "tokenizer/model", std::vector<uint8_t>{});
  f.close();
}

// n tokens in [1, vocab), pseudo-random, ending with EOD (0).
std::vector<uint32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<uint32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    t[static_cast<size_t>(i)] = 1 + static_cast<uint32_t>(uniform_at(seed, static_cast<uint64_t>(i)) * (vocab - 1));
  t.back() = 0;
  return t;
}

// Windows that start and end inside, at and across chunk boundaries, and the whole split.
std::vector<std::pair<int64_t, int64_t>> windows(int64_t n) {
  std::vector<std::pair<int64_t, int64_t>> w = {{0, n}, {0, 1}, {n - 1, 1}, {n - 65, 65}, {0, 0}};
  for (int64_t boundary : {int64_t{1000}, int64_t{65536}, int64_t{131072}})
    if (boundary + 10 < n) w.push_back({boundary - 7, 17}), w.push_back({boundary, 1});
  for (uint64_t k = 0; k < 40; ++k) {
    const int64_t start = static_cast<int64_t>(uniform_at(99, k) * static_cast<double>(n - 1));
    w.push_back({start, std::min<int64_t>(n - start, 1 + static_cast<int64_t>(uniform_at(98, k) * 5000))});
  }
  return w;
}

void expect_same_windows(const Corpus& a, const Corpus& b, Split split) {
  for (auto [start, count] : windows(a.n_tokens(split)))
    ASSERT_EQ(a.read(split, start, count), b.read(split, start, count)) << "window at " << start << " of " << count;
}

CorpusHeader header(int64_t vocab) {
  CorpusHeader h;
  h.vocab_size = vocab;
  h.tokenizer = vocab == 256 ? TokenizerKind::Byte : TokenizerKind::SentencePiece;
  h.eod_token = vocab == 256 ? 0 : 1;
  h.source_digest = "0123456789abcdef";
  return h;
}

// A corpus from CorpusWriter (chunked token datasets, as `plinth prepare` writes them): documents
// of 2999 tokens plus EOD, every fourth one in val.
void write_with_writer(const std::string& path, int64_t vocab, int64_t n_tokens) {
  const CorpusHeader h = header(vocab);
  CorpusWriter w(path, h);
  std::vector<int32_t> doc;
  int64_t n_docs = 0;
  for (uint32_t v : random_tokens(n_tokens, vocab, 5)) {
    doc.push_back(static_cast<int64_t>(v) == h.eod_token ? 2 : static_cast<int32_t>(v));
    if (doc.size() < 2999) continue;
    w.add_document(n_docs++ % 4 == 3 ? Split::Val : Split::Train, doc);
    doc.clear();
  }
  w.commit();
}

TEST(CorpusReads, DirectReaderEqualsHdf5ReaderOnWriterCorpora) {
  TempDir dir;
  for (int64_t vocab : {int64_t{256}, int64_t{70000}}) {   // uint16 and uint32 files
    const std::string path = dir.file("w" + std::to_string(vocab) + ".h5");
    write_with_writer(path, vocab, 300000);
    Corpus direct = Corpus::open(path), library = Corpus::open(path, {.reads = CorpusReads::Hdf5});
    for (Split s : {Split::Train, Split::Val}) {
      EXPECT_EQ(direct.reader(s), TokenReader::Direct) << path;
      EXPECT_EQ(library.reader(s), TokenReader::Hdf5);
      expect_same_windows(direct, library, s);
    }
  }
}

TEST(CorpusReads, DirectReaderHandlesContiguousChunkedAndBigEndianData) {
  TempDir dir;
  struct Case { const char* name; hid_t type; Storage storage; int64_t vocab; };
  const Case cases[] = {{"contiguous_u16le", H5T_STD_U16LE, Storage::Contiguous, 256},
                        {"chunked_u16be", H5T_STD_U16BE, Storage::Chunked, 256},
                        {"contiguous_u32be", H5T_STD_U32BE, Storage::Contiguous, 70000},
                        {"chunked_u32le", H5T_STD_U32LE, Storage::Chunked, 70000}};
  for (const Case& c : cases) {
    RawCorpus rc{random_tokens(140000, c.vocab, 3), c.type, c.storage, c.vocab, std::nullopt};
    write_raw_corpus(dir.file(std::string(c.name) + ".h5"), rc);
    Corpus direct = Corpus::open(dir.file(std::string(c.name) + ".h5"));
    Corpus library = Corpus::open(dir.file(std::string(c.name) + ".h5"), {.reads = CorpusReads::Hdf5});
    EXPECT_EQ(direct.reader(Split::Train), TokenReader::Direct) << c.name;
    expect_same_windows(direct, library, Split::Train);
    const std::vector<int32_t> head = direct.read(Split::Train, 0, 3);
    EXPECT_EQ(head, (std::vector<int32_t>{static_cast<int32_t>(rc.train[0]), static_cast<int32_t>(rc.train[1]),
                                          static_cast<int32_t>(rc.train[2])})) << c.name;
  }
}

TEST(CorpusReads, FilteredAndCompactDataFallBackToHdf5) {
  TempDir dir;
  for (Storage storage : {Storage::Shuffled, Storage::Compact}) {
    const int64_t n = storage == Storage::Compact ? 1000 : 50000;   // compact data lives in the header (< 64 KiB)
    RawCorpus rc{random_tokens(n, 256, 4), H5T_STD_U16LE, storage, 256, std::nullopt};
    write_raw_corpus(dir.file("f.h5"), rc);
    Corpus c = Corpus::open(dir.file("f.h5"));
    EXPECT_EQ(c.reader(Split::Train), TokenReader::Hdf5);
    EXPECT_EQ(c.read(Split::Train, n - 3, 3), (std::vector<int32_t>{static_cast<int32_t>(rc.train[n - 3]),
                                                                     static_cast<int32_t>(rc.train[n - 2]), 0}));
    EXPECT_EQ(c.info().max_token_id, int64_t{*std::max_element(rc.train.begin(), rc.train.end())});   // via HDF5
  }
}

// Holds the HDF5 library lock on another thread (as an asynchronous checkpoint shard write does)
// until the main thread is done or `hold` has passed; tells whether it let go before `done`.
class LockHolder {
 public:
  explicit LockHolder(std::chrono::milliseconds hold) : thread_([this, hold] { run(hold); }) {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return held_; });
  }
  ~LockHolder() {
    finish();
    thread_.join();
  }
  void finish() {
    std::lock_guard<std::mutex> l(m_);
    done_ = true;
    cv_.notify_all();
  }
  bool released_before_done() {
    std::lock_guard<std::mutex> l(m_);
    return released_early_;
  }

 private:
  void run(std::chrono::milliseconds hold) {
    const h5::internal::ApiLock api_lock(h5::internal::api_mutex());
    std::unique_lock<std::mutex> l(m_);
    held_ = true;
    cv_.notify_all();
    released_early_ = !cv_.wait_for(l, hold, [&] { return done_; });
  }
  std::mutex m_;
  std::condition_variable cv_;
  bool held_ = false, done_ = false, released_early_ = false;
  std::thread thread_;
};

TEST(CorpusReads, WindowReadsDoNotWaitForTheHdf5Lock) {
  TempDir dir;
  write_with_writer(dir.file("c.h5"), 256, 200000);
  Corpus direct = Corpus::open(dir.file("c.h5"));
  Corpus library = Corpus::open(dir.file("c.h5"), {.reads = CorpusReads::Hdf5});
  const std::vector<int32_t> expected = library.read(Split::Train, 70000, 4097);
  const std::vector<int32_t> library_val = library.read(Split::Val, 0, 100);
  ASSERT_EQ(direct.reader(Split::Train), TokenReader::Direct);
  {
    // The lock is held for up to 20 s; the direct reads must complete while it is still held.
    LockHolder holder(std::chrono::seconds(20));
    for (int k = 0; k < 100; ++k) ASSERT_EQ(direct.read(Split::Train, 70000, 4097), expected);
    EXPECT_EQ(direct.read(Split::Val, 0, 100), library_val);
    EXPECT_FALSE(holder.released_before_done()) << "the direct reads waited for the HDF5 lock";
  }
  {
    // Control: the same window through HDF5 waits until the holder gives up the lock (0.3 s).
    LockHolder holder(std::chrono::milliseconds(300));
    EXPECT_EQ(library.read(Split::Train, 70000, 4097), expected);
    EXPECT_TRUE(holder.released_before_done());
  }
}

TEST(CorpusTokenCheck, WriterRecordsMaxTokenId) {
  TempDir dir;
  {
    CorpusWriter w(dir.file("c.h5"), header(256));
    w.add_document(Split::Train, {5, 200, 7});
    w.add_document(Split::Val, {250});
    EXPECT_EQ(w.commit().max_token_id, 250);
  }
  EXPECT_EQ(h5::File::open(dir.file("c.h5"), h5::FileMode::ReadOnly).root().attr_int("max_token_id"), 250);
  EXPECT_EQ(Corpus::open(dir.file("c.h5")).info().max_token_id, 250);
  {
    CorpusWriter w(dir.file("empty.h5"), header(256));
    EXPECT_EQ(w.commit().max_token_id, -1);
  }
  EXPECT_EQ(Corpus::open(dir.file("empty.h5")).info().max_token_id, -1);
}

TEST(CorpusTokenCheck, OutOfRangeTokenFarFromTheStartIsRefusedAtOpen) {
  TempDir dir;
  // 3 M tokens without a max_token_id attribute (an older file): one id 300 >= vocab 256 at 2.5 M
  RawCorpus rc{random_tokens(3000000, 256, 6), H5T_STD_U16LE, Storage::Chunked, 256, std::nullopt};
  rc.train[2500000] = 300;
  write_raw_corpus(dir.file("bad.h5"), rc);
  expect_error([&] { Corpus::open(dir.file("bad.h5")); }, ErrorKind::Input,
               {"bad.h5", "token id 300", "train token 2500000", "vocab_size 256", "no max_token_id"});
  // the attribute-only check opens it; the window holding the token still refuses it
  Corpus c = Corpus::open(dir.file("bad.h5"), {.check = TokenCheck::Recorded});
  EXPECT_FALSE(c.info().max_token_id.has_value());
  EXPECT_EQ(c.read(Split::Train, 0, 10).size(), 10u);
  expect_error([&] { c.read(Split::Train, 2499990, 20); }, ErrorKind::Input, {"bad.h5", "is 300", "vocab_size 256"});

  // a recorded max_token_id outside the vocabulary is refused at once, under either check
  RawCorpus recorded{random_tokens(1000, 256, 7), H5T_STD_U16LE, Storage::Contiguous, 256, 300};
  write_raw_corpus(dir.file("recorded.h5"), recorded);
  for (TokenCheck check : {TokenCheck::Full, TokenCheck::Recorded})
    expect_error([&] { Corpus::open(dir.file("recorded.h5"), {.check = check}); }, ErrorKind::Input,
                 {"recorded.h5", "token id 300", "max_token_id attribute", "vocab_size 256"});

  // the same file without the bad token opens, and the scan reports its largest id
  rc.train[2500000] = 255;
  write_raw_corpus(dir.file("good.h5"), rc);
  EXPECT_EQ(Corpus::open(dir.file("good.h5")).info().max_token_id, 255);
}

}  // namespace
}  // namespace plinth::io
