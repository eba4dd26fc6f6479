// tags.h -- the point-to-point tag space, in one place.
// Messages on one communicator match by (source, tag), so two kinds of message that can be in
// flight on the same group must never share a tag. Every fixed tag and every tag range in
// plinth is listed here, and all of them lie in [0, kTagMax]: MPI guarantees MPI_TAG_UB >= 32767
// and plinth relies on nothing above it (MpiCommunicator checks the attribute when it is made).
//   [0, 32000)  pipeline activations and gradients (parallel/pipeline_schedule: per step, per
//               receiving model chunk, micro-batch and direction; never a function of the step)
//   32000       tied input / output embedding gradients between first and last stage (pp group)
//   32001       reserved: was the full-model gather onto stage 0 for the end-of-run sample
//               (removed in issue 15: a model split over tp / pp is never gathered)
//   32002       batches from the corpus coordinator to the other ranks (dp group)
#pragma once

namespace plinth::comm {

inline constexpr int kTagMax = 32767;   // the largest tag every MPI implementation accepts

inline constexpr int kPipelineTagBase = 0;
inline constexpr int kPipelineTagCount = 32000;
inline constexpr int kTiedEmbeddingTag = 32000;
inline constexpr int kStageGatherTag = 32001;
inline constexpr int kDataCoordinatorTag = 32002;

static_assert(kPipelineTagBase >= 0 && kPipelineTagBase + kPipelineTagCount <= kTiedEmbeddingTag);
static_assert(kTiedEmbeddingTag < kStageGatherTag && kStageGatherTag < kDataCoordinatorTag);
static_assert(kDataCoordinatorTag <= kTagMax);

}  // namespace plinth::comm
