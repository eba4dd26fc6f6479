// launch_env.cpp -- rank / world size / node-local rank from SLURM_* or OMPI_COMM_WORLD_*, and
// the check against the MPI world (see launch_env.h for which variables count when).
#include "launch/launch_env.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "parallel/comm/communicator.h"

namespace plinth::launch {
namespace {

// A non-negative integer that fits an int; anything else is a Config error naming the variable.
int parse_count(const char* variable, const std::string& text) {
  PLINTH_CHECK(!text.empty(), Config, "environment variable ", variable, " is set but empty");
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  PLINTH_CHECK(errno == 0 && end && *end == '\0' && v >= 0 && v <= INT32_MAX, Config, "environment variable ",
               variable, "='", text, "' is not a non-negative integer");
  return static_cast<int>(v);
}

class Reader {
 public:
  explicit Reader(const EnvLookup& lookup) : lookup_(lookup) {}
  bool has(const char* variable) const { return lookup_(variable) != nullptr; }
  std::string text(const char* variable) const {
    const char* v = lookup_(variable);
    return v ? std::string(v) : std::string();
  }
  // Reads an integer variable and records "NAME=value" for messages.
  int count(const char* variable, LaunchEnv& env) const {
    const std::string t = text(variable);
    int v = parse_count(variable, t);
    env.variables += str_cat(env.variables.empty() ? "" : ", ", variable, "=", t);
    return v;
  }
  // The same, or `fallback` when the variable is unset.
  int count_or(const char* variable, int fallback, LaunchEnv& env) const {
    return has(variable) ? count(variable, env) : fallback;
  }

