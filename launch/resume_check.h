// resume_check.h -- a resumed run must be the run that was saved: the settings that shape its
// trajectory (the model, the data and its order, the batch, the optimizer, the learning rate up
// to the resume step) are compared with the configuration stored in the checkpoint, and every
// difference the user did not name in checkpoint.allow_changes is refused, listed in one line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "launch/run_config.h"

namespace plinth::launch {

// Compares every trajectory key of the configuration stored in the checkpoint (`stored_ini`)
// with this run's (a key the stored text lacks, from an older plinth, is not compared). The
// learning-rate schedule keys (optim.schedule, lr, min_lr, warmup_steps, cooldown_steps,
// train.steps) count as changed only when the schedule gives another rate at some step <= `step`
// (0-based; the steps trained and the next one): extending a constant or constant + cooldown run
// before its cooldown begins is the same run, longer; a cosine run's is not. Throws Config naming
// the checkpoint and listing the changes checkpoint.allow_changes does not name; allowed ones are
// logged.
void check_resume_config(const std::string& stored_ini, const std::string& ckpt_dir, int64_t step,
                         const RunConfig& now);

}  // namespace plinth::launch
