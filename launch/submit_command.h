// submit_command.h -- `plinth submit`: check a training job on the submitting host (configuration,
// corpus files, the parallel layout against the task count, the time limit against the signal
// margin), render a batch script from slurm/pretrain.sbatch (or slurm/sweep_array.sbatch for a
// sweep directory) with the checked values, and hand it to sbatch. Nothing reaches the queue
// unless every check passed: a job does not wait for hours to find a typo.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plinth::launch {

struct SubmitOptions {
  int nodes = 1;
  int tasks_per_node = 1;
  std::string time = "01:00:00";          // Slurm --time format
  int64_t signal_margin_s = 300;          // USR1 this many seconds before the time limit
  std::string job_name = "plinth";
  std::string partition, account;         // empty = the cluster's defaults
  std::string launcher = "srun";          // srun | mpirun
  std::string template_path;              // empty = <slurm dir>/pretrain.sbatch or sweep_array.sbatch
  std::string plinth_bin;                 // empty = this binary
  std::string sweep_dir;                  // set = a job array over <sweep_dir>/runs/*/config.ini
  std::vector<std::string> sbatch_args;   // extra #SBATCH options, e.g. --exclusive
  bool dry_run = false;                   // render and write the script, do not call sbatch
  bool help = false;
  std::vector<std::string> train_args;    // --config FILE and --section.key=value, passed to plinth train
};

// Splits submit options from train arguments (--config and --section.key=value). Throws
// plinth::Error(Config) naming the option when one is unknown or malformed.
SubmitOptions submit_options_parse(const std::vector<std::string>& args);

// Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. Throws Config naming --time.
int64_t slurm_time_seconds(const std::string& text);

// What the checks found, for the rendered script and the summary.
struct SubmitPlan {
  int tasks = 1;
  int tp = 1, pp = 1, dp = 1;
  std::string out_dir;                    // absolute; the Slurm log and the rendered script go here
  std::vector<std::string> run_ids;       // sweep mode: the runs, array task i = run_ids[i]
};

// Every check that can run before sbatch; throws plinth::Error naming the key, option or file.
SubmitPlan submit_check(const SubmitOptions& o);

// The template with its #SBATCH values replaced and the settings block filled in.
std::string submit_render(const std::string& template_text, const SubmitOptions& o, const SubmitPlan& plan,
                          const std::string& slurm_dir);

// ---- the build's instruction set against the partition's nodes ----
// The node feature lists of `partition` (the default one, marked '*', when empty) in the output
// of `sinfo -h -o "%P %f"`: one "PARTITION FEATURES" line per node group, features comma-separated,
// "(null)" for none.
std::vector<std::string> partition_features(const std::string& sinfo_output, const std::string& partition);

// One warning line when this build needs x86 features (`required`, from
// kernels::build_isa_requirements(): empty for the portable build) that nodes of the partition
// may lack: a node group reports instruction-set features (avx*, sse4*, fma, x86-64-vN) without
// all of them, or some group reports none, so nobody can tell. nullopt when there is nothing to say.
std::optional<std::string> isa_warning(const std::vector<std::string>& required,
                                       const std::vector<std::string>& feature_lists, const std::string& partition);

int command_submit(const std::vector<std::string>& args);

}  // namespace plinth::launch