 private:
  const EnvLookup& lookup_;
};

void check_below(int value, const char* value_var, int bound, const char* bound_var) {
  PLINTH_CHECK(value < bound, Config, "environment variable ", value_var, "=", value, " is not below ", bound_var,
               "=", bound);
}

}  // namespace

const char* launcher_name(Launcher l) {
  switch (l) {
    case Launcher::None: return "no launcher";
    case Launcher::OpenMpi: return "Open MPI mpirun";
    case Launcher::SlurmStep: return "Slurm srun step";
    case Launcher::SlurmBatch: return "Slurm allocation outside any job step";
  }
  return "?";
}

int slurm_tasks_on_node(const std::string& spec, int node, const char* variable) {
  // Comma-separated items "N" or "N(xK)".
  std::vector<int> counts;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t paren = item.find('(');
    int n = 0, repeat = 1;
    if (paren == std::string::npos) {
      n = parse_count(variable, item);
    } else {
      PLINTH_CHECK(item.size() > paren + 3 && item.compare(paren, 2, "(x") == 0 && item.back() == ')', Config,
                   "environment variable ", variable, "='", spec, "': cannot read '", item, "'");
      n = parse_count(variable, item.substr(0, paren));
      repeat = parse_count(variable, item.substr(paren + 2, item.size() - paren - 3));
    }
    for (int k = 0; k < repeat && static_cast<int>(counts.size()) <= node; ++k) counts.push_back(n);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  PLINTH_CHECK(node >= 0 && node < static_cast<int>(counts.size()), Config, "environment variable ", variable, "='",
               spec, "' lists no node ", node);
  return counts[static_cast<size_t>(node)];
}

LaunchEnv launch_env_read(const EnvLookup& lookup) {
  Reader r(lookup);
  LaunchEnv env;
  env.job_id = r.text("SLURM_JOB_ID");
  if (r.has("OMPI_COMM_WORLD_SIZE")) {
    env.launcher = Launcher::OpenMpi;
    env.size = r.count("OMPI_COMM_WORLD_SIZE", env);
    env.rank = r.count("OMPI_COMM_WORLD_RANK", env);
    env.local_rank = r.count_or("OMPI_COMM_WORLD_LOCAL_RANK", -1, env);
    env.local_size = r.count_or("OMPI_COMM_WORLD_LOCAL_SIZE", -1, env);
    check_below(env.rank, "OMPI_COMM_WORLD_RANK", env.size, "OMPI_COMM_WORLD_SIZE");
    if (env.local_rank >= 0 && env.local_size >= 0)
      check_below(env.local_rank, "OMPI_COMM_WORLD_LOCAL_RANK", env.local_size, "OMPI_COMM_WORLD_LOCAL_SIZE");
  } else if (r.has("SLURM_STEP_NUM_TASKS")) {
    env.launcher = Launcher::SlurmStep;
    env.size = r.count("SLURM_STEP_NUM_TASKS", env);
    env.rank = r.count("SLURM_PROCID", env);
    env.local_rank = r.count_or("SLURM_LOCALID", -1, env);
    check_below(env.rank, "SLURM_PROCID", env.size, "SLURM_STEP_NUM_TASKS");
    env.local_size = -1;
    if (r.has("SLURM_STEP_TASKS_PER_NODE") && r.has("SLURM_NODEID")) {
      const int node = r.count("SLURM_NODEID", env);
      const std::string spec = r.text("SLURM_STEP_TASKS_PER_NODE");
      env.variables += str_cat(", SLURM_STEP_TASKS_PER_NODE=", spec);
      env.local_size = slurm_tasks_on_node(spec, node, "SLURM_STEP_TASKS_PER_NODE");
      if (env.local_rank >= 0) check_below(env.local_rank, "SLURM_LOCALID", env.local_size, "the tasks on this node");
    }
  } else if (!env.job_id.empty()) {
    env.launcher = Launcher::SlurmBatch;
    env.rank = -1;
    env.size = r.count_or("SLURM_NTASKS", 1, env);
    env.local_rank = env.local_size = -1;
  }
  return env;
}

LaunchEnv launch_env_read() {
  return launch_env_read([](const char* name) -> const char* { return std::getenv(name); });
}

void launch_env_check(const LaunchEnv& env, int mpi_rank, int mpi_size) {
  const std::string job = env.job_id.empty() ? std::string() : str_cat(" in Slurm job ", env.job_id);
  switch (env.launcher) {
    case Launcher::None:
      return;
    case Launcher::SlurmBatch:
      // One process in an allocation of several tasks: only an MPI world that spans all of them is right.
      PLINTH_CHECK(env.size <= 1 || mpi_size == env.size, Config, "launch mismatch", job, ": the job has ", env.size,
                   " tasks (", env.variables, ") but plinth runs outside any job step (SLURM_STEP_NUM_TASKS unset) ",
                   "as an MPI world of ", mpi_size, "; start it with `srun --mpi=pmix plinth train ...` or `mpirun ",
                   "plinth train ...` inside the batch script (or ask for --ntasks=1)");
      return;
    case Launcher::OpenMpi:
    case Launcher::SlurmStep: {
      const char* cause = env.launcher == Launcher::SlurmStep
                              ? "srun started the tasks without a working MPI wire-up (use `srun --mpi=pmix` for "
                                "Open MPI; check `srun --mpi=list`), or plinth is linked to another MPI than the "
                                "launcher's"
                              : "the processes were started by an mpirun of another MPI installation than the one "
                                "plinth is linked to";
      PLINTH_CHECK(mpi_size == env.size, Config, "launch mismatch", job, ": ", launcher_name(env.launcher),
                   " says world size ", env.size, " and rank ", env.rank, " (", env.variables,
                   ") but the MPI world has size ", mpi_size, " and rank ", mpi_rank, ": ", cause);
      PLINTH_CHECK(mpi_rank == env.rank, Config, "launch mismatch", job, ": ", launcher_name(env.launcher),
                   " says rank ", env.rank, " (", env.variables, ") but MPI_COMM_WORLD says rank ", mpi_rank,
                   " of ", mpi_size);
      return;
    }
  }
}

LaunchEnv launch_env_verify(comm::Communicator& world) {
  std::string error;
  LaunchEnv env;
  try {
    env = launch_env_read();
    launch_env_check(env, world.rank(), world.size());
  } catch (const Error& e) {
    if (world.size() == 1) throw;
    error = e.what();
  }
  if (world.size() > 1) {
    // Agree: the lowest failing rank (+1), 0 when every rank is fine.
    int64_t failed = error.empty() ? 0 : world.rank() + 1;
    int64_t first = failed == 0 ? INT64_MAX : failed;
    world.all_reduce(&first, 1, comm::DType::I64, comm::ReduceOp::Min);
    if (first != INT64_MAX) {
      PLINTH_CHECK(error.empty(), Config, error);
      PLINTH_THROW(Config, "launch mismatch on rank ", first - 1, " (see its message); this rank's launch variables: ",
                   env.variables.empty() ? "none" : env.variables);
    }
  }
  if (env.launcher != Launcher::None)
    log_info(str_cat("launch: ", launcher_name(env.launcher), env.job_id.empty() ? "" : str_cat(" (job ", env.job_id, ")"),
                     ", world ", world.size(),
                     env.local_rank >= 0 && env.local_size > 0
                         ? str_cat(", node-local rank ", env.local_rank, " of ", env.local_size)
                         : std::string(),
                     "; agrees with the MPI world"));
  return env;
}

}  // namespace plinth::launch
