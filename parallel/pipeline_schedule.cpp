// pipeline_schedule.cpp -- GPipe, 1F1B and interleaved 1F1B action lists; their simulation.
#include "parallel/pipeline_schedule.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "parallel/comm/tags.h"

namespace plinth::parallel {
namespace {

struct Compute {
  ActionKind kind;   // Forward or Backward
  int micro, chunk;
};

// Megatron's numbering of the k-th forward (or backward) of an interleaved rank: groups of pp
// micro-batches go through chunk 0, then chunk 1, ...; backwards visit the chunks in reverse.
Compute interleaved_compute(const PipelineShape& s, int k, ActionKind kind) {
  const int pp = s.stages, v = s.chunks;
  const int in_group = k % (pp * v);
  int chunk = in_group / pp;
  if (kind == ActionKind::Backward) chunk = v - 1 - chunk;
  const int micro = (k / (pp * v)) * pp + k % pp;
  return {kind, micro, chunk};
}

std::vector<Compute> compute_order(ScheduleKind kind, const PipelineShape& s, int stage) {
  const int m = s.micro_batches, pp = s.stages;
  std::vector<Compute> out;
  switch (kind) {
    case ScheduleKind::GPipe:
      for (int i = 0; i < m; ++i) out.push_back({ActionKind::Forward, i, 0});
      for (int i = 0; i < m; ++i) out.push_back({ActionKind::Backward, i, 0});
      break;
    case ScheduleKind::OneFOneB: {
      const int warmup = std::min(pp - stage - 1, m);
      for (int i = 0; i < warmup; ++i) out.push_back({ActionKind::Forward, i, 0});
      for (int i = 0; i < m - warmup; ++i) {
        out.push_back({ActionKind::Forward, warmup + i, 0});
        out.push_back({ActionKind::Backward, i, 0});
      }
      for (int i = m - warmup; i < m; ++i) out.push_back({ActionKind::Backward, i, 0});
      break;
    }
    case ScheduleKind::Interleaved: {
      const int total = m * s.chunks;
      const int warmup = std::min((pp - stage - 1) * 2 + (s.chunks - 1) * pp, total);
      for (int k = 0; k < warmup; ++k) out.push_back(interleaved_compute(s, k, ActionKind::Forward));
      for (int k = 0; k < total - warmup; ++k) {
        out.push_back(interleaved_compute(s, warmup + k, ActionKind::Forward));
        out.push_back(interleaved_compute(s, k, ActionKind::Backward));
      }
      for (int k = total - warmup; k < total; ++k) out.push_back(interleaved_compute(s, k, ActionKind::Backward));
      break;
    }
  }
  return out;
}

// A message is named by its direction, micro-batch and the model chunk that receives it: unique
// per receiving rank within one step (every message of a step may be in flight at once: the
// executor posts all receives up front), the same every step (no message outlives its step),
// and below kPipelineTagCount whenever pipeline_schedule_validate accepts the shape.
int message_tag(const PipelineShape& s, ActionKind kind, int micro, int receiver_vs) {
  const int grad = kind == ActionKind::SendGrad || kind == ActionKind::RecvGrad ? 1 : 0;
  const int receiver_chunk = receiver_vs / s.stages;
  return comm::kPipelineTagBase + (micro * s.chunks + receiver_chunk) * 2 + grad;
}

// Surrounds each compute action with its messages.
std::vector<PipelineAction> with_messages(const PipelineShape& s, int stage, const std::vector<Compute>& order) {
  const int pp = s.stages, V = s.virtual_stages();
  std::vector<PipelineAction> out;
  for (const Compute& c : order) {
    const int vs = c.chunk * pp + stage;
    if (c.kind == ActionKind::Forward) {
      if (vs > 0)
        out.push_back({ActionKind::RecvAct, c.micro, c.chunk, (vs - 1) % pp, message_tag(s, ActionKind::RecvAct, c.micro, vs)});
      out.push_back({ActionKind::Forward, c.micro, c.chunk, -1, -1});
      if (vs < V - 1)
        out.push_back({ActionKind::SendAct, c.micro, c.chunk, (vs + 1) % pp,
                       message_tag(s, ActionKind::SendAct, c.micro, vs + 1)});
    } else {
      if (vs < V - 1)
        out.push_back({ActionKind::RecvGrad, c.micro, c.chunk, (vs + 1) % pp,
                       message_tag(s, ActionKind::RecvGrad, c.micro, vs)});
      out.push_back({ActionKind::Backward, c.micro, c.chunk, -1, -1});
      if (vs > 0)
        out.push_back({ActionKind::SendGrad, c.micro, c.chunk, (vs - 1) % pp,
                       message_tag(s, ActionKind::SendGrad, c.micro, vs - 1)});
    }
  }
  return out;
}

}  // namespace

ScheduleKind schedule_kind_from_name(const std::string& name) {
  if (name == "gpipe") return ScheduleKind::GPipe;
  if (name == "1f1b") return ScheduleKind::OneFOneB;
  if (name == "interleaved") return ScheduleKind::Interleaved;
  PLINTH_THROW(Config, "parallel.pp_schedule must be gpipe, 1f1b or interleaved, got '", name, "'");
}

const char* schedule_kind_name(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::GPipe: return "gpipe";
    case ScheduleKind::OneFOneB: return "1f1b";
    case ScheduleKind::Interleaved: return "interleaved";
  }
  return "?";
}

