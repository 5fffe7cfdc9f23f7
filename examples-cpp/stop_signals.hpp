// How the example servers stop: SIGINT and SIGTERM are blocked before the library starts its
// threads (so none of them takes the signal) and the main thread waits for one with sigwait.
#ifndef WSS_EXAMPLES_STOP_SIGNALS_HPP
#define WSS_EXAMPLES_STOP_SIGNALS_HPP

#include <pthread.h>

#include <csignal>

/// Blocks SIGINT and SIGTERM in this thread and the threads it starts from now on.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  /// Wait for SIGINT or SIGTERM; returns which.
  int wait() const {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

 private:
  sigset_t set_;
};

#endif  // WSS_EXAMPLES_STOP_SIGNALS_HPP
