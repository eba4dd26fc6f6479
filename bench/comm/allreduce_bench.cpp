// allreduce_bench.cpp -- plinth's Communicator all-reduce against raw MPI_Allreduce on the same
// buffer in the same run: float32 sum, 4 KiB .. 256 MiB in x4 steps.
//
// Every repetition runs each mode once, back to back (the order rotates from one repetition to
// the next so no mode always goes first), each preceded by a barrier; a mode's time in a
// repetition is the slowest rank's. Reported per size: the median time -> bus bandwidth
// busbw = bytes / t * 2(n-1)/n, the ratio of the medians against raw, and the median of the
// per-repetition (paired) ratios, which is robust to drift on a shared machine.
//
// Modes (--modes=main, the default):
//   raw     MPI_Allreduce(MPI_IN_PLACE) on a duplicate of MPI_COMM_WORLD
//   plinth  Communicator::all_reduce, the blocking convenience (MpiCommunicator runs it on the
//           calling thread when its worker is idle: MPI_Allreduce under a watchdog)
//   async   Communicator::all_reduce_async(...)->wait(), the path of data-parallel gradient
//           buckets (the collective runs on the communicator's worker thread)
// Diagnostic modes (--modes=variants): the same hand-off built here, outside plinth, with
// different ways for the caller to wait, to show what the waiting policy costs:
//   w-cv    local worker thread (blocking MPI_Allreduce), caller sleeps on a condition variable
//   w-yield local worker, caller polls an atomic with sched_yield (never sleeps)
//   w-spin  local worker, caller busy-polls an atomic (no yield, no sleep)
//   nbc     MPI_Iallreduce on the caller's thread, then an MPI_Test loop (libnbc)
//
// Usage: mpirun -n N bench_allreduce [--modes=LIST] [--min=4096] [--max=268435456] [--reps-scale=1.0]
//                                    [--faults] [--mallopt]
//   LIST: comma-separated mode names (raw always runs first), or main (plinth,async),
//   variants (w-cv,w-yield,w-spin,nbc), all (both).
//   --faults adds, per mode, the minor page faults per call (whole process, mean over ranks and
//   repetitions): a fresh temporary buffer inside MPI costs one fault per 4 KiB page.
//   --mallopt sets glibc malloc, before MPI starts, the way a process could for itself:
//   mallopt(M_ARENA_MAX, 1), M_MMAP_THRESHOLD 1 GiB, M_TRIM_THRESHOLD 1 GiB (Open MPI's tuned
//   all-reduce mallocs a temporary buffer every call; see docs/benchmarks.md, issue 3).
// Output: a markdown table on rank 0's stdout. Exits non-zero if any mode computes a wrong sum.
#include <malloc.h>
#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"

using namespace plinth;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

enum class WaitKind { CondVar, Yield, Spin };

// A minimal copy of plinth's hand-off (one worker thread running blocking MPI_Allreduce on its
// own communicator; submit through a mutex + condition variable), with a choice of how the
// caller waits for completion.
class LocalWorker {
 public:
  explicit LocalWorker(MPI_Comm comm) : comm_(comm), thread_([this] { loop(); }) {}
  ~LocalWorker() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void all_reduce(float* buf, int count, WaitKind how) {
    {
      std::lock_guard<std::mutex> lock(m_);
      buf_ = buf;
      count_ = count;
      pending_ = true;
      done_.store(false, std::memory_order_relaxed);
    }
    cv_.notify_one();
    switch (how) {
      case WaitKind::Spin:
        while (!done_.load(std::memory_order_acquire)) {
        }
        break;
      case WaitKind::Yield:
        while (!done_.load(std::memory_order_acquire)) std::this_thread::yield();
        break;
      case WaitKind::CondVar: {
        std::unique_lock<std::mutex> lock(m_);
        done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire); });
        break;
      }
    }
  }

 private:
  void loop() {
    for (;;) {
      float* buf;
      int count;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return quit_ || pending_; });
        if (quit_) return;
        pending_ = false;
        buf = buf_;
        count = count_;
      }
      MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, comm_);
      {
        std::lock_guard<std::mutex> lock(m_);
        done_.store(true, std::memory_order_release);
      }
      done_cv_.notify_all();
    }
  }

  MPI_Comm comm_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  bool quit_ = false, pending_ = false;
  float* buf_ = nullptr;
  int count_ = 0;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

