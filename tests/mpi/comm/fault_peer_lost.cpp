// fault_peer_lost.cpp -- a rank dies (SIGKILL) in the middle of a loop of all-reduces. The
// driver (fault_peer_lost.py) checks that the whole job ends, non-zero, within the comm timeout
// plus a few seconds, and that the output names the lost rank. A survivor that notices first
// reports through the communicator's timeout error and aborts the job.
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/error.h"
#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"

using namespace plinth;

int main() {
  comm::MpiSession mpi;
  auto world = comm::mpi_world_communicator(5.0);
  std::vector<float> buf(1 << 16, 1.0f);
  try {
    for (int i = 0; i < 100000; ++i) {
      if (i == 50 && world->rank() == world->size() - 1) {
        std::printf("[rank %d] killing myself with SIGKILL at iteration %d\n", world->rank(), i);
        std::fflush(stdout);
        std::raise(SIGKILL);
      }
      world->all_reduce(buf.data(), static_cast<int64_t>(buf.size()), comm::DType::F32, comm::ReduceOp::Max);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "[rank %d] error: %s\n", world->rank(), e.what());
    mpi.abort_all(3);
  }
  return 0;
}
