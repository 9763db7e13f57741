#include <pthread.h>
#include <signal.h>

#include <iostream>

#include "infra/app/commands.h"

namespace kehu::app {

int RunServe(const ServerOptions& options) {
  // Block the shutdown signals before any thread starts, so that every
  // thread inherits the mask and only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string warning =
      InsecureListenWarning(options.listen, options.security);
  if (!warning.empty()) std::cerr << "kehu serve: " << warning << "\n";

  Server server(options);
  absl::Status s = server.Start();
  if (!s.ok()) {
    std::cerr << "kehu serve: " << s.message() << "\n";
    return kExitError;
  }
  std::cerr << "kehu serve: listening on " << server.address() << ", data in "
            << options.data_dir << ", " << server.log()->partition_count()
            << " partitions";
  if (server.on_kafka()) {
    std::cerr << " of Kafka topic " << options.kafka_topic << " at "
              << options.kafka_brokers << ", consumer group "
              << options.kafka_group;
  }
  std::cerr << "\n";

  // Wait for a shutdown signal, checking every second that the projector
  // (and, on Kafka, the producer) still runs: a projector that failed (disk
  // full, corruption, offsets gone from the topic) must not leave a server
  // that answers with views that no longer advance.
  absl::Status projector;
  while (true) {
    const timespec one_second{1, 0};
    const int signal_number = sigtimedwait(&signals, nullptr, &one_second);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      std::cerr << "kehu serve: "
                << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
                << ", shutting down\n";
      projector = server.status();
      break;
    }
    projector = server.status();
    if (!projector.ok()) break;
  }
  server.Shutdown();
  if (!projector.ok()) {
    std::cerr << "kehu serve: " << projector.message() << "\n";
    return kExitError;
  }
  std::cerr << "kehu serve: stopped cleanly\n";
  return kExitOk;
}

}  // namespace kehu::app
