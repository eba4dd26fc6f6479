// mpi_communicator.h -- the Communicator over MPI for CPU buffers.
// Every operation is non-blocking MPI (MPI_Iallreduce, MPI_Ireduce_scatter, MPI_Iallgatherv,
// MPI_Ibcast, MPI_Isend/Irecv, MPI_Ibarrier). Work::wait() polls until completion or until the
// group's timeout has passed; then it throws plinth::Error(Comm) naming the operation, the
// group and the rank, and launch/ aborts the job instead of letting it hang. A Work destroyed
// unfinished cancels its receive, or waits for its send / collective with the same timeout and
// otherwise aborts the job (communicator.h). Tags outside [0, MPI_TAG_UB] are refused.
#pragma once
#include <memory>
#include <string>

#include "parallel/comm/communicator.h"

namespace plinth::comm {

// A duplicate of MPI_COMM_WORLD named "world". MPI must be initialised (MpiSession).
std::unique_ptr<Communicator> mpi_world_communicator(double timeout_s);

}  // namespace plinth::comm