void pipeline_schedule_validate(ScheduleKind kind, const PipelineShape& s) {
  PLINTH_CHECK(s.stages >= 1, Config, "parallel.pp must be >= 1, got ", s.stages);
  PLINTH_CHECK(s.micro_batches >= 1, Config, "the pipeline needs at least one micro-batch per step, got ",
               s.micro_batches);
  PLINTH_CHECK(s.chunks >= 1, Config, "parallel.pp_chunks must be >= 1, got ", s.chunks);
  if (kind == ScheduleKind::Interleaved) {
    PLINTH_CHECK(s.stages >= 2, Config, "parallel.pp_schedule = interleaved needs parallel.pp >= 2, got ", s.stages);
    PLINTH_CHECK(s.chunks >= 2, Config, "parallel.pp_schedule = interleaved needs parallel.pp_chunks >= 2, got ",
                 s.chunks);
    PLINTH_CHECK(s.micro_batches % s.stages == 0, Config, "parallel.pp_schedule = interleaved needs the micro-batches ",
                 "per step (", s.micro_batches, " = train.global_batch / (train.micro_batch x parallel.dp)) to be a ",
                 "multiple of parallel.pp (", s.stages, ")");
  } else {
    PLINTH_CHECK(s.chunks == 1, Config, "parallel.pp_chunks = ", s.chunks, " needs parallel.pp_schedule = interleaved (",
                 "got ", schedule_kind_name(kind), ")");
  }
  pipeline_tags_validate(s);
  if (kind != ScheduleKind::GPipe)
    PLINTH_CHECK(s.micro_batches >= s.stages, Config, "parallel.pp_schedule = ", schedule_kind_name(kind),
                 " needs at least parallel.pp (", s.stages, ") micro-batches per step, got ", s.micro_batches,
                 " (= train.global_batch / (train.micro_batch x parallel.dp)); lower train.micro_batch");
}

int pipeline_max_micro_batches(int chunks) { return comm::kPipelineTagCount / (2 * std::max(1, chunks)); }

void pipeline_tags_validate(const PipelineShape& s, int tag_ub) {
  if (s.stages == 1) return;   // one stage sends no messages
  const int64_t needed = int64_t{2} * s.micro_batches * s.chunks;
  PLINTH_CHECK(s.micro_batches <= pipeline_max_micro_batches(s.chunks), Config,
               "the pipeline layout needs 2 x parallel.pp_chunks (", s.chunks, ") x micro-batches per step (",
               s.micro_batches, " = train.global_batch / (train.micro_batch x parallel.dp)) = ", needed,
               " message tags per step, more than the ", comm::kPipelineTagCount,
               " reserved for pipeline messages (MPI guarantees tags up to ", comm::kTagMax,
               "; parallel.pp does not matter): raise train.micro_batch or lower train.global_batch or parallel.pp_chunks");
  const int top = comm::kPipelineTagBase + comm::kPipelineTagCount - 1;
  PLINTH_CHECK(tag_ub >= top, Comm, "the pipeline group's MPI_TAG_UB is ", tag_ub, ", below the pipeline's tags (up to ",
               top, "; MPI guarantees ", comm::kTagMax, ")");
}

std::vector<PipelineAction> pipeline_schedule(ScheduleKind kind, const PipelineShape& s, int stage) {
  pipeline_schedule_validate(kind, s);
  PLINTH_CHECK(stage >= 0 && stage < s.stages, Internal, "stage ", stage, " outside [0, ", s.stages, ")");
  return with_messages(s, stage, compute_order(kind, s, stage));
}

