// data_coordinator.cpp -- corpus checks agreed across ranks, metadata broadcast, window delivery.
#include "train/data_coordinator.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace plinth::train {
namespace {

// Every rank learns whether any rank failed; all throw, the failing ranks with their own
// message and the others with the first failing rank's message. Safe order: every rank calls
// this at the same point with the same group, so the gather and the broadcast match.
void agree_or_throw(comm::Communicator& g, const std::string& local_error) {
  const int32_t failed = local_error.empty() ? 0 : 1;
  std::vector<int32_t> flags(static_cast<size_t>(g.size()), 0);
  g.all_gather(&failed, flags.data(), std::vector<int64_t>(static_cast<size_t>(g.size()), 1), comm::DType::I32);
  int first = -1;
  for (int r = 0; r < g.size(); ++r)
    if (flags[r] && first < 0) first = r;
  if (first < 0) return;
  std::string msg = g.rank() == first ? local_error : std::string();
  int64_t len = static_cast<int64_t>(msg.size());
  g.broadcast(&len, 1, comm::DType::I64, first);
  msg.resize(static_cast<size_t>(len));
  g.broadcast(msg.data(), len, comm::DType::U8, first);
  if (!local_error.empty()) PLINTH_THROW(Input, "rank ", g.rank(), ": ", local_error);
  PLINTH_THROW(Input, "rank ", first, " failed: ", msg);
}

}  // namespace

DataAccess data_access_parse(const std::string& s) {
  if (s == "shared") return DataAccess::Shared;
  if (s == "coordinator") return DataAccess::Coordinator;
  PLINTH_THROW(Config, "data.access: '", s, "' is not shared or coordinator");
}

DataCoordinator::~DataCoordinator() = default;

DataCoordinator::DataCoordinator(const DataConfig& cfg, comm::Communicator& group, int64_t seq_len,
                                 int64_t model_vocab, uint64_t seed)
    : cfg_(cfg), group_(group), T_(seq_len) {
  PLINTH_CHECK(!cfg.corpora.empty(), Config, "data.corpus is not set (path of an HDF5 corpus from `plinth prepare`)");
  const size_t n = cfg.corpora.size();
  if (!cfg.weights.empty()) blend_weights_normalise(cfg.weights, n);   // config errors first, same on every rank
  const bool coordinator = group.rank() == 0;
  const bool reads_files = coordinator || cfg.access == DataAccess::Shared;

  // 1. open (coordinator: also check the corpora against each other and the model)
  std::string error;
  std::vector<int64_t> meta(3 * n + 1, 0);   // vocab, then (train, val) tokens per corpus
  try {
    // token ids: the coordinator checks every file (scanning those without max_token_id);
    // the others trust the attribute, as a failure on the coordinator stops every rank below
    const io::CorpusOpenOptions options{.check = coordinator ? io::TokenCheck::Full : io::TokenCheck::Recorded};
    if (reads_files)
      for (const std::string& path : cfg.corpora) files_.push_back(io::Corpus::open(path, options));
    if (coordinator) {
      const int64_t vocab = files_[0].info().vocab_size;
      for (size_t c = 0; c < n; ++c) {
        const auto& info = files_[c].info();
        PLINTH_CHECK(info.vocab_size == vocab, Input, "corpora ", cfg.corpora[0], " (vocab_size ", vocab, ") and ",
                     cfg.corpora[c], " (vocab_size ", info.vocab_size, ") have different vocabularies");
        PLINTH_CHECK(info.tokenizer == files_[0].info().tokenizer, Input, "corpora ", cfg.corpora[0], " and ",
                     cfg.corpora[c], " use different tokenizers");
        meta[1 + 2 * c] = files_[c].n_tokens(io::Split::Train);
        meta[2 + 2 * c] = files_[c].n_tokens(io::Split::Val);
      }
      meta[0] = vocab;
      PLINTH_CHECK(vocab <= model_vocab, Input, "corpus ", cfg.corpora[0], " has vocab_size ", vocab,
                   ", larger than model.vocab_size (", model_vocab, ")");
      for (size_t c = 0; c < n; ++c) {
        PLINTH_CHECK(meta[1 + 2 * c] >= T_ + 1, Input, "corpus ", cfg.corpora[c], " has ", meta[1 + 2 * c],
                     " training tokens, fewer than one sequence of model.seq_len + 1 = ", T_ + 1);
        PLINTH_CHECK(meta[2 + 2 * c] >= T_ + 1, Input, "corpus ", cfg.corpora[c], " has ", meta[2 + 2 * c],
                     " validation tokens, fewer than one sequence of model.seq_len + 1 = ", T_ + 1,
                     " (prepare it with a larger --val-fraction)");
      }
      tokenizer_ = files_[0].load_tokenizer();
    }
  } catch (const Error& e) {
    error = e.what();
  }
  agree_or_throw(group, error);

  // 2. the coordinator's view of the corpora goes to every rank
  group.broadcast(meta.data(), static_cast<int64_t>(meta.size()), comm::DType::I64, 0);
  vocab_ = meta[0];
  std::vector<double> weights = cfg.weights;
  if (weights.empty())
    for (size_t c = 0; c < n; ++c) weights.push_back(static_cast<double>(meta[1 + 2 * c]));
  weights = blend_weights_normalise(weights, n);
  BlendSpec spec{weights, {}, T_, seed};
  for (size_t c = 0; c < n; ++c) {
    spec.train_tokens.push_back(meta[1 + 2 * c]);
    summary_.push_back({cfg.corpora[c], meta[1 + 2 * c], meta[2 + 2 * c], windows_in_split(meta[1 + 2 * c], T_),
                        weights[c]});
  }
  index_ = std::make_unique<SampleIndex>(spec);
  window_.resize(static_cast<size_t>(T_ + 1));
}

