// stop_signal.h -- SIGTERM / SIGUSR1 become a request to save and stop at the next step boundary.
// A signal handler can only touch process-wide state, so this is the one global of plinth: a
// sig_atomic_t holding the number of the last stop signal (0 = none). launch/ installs the
// handlers and hands the trainer a read-only view of the flag; the trainer agrees on it across
// all ranks at every step boundary (any rank signalled stops every rank), saves a checkpoint and
// returns, and `plinth train` exits with kExitSavedRequeue.
#pragma once
#include <csignal>

namespace plinth::launch {

// "Saved a checkpoint on request; run me again (with checkpoint.resume = auto) to continue."
// EX_TEMPFAIL from sysexits.h; the Slurm batch scripts requeue the job on it.
inline constexpr int kExitSavedRequeue = 75;

// Installs the handlers for SIGTERM and SIGUSR1 (idempotent) and returns the flag they set.
const volatile std::sig_atomic_t* install_stop_signal_handlers();

const char* stop_signal_name(int signal_number);   // "SIGTERM", "SIGUSR1"

}  // namespace plinth::launch
