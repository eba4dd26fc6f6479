// mpi_env.cpp -- MPI initialisation, finalisation and job-wide abort.
#include "parallel/comm/mpi_env.h"

#include <malloc.h>
#include <mpi.h>

#include <cstdlib>

#include "core/error.h"

namespace plinth::comm {

MpiSession::MpiSession() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return;
  // Open MPI allocates a temporary buffer in every collective call. With glibc's defaults a
  // large one is mmap'ed and unmapped each time (a page fault per 4 KiB page, every call) and
  // the worker threads get their own arenas; measured with bench_allreduce --mallopt, keeping
  // one arena and large blocks on the heap brings the asynchronous all-reduce to the blocking
  // one's bandwidth and large messages up 35-60%. The user's MALLOC_* settings win.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 1);
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  int provided = 0;
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  PLINTH_CHECK(rc == MPI_SUCCESS, Comm, "MPI_Init_thread failed (code ", rc, ")");
  owns_ = true;
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_ && !finalized) MPI_Finalize();
}

void MpiSession::abort_all(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();   // MPI_Abort does not return; this keeps [[noreturn]] honest
}

int MpiSession::world_rank() const {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int MpiSession::world_size() const {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

}  // namespace plinth::comm