std::string DataCoordinator::tokenizer_kind() const {
  return tokenizer_ ? io::tokenizer_kind_name(tokenizer_->kind()) : "";
}

std::string DataCoordinator::tokenizer_model() const { return tokenizer_ ? tokenizer_->model_bytes() : ""; }

void DataCoordinator::read_window(io::Split split, const SampleRef& ref, int32_t* tokens, int32_t* targets) {
  files_[static_cast<size_t>(ref.corpus)].read(split, ref.start, T_ + 1, window_.data());
  std::memcpy(tokens, window_.data(), static_cast<size_t>(T_) * sizeof(int32_t));
  std::memcpy(targets, window_.data() + 1, static_cast<size_t>(T_) * sizeof(int32_t));
}

void DataCoordinator::deliver(io::Split split, const std::vector<std::vector<SampleRef>>& per_rank, int32_t* tokens,
                              int32_t* targets) {
  const int me = group_.rank();
  if (cfg_.access == DataAccess::Shared || group_.size() == 1) {
    const auto& mine = per_rank[static_cast<size_t>(me)];
    for (size_t j = 0; j < mine.size(); ++j) read_window(split, mine[j], tokens + j * T_, targets + j * T_);
    return;
  }
  // Coordinator mode. Safe order: rank 0 posts one send per rank in rank order and every other
  // rank posts exactly one matching receive (one fixed tag, parallel/comm/tags.h), for every call on every rank.
  const int tag = comm::kDataCoordinatorTag;
  if (me == 0) {
    std::vector<std::vector<int32_t>> packs(static_cast<size_t>(group_.size()));
    std::vector<std::unique_ptr<comm::Work>> sends;
    for (int r = 0; r < group_.size(); ++r) {
      const auto& refs = per_rank[static_cast<size_t>(r)];
      if (r == 0) {
        for (size_t j = 0; j < refs.size(); ++j) read_window(split, refs[j], tokens + j * T_, targets + j * T_);
        continue;
      }
      auto& pack = packs[static_cast<size_t>(r)];
      pack.resize(refs.size() * 2 * static_cast<size_t>(T_));
      for (size_t j = 0; j < refs.size(); ++j)
        read_window(split, refs[j], pack.data() + 2 * j * T_, pack.data() + (2 * j + 1) * T_);
      if (!refs.empty())
        sends.push_back(group_.send_async(pack.data(), static_cast<int64_t>(pack.size()), comm::DType::I32, r, tag));
    }
    for (auto& s : sends) s->wait();
  } else {
    const auto& refs = per_rank[static_cast<size_t>(me)];
    if (refs.empty()) return;
    pack_.resize(refs.size() * 2 * static_cast<size_t>(T_));
    group_.recv(pack_.data(), static_cast<int64_t>(pack_.size()), comm::DType::I32, 0, tag);
    for (size_t j = 0; j < refs.size(); ++j) {
      std::memcpy(tokens + j * T_, pack_.data() + 2 * j * T_, static_cast<size_t>(T_) * sizeof(int32_t));
      std::memcpy(targets + j * T_, pack_.data() + (2 * j + 1) * T_, static_cast<size_t>(T_) * sizeof(int32_t));
    }
  }
}