struct Mode {
  std::string name;
  std::function<void(float*, int64_t)> run;
};

std::string size_label(int64_t bytes) {
  char s[32];
  if (bytes >= (1 << 20)) std::snprintf(s, sizeof s, "%lld MiB", static_cast<long long>(bytes >> 20));
  else std::snprintf(s, sizeof s, "%lld KiB", static_cast<long long>(bytes >> 10));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string modes_arg = "main";
  int64_t min_bytes = 4096, max_bytes = int64_t{256} << 20;
  double reps_scale = 1.0;
  bool faults = false, use_mallopt = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--modes=", 0) == 0) modes_arg = a.substr(8);
    else if (a.rfind("--min=", 0) == 0) min_bytes = std::atoll(a.c_str() + 6);
    else if (a.rfind("--max=", 0) == 0) max_bytes = std::atoll(a.c_str() + 6);
    else if (a.rfind("--reps-scale=", 0) == 0) reps_scale = std::atof(a.c_str() + 13);
    else if (a == "--faults") faults = true;
    else if (a == "--mallopt") use_mallopt = true;
    else {
      std::fprintf(stderr, "usage: bench_allreduce [--modes=main|variants|all|LIST] [--min=B] [--max=B] [--reps-scale=X] [--faults] "
                   "[--mallopt]\n");
      return 2;
    }
  }

  int mallopt_ok = -1;
  if (use_mallopt)   // before MPI_Init and before any thread exists
    mallopt_ok = mallopt(M_ARENA_MAX, 1) && mallopt(M_MMAP_THRESHOLD, 1 << 30) && mallopt(M_TRIM_THRESHOLD, 1 << 30);
  comm::MpiSession mpi;
  auto world = comm::mpi_world_communicator(600.0);
  MPI_Comm raw, local_comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &raw);
  MPI_Comm_dup(MPI_COMM_WORLD, &local_comm);
  const int n = world->size(), rank = world->rank();
  std::string list = modes_arg == "main" ? "plinth,async"
                     : modes_arg == "variants" ? "w-cv,w-yield,w-spin,nbc"
                     : modes_arg == "all" ? "plinth,async,w-cv,w-yield,w-spin,nbc"
                                          : modes_arg;
  std::unique_ptr<LocalWorker> local;
  if (list.find("w-") != std::string::npos) local = std::make_unique<LocalWorker>(local_comm);

  std::vector<Mode> modes;
  modes.push_back({"raw MPI_Allreduce", [&](float* b, int64_t c) {
                     MPI_Allreduce(MPI_IN_PLACE, b, static_cast<int>(c), MPI_FLOAT, MPI_SUM, raw);
                   }});
  for (size_t pos = 0; pos <= list.size();) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string m = list.substr(pos, end - pos);
    pos = end + 1;
    if (m == "plinth") {
      modes.push_back({"plinth all_reduce", [&](float* b, int64_t c) {
                         world->all_reduce(b, c, comm::DType::F32, comm::ReduceOp::Sum);
                       }});
    } else if (m == "async") {
      modes.push_back({"plinth all_reduce_async+wait", [&](float* b, int64_t c) {
                         world->all_reduce_async(b, c, comm::DType::F32, comm::ReduceOp::Sum)->wait();
                       }});
    } else if (m == "w-cv") {
      modes.push_back({m, [&](float* b, int64_t c) { local->all_reduce(b, static_cast<int>(c), WaitKind::CondVar); }});
    } else if (m == "w-yield") {
      modes.push_back({m, [&](float* b, int64_t c) { local->all_reduce(b, static_cast<int>(c), WaitKind::Yield); }});
    } else if (m == "w-spin") {
      modes.push_back({m, [&](float* b, int64_t c) { local->all_reduce(b, static_cast<int>(c), WaitKind::Spin); }});
    } else if (m == "nbc") {
      modes.push_back({m, [&](float* b, int64_t c) {
                         MPI_Request r;
                         MPI_Iallreduce(MPI_IN_PLACE, b, static_cast<int>(c), MPI_FLOAT, MPI_SUM, raw, &r);
                         int done = 0;
                         while (!done) MPI_Test(&r, &done, MPI_STATUS_IGNORE);
                       }});
    } else if (!m.empty()) {
      if (world->rank() == 0) std::fprintf(stderr, "bench_allreduce: unknown mode '%s'\n", m.c_str());
      return 2;
    }
  }
  const size_t M = modes.size();

  if (rank == 0) {
    std::printf("ranks %d, modes %s%s\n\n", n, modes_arg.c_str(),
                mallopt_ok < 0 ? "" : mallopt_ok ? ", mallopt applied" : ", mallopt REJECTED");
    std::string h = "| size | reps | raw busbw GB/s |", sep = "|---|---|---|";
    for (size_t m = 1; m < M; ++m) {
      h += " " + modes[m].name + " busbw GB/s | ratio | paired ratio |";
      sep += "---|---|---|";
    }
    if (faults) {
      for (size_t m = 0; m < M; ++m) {
        h += ' ';
        h += m == 0 ? std::string("raw") : modes[m].name;
        h += " faults/call |";
        sep += "---|";
      }
    }
    std::printf("%s\n%s\n", h.c_str(), sep.c_str());
  }

  int failures = 0;
  for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
    const int64_t count = bytes / 4;
    std::vector<float> buf(static_cast<size_t>(count));
    // correctness: every mode sums rank+1 over the ranks
    for (size_t m = 0; m < M; ++m) {
      std::fill(buf.begin(), buf.end(), static_cast<float>(rank + 1));
      modes[m].run(buf.data(), count);
      const float want = 0.5f * static_cast<float>(n * (n + 1));
      if (buf.front() != want || buf.back() != want || buf[buf.size() / 2] != want) {
        std::fprintf(stderr, "rank %d: %s of %lld bytes gave %g, want %g\n", rank, modes[m].name.c_str(),
                     static_cast<long long>(bytes), buf.front(), want);
        ++failures;
      }
    }
    std::fill(buf.begin(), buf.end(), 0.0f);   // zeros stay zeros: no overflow, no resets between reps
    const int base = bytes <= (256 << 10) ? 200 : bytes <= (4 << 20) ? 40 : bytes <= (16 << 20) ? 15 : 9;
    const int reps = std::max(3, static_cast<int>(base * reps_scale));
    std::vector<std::vector<double>> t(M);
    std::vector<double> flt(M, 0.0);
    auto minflt = [] {
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return static_cast<double>(u.ru_minflt);
    };
    for (int i = -1; i < reps; ++i) {   // i = -1: warm-up (first touch, worker thread start)
      for (size_t k = 0; k < M; ++k) {
        const size_t m = (k + static_cast<size_t>(i + 1)) % M;   // rotate the order
        const double f0 = faults ? minflt() : 0.0;
        MPI_Barrier(raw);
        const double t0 = now();
        modes[m].run(buf.data(), count);
        double dt = now() - t0, slowest = 0;
        if (faults && i >= 0) flt[m] += minflt() - f0;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, raw);
        if (i >= 0) t[m].push_back(slowest);
      }
    }
    if (faults) MPI_Allreduce(MPI_IN_PLACE, flt.data(), static_cast<int>(M), MPI_DOUBLE, MPI_SUM, raw);
    if (rank == 0) {
      const double f = static_cast<double>(bytes) * 2.0 * (n - 1) / n / 1e9;
      const double raw_med = median(t[0]);
      std::printf("| %s | %d | %.2f |", size_label(bytes).c_str(), reps, f / raw_med);
      for (size_t m = 1; m < M; ++m) {
        std::vector<double> pr;
        for (int i = 0; i < reps; ++i) pr.push_back(t[0][i] / t[m][i]);
        const double med = median(t[m]);
        std::printf(" %.2f | %.3f | %.3f |", f / med, raw_med / med, median(pr));
      }
      for (size_t m = 0; faults && m < M; ++m) std::printf(" %.0f |", flt[m] / reps / n);
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  local.reset();
  MPI_Comm_free(&local_comm);
  MPI_Comm_free(&raw);
  int any = 0;
  MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (any && rank == 0) std::fprintf(stderr, "bench_allreduce: %d wrong results\n", any);
  return any ? 1 : 0;
}
