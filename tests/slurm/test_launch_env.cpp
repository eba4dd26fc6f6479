// test_launch_env.cpp -- launch_env: which variables count under mpirun, srun, a batch shell and no
// launcher (the environments recorded from real jobs on the test cluster), Slurm's tasks-per-node
// notation, the mismatch messages, and slurm_time_seconds / submit option parsing.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.h"
#include "launch/launch_env.h"
#include "launch/submit_command.h"

namespace plinth::launch {
namespace {

using Env = std::map<std::string, std::string>;

LaunchEnv read(const Env& env) {
  return launch_env_read([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::string check_message(const LaunchEnv& e, int rank, int size) {
  try {
    launch_env_check(e, rank, size);
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::Config);
    return err.what();
  }
  return "";
}

// Rank 2 of `srun --mpi=pmix` over 2 nodes x 2 tasks (values as seen in a job on the test cluster).
const Env kSrunRank2 = {{"SLURM_JOB_ID", "11"},       {"SLURM_NTASKS", "4"},    {"SLURM_STEP_NUM_TASKS", "4"},
                        {"SLURM_PROCID", "2"},        {"SLURM_LOCALID", "0"},   {"SLURM_NODEID", "1"},
                        {"SLURM_STEP_ID", "0"},       {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"}};

// Rank 3 of Open MPI's mpirun inside that allocation: SLURM_* describe mpirun's daemon step.
const Env kMpirunRank3 = {{"SLURM_JOB_ID", "2"},           {"SLURM_PROCID", "1"},
                          {"SLURM_STEP_NUM_TASKS", "2"},   {"SLURM_LOCALID", "0"},
                          {"SLURM_NODEID", "1"},           {"SLURM_STEP_TASKS_PER_NODE", "1(x2)"},
                          {"OMPI_COMM_WORLD_RANK", "3"},   {"OMPI_COMM_WORLD_SIZE", "4"},
                          {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}};

TEST(LaunchEnv, NoLauncherChecksNothing) {
  LaunchEnv e = read({});
  EXPECT_EQ(e.launcher, Launcher::None);
  EXPECT_EQ(check_message(e, 0, 1), "");
}

TEST(LaunchEnv, SrunStep) {
  LaunchEnv e = read(kSrunRank2);
  EXPECT_EQ(e.launcher, Launcher::SlurmStep);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.size, 4);
  EXPECT_EQ(e.local_rank, 0);
  EXPECT_EQ(e.local_size, 2);
  EXPECT_EQ(e.job_id, "11");
  EXPECT_EQ(check_message(e, 2, 4), "");
}

TEST(LaunchEnv, MpirunInsideAllocationUsesOpenMpiVariables) {
  LaunchEnv e = read(kMpirunRank3);
  EXPECT_EQ(e.launcher, Launcher::OpenMpi);
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_size, 2);
  EXPECT_EQ(check_message(e, 3, 4), "");
}

TEST(LaunchEnv, EveryRankAWorldOfOneIsAnError) {
  const std::string m = check_message(read(kSrunRank2), 0, 1);
  EXPECT_NE(m.find("launch mismatch in Slurm job 11"), std::string::npos) << m;
  EXPECT_NE(m.find("SLURM_STEP_NUM_TASKS=4"), std::string::npos) << m;
  EXPECT_NE(m.find("SLURM_PROCID=2"), std::string::npos) << m;
  EXPECT_NE(m.find("MPI world has size 1"), std::string::npos) << m;
  EXPECT_NE(m.find("--mpi=pmix"), std::string::npos) << m;
  const std::string o = check_message(read(kMpirunRank3), 0, 1);
  EXPECT_NE(o.find("OMPI_COMM_WORLD_SIZE=4"), std::string::npos) << o;
}

TEST(LaunchEnv, RankDisagreementIsAnError) {
  const std::string m = check_message(read(kSrunRank2), 1, 4);
  EXPECT_NE(m.find("says rank 2"), std::string::npos) << m;
  EXPECT_NE(m.find("MPI_COMM_WORLD says rank 1 of 4"), std::string::npos) << m;
}

TEST(LaunchEnv, BatchShellOfSeveralTasksIsAnError) {
  LaunchEnv e = read({{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}});
  EXPECT_EQ(e.launcher, Launcher::SlurmBatch);
  const std::string m = check_message(e, 0, 1);
  EXPECT_NE(m.find("SLURM_NTASKS=4"), std::string::npos) << m;
  EXPECT_NE(m.find("outside any job step"), std::string::npos) << m;
  // one task asked for, one process: fine
  EXPECT_EQ(check_message(read({{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "1"}}), 0, 1), "");
}

TEST(LaunchEnv, MalformedValuesNameTheVariable) {
  Env bad = kSrunRank2;
  bad["SLURM_PROCID"] = "two";
  EXPECT_THROW(read(bad), Error);
  try {
    read(bad);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SLURM_PROCID='two'"), std::string::npos) << e.what();
  }
  bad = kSrunRank2;
  bad["SLURM_PROCID"] = "4";
  try {
    read(bad);
    ADD_FAILURE() << "rank 4 of 4 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SLURM_PROCID=4 is not below SLURM_STEP_NUM_TASKS=4"), std::string::npos);
  }
}

TEST(LaunchEnv, TasksPerNodeNotation) {
  EXPECT_EQ(slurm_tasks_on_node("3,1", 0, "V"), 3);
  EXPECT_EQ(slurm_tasks_on_node("3,1", 1, "V"), 1);
  EXPECT_EQ(slurm_tasks_on_node("2(x3),1", 2, "V"), 2);
  EXPECT_EQ(slurm_tasks_on_node("2(x3),1", 3, "V"), 1);
  EXPECT_THROW(slurm_tasks_on_node("2(x3),1", 4, "V"), Error);
  EXPECT_THROW(slurm_tasks_on_node("2(y3)", 0, "V"), Error);
  EXPECT_THROW(slurm_tasks_on_node("", 0, "V"), Error);
}

TEST(Submit, SlurmTimeFormats) {
  EXPECT_EQ(slurm_time_seconds("90"), 90 * 60);
  EXPECT_EQ(slurm_time_seconds("5:30"), 5 * 60 + 30);
  EXPECT_EQ(slurm_time_seconds("04:00:00"), 4 * 3600);
  EXPECT_EQ(slurm_time_seconds("1-12"), 86400 + 12 * 3600);
  EXPECT_EQ(slurm_time_seconds("1-12:30"), 86400 + 12 * 3600 + 30 * 60);
  EXPECT_EQ(slurm_time_seconds("2-00:00:10"), 2 * 86400 + 10);
  EXPECT_EQ(slurm_time_seconds("UNLIMITED"), -1);
  for (const char* bad : {"", "1:", ":1", "1:2:3:4", "a", "1-", "-1", "1-2-3", "1:x"}) EXPECT_THROW(slurm_time_seconds(bad), Error) << bad;
}

TEST(Submit, OptionsSplitFromTrainArguments) {
  SubmitOptions o = submit_options_parse({"--nodes=2", "--ntasks-per-node", "4", "--config", "c.ini",
                                          "--train.steps=5", "--time=10", "--sbatch-arg=--exclusive", "--dry-run"});
  EXPECT_EQ(o.nodes, 2);
  EXPECT_EQ(o.tasks_per_node, 4);
  EXPECT_EQ(o.time, "10");
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(o.sbatch_args, std::vector<std::string>{"--exclusive"});
  EXPECT_EQ(o.train_args, (std::vector<std::string>{"--config", "c.ini", "--train.steps=5"}));
  EXPECT_THROW(submit_options_parse({"--nodes=two"}), Error);
  EXPECT_THROW(submit_options_parse({"--frobnicate=1"}), Error);
  EXPECT_THROW(submit_options_parse({"stray"}), Error);
  EXPECT_THROW(submit_options_parse({"--time"}), Error);
}

}  // namespace
}  // namespace plinth::launch
