// allreduce_bench.cpp -- the Communicator's all_reduce against raw MPI_Allreduce on the same
// buffers in the same run: float32 sum, 4 KiB .. 256 MiB, alternating A/B, median of several
// repetitions (the slowest rank's time each). Prints bus bandwidth (algbw * 2(n-1)/n), the
// ratio of the medians, and the median of per-repetition (back-to-back) ratios.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"

using namespace plinth;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double slowest(double t, MPI_Comm c) {
  double m = 0;
  MPI_Allreduce(&t, &m, 1, MPI_DOUBLE, MPI_MAX, c);
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main() {
  comm::MpiSession mpi;
  auto world = comm::mpi_world_communicator(600.0);
  MPI_Comm raw;
  MPI_Comm_dup(MPI_COMM_WORLD, &raw);
  const int n = world->size();
  if (world->rank() == 0) {
    std::printf("ranks %d\n| size | raw MPI_Allreduce busbw GB/s | plinth all_reduce busbw GB/s | plinth/raw (medians) | plinth/raw (median of paired ratios) |\n", n);
    std::printf("|---|---|---|---|---|\n");
  }
  for (int64_t bytes = 4096; bytes <= (int64_t{256} << 20); bytes *= 4) {
    const int64_t count = bytes / 4;
    std::vector<float> buf(static_cast<size_t>(count), 1.0f);
    const int reps = bytes <= (1 << 20) ? 50 : bytes <= (16 << 20) ? 20 : 9;
    std::vector<double> t_raw, t_ours;
    for (int i = 0; i < reps + 1; ++i) {   // the first pair is a warm-up
      MPI_Barrier(raw);
      double t0 = now();
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, raw);
      const double a = slowest(now() - t0, raw);
      MPI_Barrier(raw);
      t0 = now();
      world->all_reduce(buf.data(), count, comm::DType::F32, comm::ReduceOp::Sum);
      const double b = slowest(now() - t0, raw);
      if (i > 0) {
        t_raw.push_back(a);
        t_ours.push_back(b);
      }
      if (buf[0] > 1e30f) std::fill(buf.begin(), buf.end(), 1.0f);   // keep values finite
    }
    const double f = static_cast<double>(bytes) * 2.0 * (n - 1) / n / 1e9;
    const double bw_raw = f / median(t_raw), bw_ours = f / median(t_ours);
    // paired ratio: each repetition's raw and plinth calls ran back to back under the same
    // conditions; the median of the per-pair ratios is robust to drift on a shared machine
    std::vector<double> pair_ratio;
    for (size_t i = 0; i < t_raw.size(); ++i) pair_ratio.push_back(t_raw[i] / t_ours[i]);
    const double paired = median(pair_ratio);
    if (world->rank() == 0) {
      const char* unit = bytes >= (1 << 20) ? "MiB" : "KiB";
      const int64_t v = bytes >= (1 << 20) ? bytes >> 20 : bytes >> 10;
      std::printf("| %lld %s | %.2f | %.2f | %.3f | %.3f |\n", static_cast<long long>(v), unit, bw_raw, bw_ours,
                  bw_ours / bw_raw, paired);
      std::fflush(stdout);
    }
  }
  MPI_Comm_free(&raw);
  return 0;
}
