#include "models/registry.h"

#include <map>
#include <mutex>
#include <set>

namespace textune::models {
namespace {

std::map<std::string, ArchitectureSpec>& specs() {
  static std::map<std::string, ArchitectureSpec> s;
  return s;
}

/// Every family of src/models; adding a family means adding its line here.
void register_builtin_families() {
  register_bert_family();
  register_roberta_family();
  register_distilbert_family();
  register_electra_family();
  register_deberta_v2_family();
  register_modernbert_family();
}

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, register_builtin_families);
}

}  // namespace

void register_architecture(ArchitectureSpec spec) {
  std::string name = spec.architecture;
  specs()[name] = std::move(spec);
}

const ArchitectureSpec* find_architecture(const std::string& architecture) {
  ensure_registered();
  auto it = specs().find(architecture);
  return it == specs().end() ? nullptr : &it->second;
}

const ArchitectureSpec* find_architecture_for_task(const std::string& model_type, TaskKind task) {
  ensure_registered();
  for (const auto& [name, spec] : specs())
    if (spec.model_type == model_type && spec.task == task) return &spec;
  return nullptr;
}

std::vector<const ArchitectureSpec*> all_architectures() {
  ensure_registered();
  std::vector<const ArchitectureSpec*> out;
  for (const auto& [name, spec] : specs()) out.push_back(&spec);
  return out;
}

std::vector<std::string> supported_architectures() {
  std::vector<std::string> out;
  for (const auto* s : all_architectures()) out.push_back(s->architecture);
  return out;
}

std::vector<std::string> supported_model_types() {
  std::set<std::string> types;
  for (const auto* s : all_architectures()) types.insert(s->model_type);
  return {types.begin(), types.end()};
}

}  // namespace textune::models