void DataCoordinator::train_batch(int64_t first, int64_t B, int32_t* tokens, int32_t* targets) {
  std::vector<std::vector<SampleRef>> per_rank(static_cast<size_t>(group_.size()));
  const bool all = cfg_.access == DataAccess::Coordinator && group_.rank() == 0;
  for (int r = 0; r < group_.size(); ++r)
    if (all || r == group_.rank()) per_rank[static_cast<size_t>(r)] = index_->samples(first + r * B, B);
  deliver(io::Split::Train, per_rank, tokens, targets);
}

const std::vector<SampleRef>& DataCoordinator::val_refs(int64_t n_windows) {
  if (val_refs_n_ == n_windows) return val_refs_;
  // windows per corpus by the same greedy blend, then evenly spaced within each split
  const size_t n = summary_.size();
  std::vector<int64_t> per(n, 0);
  std::vector<int32_t> corpus_of(static_cast<size_t>(n_windows));
  for (int64_t w = 0; w < n_windows; ++w) {
    size_t best = 0;
    double best_err = -1e300;
    for (size_t c = 0; c < n; ++c) {
      if (summary_[c].weight <= 0) continue;
      const double err = summary_[c].weight * static_cast<double>(w + 1) - static_cast<double>(per[c]);
      if (err > best_err) { best_err = err; best = c; }
    }
    corpus_of[static_cast<size_t>(w)] = static_cast<int32_t>(best);
    ++per[best];
  }
  std::vector<int64_t> seen(n, 0);
  val_refs_.clear();
  for (int64_t w = 0; w < n_windows; ++w) {
    const size_t c = static_cast<size_t>(corpus_of[static_cast<size_t>(w)]);
    const int64_t span = summary_[c].val_tokens - T_ - 1;   // last valid start
    const int64_t k = seen[c]++;
    val_refs_.push_back({static_cast<int32_t>(c), per[c] > 1 ? span * k / (per[c] - 1) : 0});
  }
  val_refs_n_ = n_windows;
  return val_refs_;
}

int64_t DataCoordinator::val_batch(int64_t first, int64_t B, int64_t n_windows, int32_t* tokens, int32_t* targets) {
  const auto& refs = val_refs(n_windows);
  std::vector<std::vector<SampleRef>> per_rank(static_cast<size_t>(group_.size()));
  for (int r = 0; r < group_.size(); ++r) {
    const int64_t lo = std::min(first + r * B, n_windows), hi = std::min(first + r * B + B, n_windows);
    per_rank[static_cast<size_t>(r)].assign(refs.begin() + lo, refs.begin() + hi);
  }
  deliver(io::Split::Val, per_rank, tokens, targets);
  return static_cast<int64_t>(per_rank[static_cast<size_t>(group_.rank())].size());
}

std::vector<int64_t> DataCoordinator::consumed_per_corpus(int64_t n) { return index_->consumed_per_corpus(n); }

std::vector<int64_t> DataCoordinator::epochs(int64_t n) { return index_->epochs(n); }

void DataCoordinator::restore(int64_t n, const std::vector<int64_t>& consumed) { index_->restore(n, consumed); }

}  // namespace plinth::train
