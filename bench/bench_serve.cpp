// Load benchmark of `textune serve` with wrk (Debian's, over loopback, time-bounded), in one run:
//   1. dynamic batching (the default flags), 64 connections: requests/s, p50 and p99 latency;
//   2. batching turned off (--max-batch-requests 1), the same load: the speed-up of 1 over 2;
//   3. overload: --max-concurrent-requests 16 under 64 connections (4 times the limit): only 200s
//      and 503s, and no connection errors.
// Request bodies are SST-2 dev sentences ({"inputs": SENTENCE}) cycled by a wrk Lua script.
//
// usage: bench_serve [--model DIR] [--seconds N] [--connections N]
//   without --model, a BERT classifier (4 layers, hidden 256, the bert-base-uncased vocabulary,
//   2 labels) is made with `textune init` in a temporary directory.
// Exit status 1 when the overload run shows anything but 200/503 or any socket error.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "textune/core/fs.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string shared_dir() {
  if (const char* env = std::getenv("TEXTUNE_SHARED")) return env;
  return TEXTUNE_SHARED_DIR;
}

std::string self_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path().string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A child process with standard output and error in one file.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& log) : log_(log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    if (pid_ < 0) throw std::runtime_error("cannot start " + args[0]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  /// Waits for the exit; returns the exit code (-1 for a signal).
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  std::string output() const { return read_text(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

int run(const std::vector<std::string>& args, const std::string& log) {
  Child c(args, log);
  return c.wait();
}

/// `textune serve` on a free loopback port.
class Server {
 public:
  Server(const std::string& model, const std::vector<std::string>& flags, const std::string& log) {
    std::vector<std::string> args = {self_dir() + "/textune", "serve", "--model", model, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    child_ = std::make_unique<Child>(args, log);
    const std::string marker = "listening on http://127.0.0.1:";
    for (int i = 0; i < 600; ++i) {
      const std::string out = child_->output();
      auto p = out.find(marker);
      if (p != std::string::npos && out.find('\n', p) != std::string::npos) {
        port_ = std::stoi(out.substr(p + marker.size()));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("textune serve did not start:\n" + child_->output());
  }
  int port() const { return port_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  /// SIGTERM, then the exit code.
  int stop() {
    child_->signal(SIGTERM);
    return child_->wait();
  }
  /// Mean sequences per model batch, from /metrics.
  double mean_batch_size() const {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/metrics");
    if (!r) return 0;
    auto value = [&](const std::string& name) {
      auto p = r->body.find("\n" + name + " ");
      return p == std::string::npos ? 0.0 : std::stod(r->body.substr(p + name.size() + 2));
    };
    const double n = value("te_batch_next_size_count");
    return n > 0 ? value("te_batch_next_size_sum") / n : 0;
  }

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

/// The wrk script: POST /predict with SST-2 sentences in turn; counts statuses per thread and prints
/// one JSON line (prefixed "RESULT ") with throughput, latency percentiles and errors.
std::string lua_script(const std::vector<std::string>& sentences) {
  std::string s = "local bodies = {\n";
  for (const auto& t : sentences) s += "  [==[" + Json{{"inputs", t}}.dump() + "]==],\n";
  s += R"(}
local i = 0
s200, s503, sother = 0, 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) i = math.random(#bodies) end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, bodies[i])
end
function response(status, headers, body)
  if status == 200 then s200 = s200 + 1 elseif status == 503 then s503 = s503 + 1 else sother = sother + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do a = a + t:get("s200"); b = b + t:get("s503"); c = c + t:get("sother") end
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"s200": %d, "s503": %d, "other": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    a, b, c, e.connect, e.read, e.write, e.timeout))
end
)";
  return s;
}

Json wrk(const std::string& url, const std::string& script, int connections, int seconds, const std::string& log) {
  const int threads = std::min(connections, 2);
  run({"wrk", "-t" + std::to_string(threads), "-c" + std::to_string(connections), "-d" + std::to_string(seconds) + "s",
       "--timeout", "10s", "-s", script, url + "/predict"},
      log);
  const std::string out = read_text(log);
  auto p = out.find("RESULT ");
  if (p == std::string::npos) throw std::runtime_error("wrk failed:\n" + out);
  Json j = Json::parse(out.substr(p + 7, out.find('\n', p) - p - 7));
  j["rps"] = j["s200"].get<double>() / j["seconds"].get<double>();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int seconds = 10, connections = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model")
      model = argv[i + 1];
    else if (a == "--seconds")
      seconds = std::stoi(argv[i + 1]);
    else if (a == "--connections")
      connections = std::stoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::err);  // no warning about the new, untrained head
  const fs::path tmp = fs::temp_directory_path() / fmt::format("textune-bench-serve-{}", ::getpid());
  fs::create_directories(tmp);
  if (model.empty()) {
    // The encoder and tokenizer from `textune init`, plus a 2-label classification head (random
    // weights: speed does not depend on them).
    const std::string base = (tmp / "base").string();
    model = (tmp / "model").string();
    const int rc = run({self_dir() + "/textune", "init", "--arch", "bert", "--vocab",
                        shared_dir() + "/data/vocab/bert-base-uncased/vocab.txt", "--layers", "4", "--hidden", "256",
                        "--heads", "4", "--intermediate", "1024", "--max-position", "128", "--output", base},
                       (tmp / "init.log").string());
    if (rc != 0) {
      std::cerr << "textune init failed:\n" << read_text((tmp / "init.log").string());
      return 1;
    }
    textune::models::LoadOptions lo;
    lo.architecture = "BertForSequenceClassification";
    lo.labels = std::vector<std::string>{"negative", "positive"};
    auto classifier = textune::models::load_pretrained(base, lo);
    textune::core::AtomicDirectory dir(model);
    textune::models::save_pretrained_into(classifier, dir.staging_path());
    textune::tokenizers::copy_tokenizer_files(base, dir.staging_path());
    dir.commit();
  }
  std::vector<std::string> sentences;
  {
    std::ifstream in(shared_dir() + "/data/en/sst2/dev.tsv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line) && sentences.size() < 512) sentences.push_back(line.substr(0, line.find('\t')));
  }
  const std::string script = (tmp / "predict.lua").string();
  std::ofstream(script) << lua_script(sentences);

  struct Run {
    std::string name;
    std::vector<std::string> flags;
    int connections;
    Json result;
    double mean_batch = 0;
    int exit_code = 0;
  };
  std::vector<Run> runs = {
      {"dynamic batching (defaults)", {}, connections, {}},
      {"no batching (--max-batch-requests 1)", {"--max-batch-requests", "1"}, connections, {}},
      {"overload (--max-concurrent-requests 16)", {"--max-concurrent-requests", "16"}, 64, {}},
  };
  for (auto& r : runs) {
    Server server(model, r.flags, (tmp / "serve.log").string());
    wrk(server.url(), script, r.connections, 2, (tmp / "wrk.log").string());  // warm-up
    r.result = wrk(server.url(), script, r.connections, seconds, (tmp / "wrk.log").string());
    r.mean_batch = server.mean_batch_size();
    r.exit_code = server.stop();
  }
  fs::remove_all(tmp);

  std::cout << fmt::format("textune serve under wrk: {} connections, {} s per run, loopback, SST-2 dev sentences\n",
                           connections, seconds);
  for (const auto& r : runs) {
    const Json& j = r.result;
    std::cout << fmt::format(
        "{:<42} {:8.1f} req/s  p50 {:7.2f} ms  p99 {:7.2f} ms  mean batch {:5.2f}  200: {}  503: {}  other: {}  "
        "socket errors: {}  exit {}\n",
        r.name + " c=" + std::to_string(r.connections), j["rps"].get<double>(), j["p50_ms"].get<double>(),
        j["p99_ms"].get<double>(), r.mean_batch, j["s200"].get<int64_t>(), j["s503"].get<int64_t>(),
        j["other"].get<int64_t>(),
        j["connect"].get<int64_t>() + j["read"].get<int64_t>() + j["write"].get<int64_t>() +
            j["timeout"].get<int64_t>(),
        r.exit_code);
  }
  const double speedup = runs[0].result["rps"].get<double>() / std::max(1e-9, runs[1].result["rps"].get<double>());
  std::cout << fmt::format("speed-up of dynamic batching over no batching: {:.2f}x requests/s\n", speedup);
  const Json& o = runs[2].result;
  const int64_t socket_errors =
      o["connect"].get<int64_t>() + o["read"].get<int64_t>() + o["write"].get<int64_t>() + o["timeout"].get<int64_t>();
  const bool overload_ok = o["other"].get<int64_t>() == 0 && socket_errors == 0 && o["s503"].get<int64_t>() > 0;
  std::cout << fmt::format("overload at 4x the concurrency limit: {} (200s and 503s only, no connection errors)\n",
                           overload_ok ? "OK" : "FAILED");
  bool exits_ok = true;
  for (const auto& r : runs) exits_ok = exits_ok && r.exit_code == 0;
  if (!exits_ok) std::cout << "a server did not exit 0 on SIGTERM\n";
  return overload_ok && exits_ok ? 0 : 1;
}
