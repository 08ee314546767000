// The hostile-HTTP attack suite (issue 11): slow heads (slowloris), bodies with many keys, huge
// Content-Lengths, abandoned requests, deep nesting and over-large heads, all at once against one
// server on loopback, while a prober asks GET /health every 50 ms. Bounded: it runs for
// `duration_s`, then collects what each attacker got and returns; it never waits on a socket longer
// than a few seconds. Used in process (attack_test.cpp) and against `textune serve` (cli_serve_test.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve_support.h"

namespace textune::testing {

/// How hard to attack. The server must have max_request_bytes >= 2,000,000 (TEI's default), a head
/// timeout shorter than `duration_s` and a read timeout longer than `trickle_ms`.
struct AttackPlan {
  size_t slow_heads = 200;  ///< connections trickling a header line every trickle_ms
  int trickle_ms = 300;
  double duration_s = 4;    ///< how long the attack lasts
  size_t many_keys = 2;     ///< /predict bodies of 1.9 MB with 170,000 keys
  size_t abandoned = 8;     ///< /tokenize requests of 1.5 MB closed right after sending
  size_t huge_lengths = 6;  ///< requests announcing Content-Lengths above the limit, without a body
};

/// What happened.
struct AttackReport {
  size_t health_probes = 0;
  size_t health_ok = 0;        ///< probes answered 200
  double health_max_ms = 0;    ///< the slowest probe's answer
  size_t slow_heads_408 = 0;   ///< slow heads the server answered 408 (within the attack)
  size_t slow_heads_open = 0;  ///< slow heads neither answered nor closed by the end
  std::vector<int> many_keys_status;
  double many_keys_max_ms = 0;
  std::vector<int> huge_length_status;
  double huge_length_max_ms = 0;
  std::vector<int> deep_status;  ///< 1 MB of '[' and of '{"a":'
  int big_head_status = 0;       ///< a 100 KB head
};

/// 1.9 MB: {"inputs": "a", "k0": 0, ..., "k169999": 0}.
inline std::string many_keys_body(size_t keys = 170000) {
  std::string body = R"({"inputs": "a")";
  body.reserve(keys * 12 + 32);
  for (size_t i = 0; i < keys; ++i) body += ",\"k" + std::to_string(i) + "\":0";
  body += "}";
  return body;
}

/// One request on a new connection; its status (-1 when none came) and how long it took.
inline std::pair<int, double> timed_request(int port, const std::string& request, int timeout_ms = 5000) {
  const auto t0 = std::chrono::steady_clock::now();
  RawConnection c(port);
  if (!c.connected()) return {-1, 0};
  c.send(request);
  const int status = status_of(c.receive(std::chrono::milliseconds(timeout_ms)));
  return {status, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()};
}

inline AttackReport run_attack_suite(int port, const AttackPlan& plan) {
  using Clock = std::chrono::steady_clock;
  AttackReport report;
  std::mutex mu;
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(plan.duration_s));

  // Slow heads: a request line, then one header line every trickle_ms, never the blank line.
  std::thread slow([&] {
    std::vector<std::unique_ptr<RawConnection>> conns;
    std::vector<std::string> got(plan.slow_heads);
    std::vector<bool> done(plan.slow_heads, false);  // answered, or closed by the server
    for (size_t i = 0; i < plan.slow_heads; ++i) {
      conns.push_back(std::make_unique<RawConnection>(port));
      conns.back()->send("GET /health HTTP/1.1\r\nHost: x\r\n");
    }
    for (int line = 0; Clock::now() < end; ++line) {
      std::this_thread::sleep_for(std::chrono::milliseconds(plan.trickle_ms));
      for (size_t i = 0; i < conns.size(); ++i) {
        if (done[i]) continue;
        got[i] = conns[i]->receive(std::chrono::milliseconds(0));
        if (!got[i].empty() || !conns[i]->send("X-Slow-" + std::to_string(line) + ": " + std::string(20, 's') + "\r\n"))
          done[i] = true;
      }
    }
    size_t answered = 0, open = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
      answered += status_of(got[i]) == 408;
      open += !done[i];
    }
    std::lock_guard<std::mutex> lock(mu);
    report.slow_heads_408 = answered;
    report.slow_heads_open = open;
  });

  // Many keys, huge lengths, deep nesting, a big head, abandoned requests: one after another.
  std::thread bodies([&] {
    const std::string keys = post_request("/predict", many_keys_body());
    for (size_t i = 0; i < plan.many_keys; ++i) {
      auto [status, ms] = timed_request(port, keys);
      std::lock_guard<std::mutex> lock(mu);
      report.many_keys_status.push_back(status);
      report.many_keys_max_ms = std::max(report.many_keys_max_ms, ms);
    }
    const std::vector<std::string> lengths = {
        "2000001", "1000000000", "18446744073709551615", "99999999999999999999999", "5000000", "2147483648"};
    for (size_t i = 0; i < plan.huge_lengths; ++i) {
      const std::string r = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                            lengths[i % lengths.size()] + "\r\n\r\n{\"inputs\": \"a";
      auto [status, ms] = timed_request(port, r);
      std::lock_guard<std::mutex> lock(mu);
      report.huge_length_status.push_back(status);
      report.huge_length_max_ms = std::max(report.huge_length_max_ms, ms);
    }
    for (const std::string& deep : {std::string(1 << 20, '['), [] {
                                      std::string s;
                                      for (int i = 0; i < 100000; ++i) s += "{\"a\":";
                                      return s;
                                    }()}) {
      auto [status, ms] = timed_request(port, post_request("/predict", deep));
      std::lock_guard<std::mutex> lock(mu);
      report.deep_status.push_back(status);
    }
    {
      auto [status, ms] =
          timed_request(port, "GET /info HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 << 10, 'h') + "\r\n\r\n");
      std::lock_guard<std::mutex> lock(mu);
      report.big_head_status = status;
    }
    // Abandoned: 32 texts of 7,000 words each (1.5 MB) to /tokenize, then the client is gone.
    std::string text;
    for (int w = 0; w < 7000; ++w) text += "word" + std::to_string(w % 97) + " ";
    core::Json inputs = core::Json::array();
    for (int i = 0; i < 32; ++i) inputs.push_back(text);
    const std::string abandoned = post_request("/tokenize", core::Json{{"inputs", inputs}}.dump());
    for (size_t i = 0; i < plan.abandoned && Clock::now() < end; ++i) {
      RawConnection c(port);
      c.send(abandoned);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  // The prober: GET /health every 50 ms, each on a new connection.
  while (Clock::now() < end) {
    auto [status, ms] = timed_request(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++report.health_probes;
      report.health_ok += status == 200;
      report.health_max_ms = std::max(report.health_max_ms, ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  slow.join();
  bodies.join();
  return report;
}

}  // namespace textune::testing
