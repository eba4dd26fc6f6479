// test_work_lifetime.cpp -- a Work destroyed before wait() (what an exception unwinding past it
// does) must not leave MPI, or the collective worker thread, touching the caller's buffer:
// a receive destroyed before its message arrives is cancelled (the late message goes to the
// next matching receive, the old buffer stays as the caller left it); one destroyed while its
// message arrives returns with the whole message or none of it; a send or collective destroyed
// before the peer joins returns only once it is complete (the peer gets the data as it was,
// the collective's result is in place). Needs 2 or more ranks (ranks >= 2 only take part in
// barriers and collectives). Argument "funneled": MPI without MPI_THREAD_MULTIPLE, so the
// collectives are non-blocking MPI requests instead of worker-thread tasks.
// Argument "abandon": rank 0 destroys an all-reduce its peer never joins; the job must abort
// after the timeout with a message naming the operation (driven by work_abandoned.py).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "mpi_check.h"
#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"

using namespace plinth;
using comm::DType;
using comm::ReduceOp;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t count_equal(const std::vector<float>& v, float x) { return std::count(v.begin(), v.end(), x); }

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Large enough for a rendezvous transfer (not buffered eagerly by MPI).
constexpr int64_t kBig = int64_t{1} << 22;

void run_cases(testing::MpiCases& t, comm::Communicator& world) {
  const int me = world.rank(), R = world.size();

  t.run("receive destroyed before its message is sent: cancelled, the old buffer is never written", [&] {
    auto c = comm::mpi_world_communicator(10.0);
    std::vector<float> old(kBig, -1.0f), fresh(kBig, -1.0f), data(kBig, 1.0f);
    if (me == 0) {
      auto r = c->recv_async(old.data(), kBig, DType::F32, 1, 11);
      r.reset();                               // never waited: e.g. an exception unwinding
      std::fill(old.begin(), old.end(), 7.0f);   // the caller reuses (or frees) the buffer
      c->barrier();                            // rank 1 sends only now
      c->recv(fresh.data(), kBig, DType::F32, 1, 11);   // the message must come here
      t.check(count_equal(fresh, 1.0f) == kBig, "the next receive with the same tag did not get the message");
      t.check(count_equal(old, 7.0f) == kBig,
              str_cat(kBig - count_equal(old, 7.0f), " elements of the destroyed receive's buffer written after it"));
    } else {
      c->barrier();
      if (me == 1) c->send(data.data(), kBig, DType::F32, 0, 11);
    }
    c->barrier();
  });

  t.run("receive destroyed while its message arrives: all of it or none of it, nothing later", [&] {
    auto c = comm::mpi_world_communicator(10.0);
    std::vector<float> old(kBig), fresh(kBig), data(kBig, 1.0f);
    int whole = 0, cancelled = 0;
    for (int delay_us : {0, 20, 100, 300, 1000, 3000, 10000}) {
      if (me == 0) {
        std::fill(old.begin(), old.end(), -1.0f);
        auto r = c->recv_async(old.data(), kBig, DType::F32, 1, 12);
        c->barrier();   // rank 1 sends now
        const auto t0 = Clock::now();
        while (seconds_since(t0) * 1e6 < delay_us) r->test();
        r.reset();
        const int64_t got = count_equal(old, 1.0f), untouched = count_equal(old, -1.0f);
        t.check(got == kBig || untouched == kBig,
                str_cat("after the destructor returned (delay ", delay_us, " us) ", got, " elements received and ",
                        untouched, " untouched: the receive was still running"));
        int32_t need_fallback = untouched == kBig ? 1 : 0;
        if (need_fallback) {
          ++cancelled;
          std::fill(old.begin(), old.end(), 7.0f);
          c->recv(fresh.data(), kBig, DType::F32, 1, 12);
          t.check(count_equal(fresh, 1.0f) == kBig, "the cancelled receive's message did not reach the next one");
          t.check(count_equal(old, 7.0f) == kBig, "the cancelled receive wrote into its buffer afterwards");
        } else {
          ++whole;
        }
      } else {
        c->barrier();
        if (me == 1) c->send(data.data(), kBig, DType::F32, 0, 12);
      }
      c->barrier();
    }
    if (me == 0) std::printf("[rank 0]   %d received whole, %d cancelled\n", whole, cancelled);
  });

  t.run("send destroyed before the peer receives: the peer gets the data as it was, not the later poison", [&] {
    auto c = comm::mpi_world_communicator(10.0);
    std::vector<float> data(kBig, 3.0f), in(kBig, -1.0f);
    if (me == 0) {
      auto s = c->send_async(data.data(), kBig, DType::F32, 1, 13);
      const auto t0 = Clock::now();
      s.reset();
      const double waited = seconds_since(t0);
      std::fill(data.begin(), data.end(), 9.0f);   // the caller reuses (or frees) the buffer
      t.check(waited > 0.2, str_cat("the destructor returned after ", waited, " s, before the peer's receive (0.4 s)"));
    } else if (me == 1) {
      sleep_ms(400);
      c->recv(in.data(), kBig, DType::F32, 0, 13);
      t.check(count_equal(in, 3.0f) == kBig, str_cat(kBig - count_equal(in, 3.0f), " elements received not as sent"));
    }
    c->barrier();
  });

  t.run("async all-reduce destroyed before the late peers join: returns only with the sum in place", [&] {
    auto c = comm::mpi_world_communicator(10.0);
    std::vector<float> buf(100003, static_cast<float>(me + 1));
    const float sum = static_cast<float>(R * (R + 1) / 2);
    if (me == 0) {
      auto w = c->all_reduce_async(buf.data(), static_cast<int64_t>(buf.size()), DType::F32, ReduceOp::Sum);
      const auto t0 = Clock::now();
      w.reset();
      const double waited = seconds_since(t0);
      const int64_t done = count_equal(buf, sum);
      t.check(done == static_cast<int64_t>(buf.size()),
              str_cat("the destructor returned after ", waited, " s with ", done, " of ", buf.size(),
                      " elements reduced: the collective was still running"));
    } else {
      sleep_ms(400);
      c->all_reduce(buf.data(), static_cast<int64_t>(buf.size()), DType::F32, ReduceOp::Sum);
    }
    c->barrier();   // behind the all-reduce: the buffer outlives it even when the check failed
  });

  t.run("async reduce-scatter and all-gather destroyed unwaited: complete when the destructors return", [&] {
    auto c = comm::mpi_world_communicator(10.0);
    std::vector<int64_t> counts(static_cast<size_t>(R), 1000);
    std::vector<double> send(static_cast<size_t>(1000 * R), 1.0), piece(1000, -1.0);
    std::vector<double> mine(1000, static_cast<double>(me)), all(static_cast<size_t>(1000 * R), -1.0);
    if (me != 0) sleep_ms(300);
    {
      auto a = c->reduce_scatter_async(send.data(), piece.data(), counts, DType::F64, ReduceOp::Sum);
      auto b = c->all_gather_async(mine.data(), all.data(), counts, DType::F64);
    }   // both destroyed here, never waited
    t.check(std::count(piece.begin(), piece.end(), static_cast<double>(R)) == 1000, "reduce-scatter incomplete");
    for (int r = 0; r < R; ++r)
      t.check(std::count(all.begin() + 1000 * r, all.begin() + 1000 * (r + 1), static_cast<double>(r)) == 1000,
              str_cat("all-gather piece of rank ", r, " incomplete"));
    c->barrier();
  });
}

// Rank 0 destroys an all-reduce that rank 1 joins only long after the timeout: the job must
// end (MPI_Abort) after about the timeout, naming the operation.
int run_abandon(comm::Communicator& world) {
  auto c = comm::mpi_world_communicator(2.0);
  std::vector<float> buf(1000, 1.0f);
  if (world.rank() == 0) {
    {
      auto w = c->all_reduce_async(buf.data(), 1000, DType::F32, ReduceOp::Sum);
    }
    std::printf("[rank 0] FAIL: the destructor returned although the all-reduce cannot complete\n");
    std::fflush(stdout);
    return 1;
  }
  sleep_ms(60000);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  int provided = 0;
  if (mode == "funneled") MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc = 1;
  {
    comm::MpiSession mpi;   // initialises MPI (THREAD_MULTIPLE) unless done above
    auto world = comm::mpi_world_communicator(60.0);
    if (world->size() < 2) {
      std::printf("needs at least 2 ranks\n");
      return 1;
    }
    if (mode == "abandon") return run_abandon(*world);
    testing::MpiCases t(*world);
    run_cases(t, *world);
    rc = t.finish();
  }
  if (mode == "funneled") MPI_Finalize();
  return rc;
}
