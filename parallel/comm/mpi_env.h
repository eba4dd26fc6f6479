// mpi_env.h -- MPI's lifetime for a process: initialise once (launch/ and test mains), finalise
// at scope exit, and abort every rank of the job when an error must not leave peers waiting.
#pragma once

namespace plinth::comm {

class MpiSession {
 public:
  MpiSession();                 // MPI_Init_thread(MULTIPLE) unless MPI is already initialised
  ~MpiSession();                // MPI_Finalize if this object initialised it
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  [[noreturn]] void abort_all(int code);   // MPI_Abort on MPI_COMM_WORLD
  int world_rank() const;
  int world_size() const;

 private:
  bool owns_ = false;
};

}  // namespace plinth::comm
