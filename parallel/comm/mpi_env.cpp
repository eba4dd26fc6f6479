// mpi_env.cpp -- MPI initialisation, finalisation and job-wide abort.
#include "parallel/comm/mpi_env.h"

#include <mpi.h>

#include <cstdlib>

#include "core/error.h"

namespace plinth::comm {

MpiSession::MpiSession() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return;
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
