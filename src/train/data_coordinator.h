// data_coordinator.h -- the corpus coordinator: blended HDF5 corpora, the global sample index,
// and delivery of token windows to the data-parallel ranks.
// Rank 0 of the data group is the coordinator: it reads every corpus's metadata, checks them
// (same vocabulary, enough tokens), and broadcasts what the others need. The sample index is
// a pure function of (seed, weights, corpus sizes), so each rank derives exactly its windows.
//   DataAccess::Shared:      every rank opens the corpora and reads only its own windows
//                            (never the whole corpus; io::Corpus reads them with pread, so a
//                            checkpoint shard written on another thread does not stall them).
//   DataAccess::Coordinator: only the coordinator opens the files (node-local storage); it
//                            reads every rank's windows and sends them over the data group.
// Every public call is collective over the data group and issued in the same order on all
// ranks (the training loop's order), which keeps the sends and receives matched.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/corpus.h"
#include "io/tokenizer.h"
#include "parallel/comm/communicator.h"
#include "train/sample_index.h"

namespace plinth::train {

enum class DataAccess { Shared, Coordinator };
DataAccess data_access_parse(const std::string& s);   // "shared" | "coordinator"

struct DataConfig {
  std::vector<std::string> corpora;     // data.corpus (comma-separated in the config)
  std::vector<double> weights;          // data.weights; empty = proportional to training tokens
  DataAccess access = DataAccess::Shared;
};

struct CorpusSummary {
  std::string path;
  int64_t train_tokens = 0, val_tokens = 0;
  int64_t train_windows = 0;   // non-overlapping (T+1)-token windows: one epoch
  double weight = 0;
};

class DataCoordinator {
 public:
  // Collective. Throws plinth::Error on every rank (naming the file and the failing rank) when
  // a corpus is missing or unreadable anywhere, holds a token id outside its vocabulary (checked
  // by the coordinator: io::TokenCheck::Full), vocabularies differ, the vocabulary exceeds the
  // model's, or a split is shorter than one window.
  DataCoordinator(const DataConfig& cfg, comm::Communicator& group, int64_t seq_len, int64_t model_vocab,
                  uint64_t seed);
  ~DataCoordinator();

  // Fills this rank's B windows of the run's samples [first + rank*B, first + rank*B + B):
  // callers pass first = step*global_batch + micro*(B*dp). tokens/targets are (B, T).
  void train_batch(int64_t first, int64_t B, int32_t* tokens, int32_t* targets);

  // Validation: this rank's windows [first + rank*B, first + rank*B + B) of n_windows fixed
  // held-out windows (spread over the corpora by the blend weights and evenly over each
  // validation split), clipped to n_windows. Returns how many it filled (possibly 0).
  int64_t val_batch(int64_t first, int64_t B, int64_t n_windows, int32_t* tokens, int32_t* targets);

  // Samples consumed per corpus after n samples (the data position stored in checkpoints).
  std::vector<int64_t> consumed_per_corpus(int64_t n);
  // Epoch of each corpus after n samples (0 = the first pass over its windows).
  std::vector<int64_t> epochs(int64_t n);
  // Resume: the data position after n samples is `consumed` per corpus (from a checkpoint), set
  // in O(#corpora). Local to this rank (no communication); every rank passes the same values.
  void restore(int64_t n, const std::vector<int64_t>& consumed);

  const std::vector<CorpusSummary>& corpora() const { return summary_; }
  int64_t vocab_size() const { return vocab_; }
  // Tokenizer of the first corpus; on the coordinator only (nullptr elsewhere).
  const io::Tokenizer* tokenizer() const { return tokenizer_.get(); }
  std::string tokenizer_kind() const;
  std::string tokenizer_model() const;   // coordinator only

 private:
  void read_window(io::Split split, const SampleRef& ref, int32_t* tokens, int32_t* targets);
  void deliver(io::Split split, const std::vector<std::vector<SampleRef>>& per_rank, int32_t* tokens,
               int32_t* targets);
  const std::vector<SampleRef>& val_refs(int64_t n_windows);

  DataConfig cfg_;
  comm::Communicator& group_;
  int64_t T_;
  int64_t vocab_ = 0;
  std::vector<CorpusSummary> summary_;
  std::vector<io::Corpus> files_;            // opened where this rank reads
  std::unique_ptr<io::Tokenizer> tokenizer_;
  std::unique_ptr<SampleIndex> index_;
  std::vector<SampleRef> val_refs_;          // cached for val_refs_n_ windows
  int64_t val_refs_n_ = -1;
  std::vector<int32_t> window_;
  std::vector<int32_t> pack_;                // coordinator -> rank message: (B, 2T) tokens|targets
};

}  // namespace plinth::train
