// launch_env.h -- where the launcher says this process is: rank, world size and node-local rank
// as Slurm's srun (SLURM_*) or Open MPI's mpirun (OMPI_COMM_WORLD_*) exported them, and the check
// of that against the MPI communicator. A launch whose ranks did not wire up into one MPI world
// (every rank a world of 1, say) becomes an error naming the variables instead of N independent
// single-rank runs writing the same files.
//
// Which variables count:
//   - OMPI_COMM_WORLD_SIZE set: the process was started by mpirun (also inside a Slurm
//     allocation, where the SLURM_* step variables describe mpirun's daemons, not the ranks).
//   - else SLURM_STEP_NUM_TASKS set: a task of an srun step (SLURM_PROCID, SLURM_LOCALID,
//     SLURM_STEP_TASKS_PER_NODE + SLURM_NODEID for the node-local size).
//   - else SLURM_JOB_ID set: inside an allocation (a batch script) but in no job step; the job's
//     SLURM_NTASKS is what the user asked for, and more than 1 means the launcher is missing.
//   - else: no launcher (a plain `plinth train`); nothing to check.
#pragma once
#include <functional>
#include <string>

namespace plinth::comm {
class Communicator;
}

namespace plinth::launch {

enum class Launcher { None, OpenMpi, SlurmStep, SlurmBatch };
const char* launcher_name(Launcher l);

struct LaunchEnv {
  Launcher launcher = Launcher::None;
  int rank = 0;            // -1 where the launcher does not say (SlurmBatch)
  int size = 1;
  int local_rank = 0;      // -1 when unknown
  int local_size = 1;      // -1 when unknown
  std::string job_id;      // SLURM_JOB_ID, empty outside Slurm
  std::string variables;   // the variables read with their values, for messages: "SLURM_PROCID=2, ..."
};

// Reads the variables through `lookup` (std::getenv by default; tests pass a map). Throws
// plinth::Error(Config) naming the variable when a value is not a non-negative integer or a rank
// is not below its size.
using EnvLookup = std::function<const char*(const char*)>;
LaunchEnv launch_env_read(const EnvLookup& lookup);
LaunchEnv launch_env_read();

// Throws plinth::Error(Config) when `env` disagrees with the MPI world (mpi_rank of mpi_size):
// the message names the variables, the two views and the usual cause. Pure, per process.
void launch_env_check(const LaunchEnv& env, int mpi_rank, int mpi_size);

// For `plinth train` right after the world communicator exists: read + check on every rank,
// agree over `world` so that either every rank throws or none does, and log one line on rank 0.
LaunchEnv launch_env_verify(comm::Communicator& world);

// Parses Slurm's tasks-per-node notation ("2(x3),1" = 2,2,2,1) and returns the count of node
// `node` (0-based); throws plinth::Error(Config) naming `variable` when malformed or out of range.
int slurm_tasks_on_node(const std::string& spec, int node, const char* variable);

}  // namespace plinth::launch
