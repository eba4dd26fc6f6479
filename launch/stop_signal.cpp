// stop_signal.cpp -- the SIGTERM / SIGUSR1 handlers: record the signal, nothing else.
#include "launch/stop_signal.h"

namespace plinth::launch {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void record_stop_signal(int signal_number) { g_stop_signal = signal_number; }

}  // namespace

const volatile std::sig_atomic_t* install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = record_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  return &g_stop_signal;
}

const char* stop_signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    default: return "a stop signal";
  }
}

}  // namespace plinth::launch
