// Helpers of the models tests: encoder fixture names, checkpoint variants written from a fixture
// (tensors dropped, renamed, reshaped, converted; config edited), and log capture.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.h"
#include "textune/core/json.h"
#include "textune/core/safetensors.h"

namespace textune::testing {

/// The encoder fixtures this layer must reproduce (../shared/fixtures/models).
inline const std::vector<std::string>& encoder_fixtures() {
  static const std::vector<std::string> names = {
      "bert-seqcls",    "bert-regression", "bert-multilabel",   "bert-tokcls",       "bert-qa",
      "bert-mlm",       "roberta-seqcls",  "roberta-tokcls",    "roberta-qa",        "distilbert-seqcls",
      "distilbert-tokcls", "distilbert-qa", "electra-seqcls", "deberta-v3-seqcls", "modernbert-seqcls"};
  return names;
}

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The tensors of a safetensors file, in file order, copied.
inline Tensors read_tensors(const std::string& path) {
  Tensors out;
  for (auto& [name, t] : core::SafetensorsFile::open(path).all()) out.emplace_back(name, t.clone());
  return out;
}

/// Names of a safetensors file, sorted.
inline std::vector<std::string> tensor_names(const std::string& path) {
  std::vector<std::string> out;
  const auto file = core::SafetensorsFile::open(path);
  for (const auto& info : file.tensors()) out.push_back(info.name);
  std::sort(out.begin(), out.end());
  return out;
}

/// Writes DIR/config.json and DIR/model.safetensors from fixture `name` after applying the edits.
inline void write_variant(const std::string& name, const std::string& dir,
                          const std::function<void(Tensors&)>& edit_tensors,
                          const std::function<void(core::Json&)>& edit_config = nullptr) {
  const std::string src = model_fixture(name);
  Tensors tensors = read_tensors(src + "/model.safetensors");
  if (edit_tensors) edit_tensors(tensors);
  core::Json config = core::read_json_file(src + "/config.json");
  if (edit_config) edit_config(config);
  std::filesystem::create_directories(dir);
  core::write_json_file(dir + "/config.json", config);
  core::save_safetensors_pretrained(dir + "/model.safetensors", tensors);
}

/// Drops every tensor whose name starts with one of `prefixes`.
inline std::function<void(Tensors&)> drop(std::vector<std::string> prefixes) {
  return [prefixes](Tensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(),
                           [&](const auto& p) {
                             for (const auto& pre : prefixes)
                               if (p.first.rfind(pre, 0) == 0) return true;
                             return false;
                           }),
            t.end());
  };
}

/// Captures what the default spdlog logger writes while alive.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

/// Runs `f` and returns the DataError/UsageError message it throws ("" when none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace textune::testing
