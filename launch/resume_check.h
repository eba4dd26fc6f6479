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

// "optim.beta2 0.95 -> 0.99" for every trajectory key whose value differs between the run saved
// (`stored_ini`, the checkpoint's config text) and this one (`now_ini`, run_config_ini), resumed
// at `step`; a key the stored text lacks (an older plinth) is not compared. The learning-rate schedule keys
// (optim.schedule, lr, min_lr, warmup_steps, cooldown_steps, train.steps) count as changed only
// when the schedule gives another learning rate at some step <= `step` (0-based): extending a constant or
// constant + cooldown run before its cooldown begins is the same run, longer (the rates of the
// steps trained and of the next one are unchanged); a cosine run's are not.
std::vector<std::string> trajectory_changes(const std::string& stored_ini, const std::string& now_ini, int64_t step);

// Throws Config naming the checkpoint and listing the changes that `allowed` (keys from
// checkpoint.allow_changes) does not cover; allowed keys that changed are logged.
void check_resume_config(const std::string& stored_ini, const std::string& ckpt_dir, int64_t step,
                         const RunConfig& now);

}  // namespace plinth::launch