std::vector<PipelineAction> pipeline_forward_schedule(const PipelineShape& s, int stage) {
  PLINTH_CHECK(s.stages == 1 || s.micro_batches <= pipeline_max_micro_batches(s.chunks), Internal, "forward schedule of ",
               s.micro_batches, " micro-batches x ", s.chunks, " chunks: more than the pipeline's tags allow in one "
               "call (", pipeline_max_micro_batches(s.chunks), " micro-batches); run it in rounds");
  std::vector<Compute> order;
  for (int c = 0; c < s.chunks; ++c)
    for (int i = 0; i < s.micro_batches; ++i) order.push_back({ActionKind::Forward, i, c});
  return with_messages(s, stage, order);
}

int pipeline_peak_in_flight(const std::vector<PipelineAction>& actions, int chunk) {
  int now = 0, peak = 0;
  for (const PipelineAction& a : actions) {
    if (chunk >= 0 && a.chunk != chunk) continue;
    if (a.kind == ActionKind::Forward) peak = std::max(peak, ++now);
    if (a.kind == ActionKind::Backward) --now;
  }
  return peak;
}

ScheduleSimulation pipeline_simulate(ScheduleKind kind, const PipelineShape& s, double t_forward, double t_backward) {
  std::vector<std::vector<PipelineAction>> lists;
  for (int st = 0; st < s.stages; ++st) lists.push_back(pipeline_schedule(kind, s, st));
  std::vector<size_t> next(lists.size(), 0);
  std::vector<double> clock(lists.size(), 0.0);
  ScheduleSimulation sim;
  sim.busy.assign(lists.size(), 0.0);
  std::map<std::pair<int, int>, double> sent;   // (receiver stage, tag) -> time the message is available
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t st = 0; st < lists.size(); ++st) {
      while (next[st] < lists[st].size()) {
        const PipelineAction& a = lists[st][next[st]];
        if (a.kind == ActionKind::RecvAct || a.kind == ActionKind::RecvGrad) {
          auto it = sent.find({static_cast<int>(st), a.tag});
          if (it == sent.end()) break;   // blocked: the sender has not got there yet
          clock[st] = std::max(clock[st], it->second);
          sent.erase(it);
        } else if (a.kind == ActionKind::SendAct || a.kind == ActionKind::SendGrad) {
          PLINTH_CHECK(sent.emplace(std::make_pair(a.peer, a.tag), clock[st]).second, Internal,
                       "two sends with tag ", a.tag, " to stage ", a.peer);
        } else {
          const double t = (a.kind == ActionKind::Forward ? t_forward : t_backward) / s.chunks;
          clock[st] += t;
          sim.busy[st] += t;
        }
        ++next[st];
        progress = true;
      }
    }
  }
  for (size_t st = 0; st < lists.size(); ++st)
    PLINTH_CHECK(next[st] == lists[st].size(), Internal, "pipeline schedule ", schedule_kind_name(kind),
                 " deadlocks: stage ", st, " waits at ", pipeline_action_string(lists[st][next[st]]));
  PLINTH_CHECK(sent.empty(), Internal, "pipeline schedule ", schedule_kind_name(kind), " sends ", sent.size(),
               " message(s) nobody receives");
  sim.makespan = *std::max_element(clock.begin(), clock.end());
  double idle = 0;
  for (double b : sim.busy) idle += 1.0 - b / sim.makespan;
  sim.bubble_fraction = idle / static_cast<double>(lists.size());
  return sim;
}

double pipeline_theoretical_bubble(ScheduleKind kind, const PipelineShape& s) {
  const double p = s.stages, m = s.micro_batches, v = kind == ScheduleKind::Interleaved ? s.chunks : 1;
  return (p - 1) / (v * m + p - 1);
}

std::string pipeline_action_string(const PipelineAction& a) {
  const std::string mc = std::to_string(a.micro) + ".c" + std::to_string(a.chunk);
  switch (a.kind) {
    case ActionKind::Forward: return "F" + mc;
    case ActionKind::Backward: return "B" + mc;
    case ActionKind::RecvAct: return "recv-act " + mc + " <- " + std::to_string(a.peer);
    case ActionKind::SendAct: return "send-act " + mc + " -> " + std::to_string(a.peer);
    case ActionKind::RecvGrad: return "recv-grad " + mc + " <- " + std::to_string(a.peer);
    case ActionKind::SendGrad: return "send-grad " + mc + " -> " + std::to_string(a.peer);
  }
  return "?";
}

}  // namespace plinth::parallel
