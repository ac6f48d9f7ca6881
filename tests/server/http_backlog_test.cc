// The listening socket takes a burst of clients: connections beyond httplib's built-in backlog of 5 complete at
// once instead of waiting for the kernel's 1 s SYN retransmit.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "server/http_server.h"

namespace r1::server {
namespace {

TEST(HttpServer, ListenBacklogTakesABurstOfClients) {
  auto model = load_model(std::string(R1_FIXTURES_DIR) + "/models/qwen2_gqa4");
  ASSERT_TRUE(model) << model.message();
  auto engine = Engine::create(**model, EngineOptions{.max_running = 1, .ctx_size = 64});
  ASSERT_TRUE(engine) << engine.message();
  const ServedModel served{.name = "m"};
  HttpServer http(**engine, served, {.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(http.bind());
  // Nobody accepts yet (serve() is not running): every connection must wait in the listen queue.
  constexpr int kClients = 64;
  std::vector<int> socks;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(http.port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < kClients; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(s, 0);
    connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS
    socks.push_back(s);
  }
  int established = 0;
  for (int s : socks) {
    pollfd p{.fd = s, .events = POLLOUT, .revents = 0};
    int error = -1;
    socklen_t len = sizeof(error);
    // Loopback handshakes finish in microseconds; a dropped SYN would take a second to be retried.
    if (poll(&p, 1, 300) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) ++established;
  }
  for (int s : socks) close(s);
  EXPECT_EQ(established, kClients);
  (*engine)->shutdown(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace r1::server
