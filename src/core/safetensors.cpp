// safetensors reader (mmap, zero copy) and writer. Format: Hugging Face `safetensors` crate
// (safetensors/src/tensor.rs): u64 header size, JSON header padded with spaces to 8 bytes, buffer.
#include "textune/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"

namespace textune::core {
namespace {

struct DtypeSpec {
  const char* name;
  torch::ScalarType type;
  int64_t size;
  int rank;  // the writer's sort key: the crate's Dtype enum order
};

const DtypeSpec kDtypes[] = {
    {"BOOL", torch::kBool, 1, 0},     {"U8", torch::kUInt8, 1, 1},
    {"I8", torch::kInt8, 1, 2},       {"I16", torch::kInt16, 2, 5},
    {"F16", torch::kFloat16, 2, 7},   {"BF16", torch::kBFloat16, 2, 8},
    {"I32", torch::kInt32, 4, 9},     {"F32", torch::kFloat32, 4, 11},
    {"F64", torch::kFloat64, 8, 12},  {"I64", torch::kInt64, 8, 13},
};

const DtypeSpec* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeSpec* find_dtype(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

// The safetensors crate's MAX_HEADER_SIZE (safetensors/src/tensor.rs): 100 MB.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw DataError("corrupt safetensors file " + path + ": " + what);
}

}  // namespace

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr && addr != MAP_FAILED) munmap(addr, size);
  }
};

std::string safetensors_dtype(torch::ScalarType type) {
  const DtypeSpec* d = find_dtype(type);
  if (!d) throw DataError(std::string("safetensors cannot store tensors of type ") + c10::toString(type));
  return d->name;
}

torch::ScalarType torch_dtype_from_safetensors(const std::string& dtype) {
  const DtypeSpec* d = find_dtype(dtype);
  if (!d) throw DataError("unknown safetensors dtype \"" + dtype + "\"");
  return d->type;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw DataError("cannot stat " + path + ": " + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw DataError(path + " is a directory, expected a .safetensors file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    corrupt(path, "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = file_size;
  mapping->addr = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping->addr == MAP_FAILED) throw DataError("cannot map " + path + ": " + std::strerror(errno));
  f.mapping_ = mapping;
  const auto* bytes = static_cast<const uint8_t*>(mapping->addr);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > file_size - 8)
    corrupt(path, "header length " + std::to_string(header_len) + " runs past the end of the " +
                      std::to_string(file_size) + "-byte file");
  const uint64_t buffer_size = file_size - 8 - header_len;
  f.data_ = bytes + 8 + header_len;

  if (header_len > kMaxHeaderSize)
    corrupt(path, "header length " + std::to_string(header_len) + " is above the format's limit of " +
                      std::to_string(kMaxHeaderSize) + " bytes");

  // Linear-time parse (a header may list hundreds of thousands of tensors); a real header is 3
  // levels deep, the crate's serde_json stops at 128.
  Json header;
  JsonLimits limits;
  limits.max_depth = 64;
  limits.max_object_keys = kMaxHeaderSize;  // bounded by the header size itself
  try {
    header = parse_json(std::string_view(reinterpret_cast<const char*>(bytes + 8), header_len), "header", limits);
  } catch (const DataError& e) {
    corrupt(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) corrupt(path, "header is not a JSON object");

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) corrupt(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) corrupt(path, "__metadata__ value of \"" + m.key() + "\" is not a string");
        f.metadata_.emplace_back(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\"";
    if (!v.is_object()) corrupt(path, where + " entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) corrupt(path, where + " has no string \"dtype\"");
    if (sh == v.end() || !sh->is_array()) corrupt(path, where + " has no \"shape\" array");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      corrupt(path, where + " has no \"data_offsets\" pair of non-negative integers");
    TensorInfo info;
    info.name = name;
    info.dtype = dt->get<std::string>();
    const DtypeSpec* spec = find_dtype(info.dtype);
    if (!spec) corrupt(path, where + " has unknown dtype \"" + info.dtype + "\"");
    unsigned __int128 numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) corrupt(path, where + " has a shape entry that is not a non-negative integer");
      info.shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
      if (numel > (static_cast<unsigned __int128>(1) << 62)) corrupt(path, where + " has an impossibly large shape");
    }
    info.begin = (*off)[0].get<uint64_t>();
    info.end = (*off)[1].get<uint64_t>();
    if (info.begin > info.end) corrupt(path, where + " has data_offsets with begin after end");
    if (info.end > buffer_size)
      corrupt(path, where + " data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                        "] run past the end of the " + std::to_string(buffer_size) + "-byte data buffer");
    const unsigned __int128 expected = numel * static_cast<unsigned __int128>(spec->size);
    if (expected != static_cast<unsigned __int128>(info.end - info.begin)) {
      std::string shape_s;
      for (size_t i = 0; i < info.shape.size(); ++i) shape_s += (i ? "," : "") + std::to_string(info.shape[i]);
      corrupt(path, where + " has shape [" + shape_s + "] of " + info.dtype + " (" +
                        std::to_string(static_cast<uint64_t>(expected)) + " bytes) but data_offsets span " +
                        std::to_string(info.end - info.begin) + " bytes");
    }
    if (f.index_.count(name)) corrupt(path, where + " appears twice");
    f.index_[name] = f.tensors_.size();
    f.tensors_.push_back(std::move(info));
    ranges.emplace_back(f.tensors_.back().begin, f.tensors_.back().end);
  }
  // Overlap check: sort by begin; an empty tensor overlaps nothing.
  std::vector<size_t> order(f.tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f.tensors_[a].begin < f.tensors_[b].begin; });
  const TensorInfo* prev = nullptr;
  for (size_t i : order) {
    const TensorInfo& t = f.tensors_[i];
    if (t.begin == t.end) continue;
    if (prev && t.begin < prev->end)
      corrupt(path, "tensors \"" + prev->name + "\" and \"" + t.name + "\" have overlapping data_offsets");
    prev = &t;
  }
  return f;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw DataError("tensor \"" + name + "\" not found in " + path_);
  return tensors_[it->second];
}

torch::Tensor SafetensorsFile::get(const std::string& name) const {
  const TensorInfo& t = info(name);
  const DtypeSpec* spec = find_dtype(t.dtype);
  auto options = torch::TensorOptions().dtype(spec->type).device(torch::kCPU);
  const uint8_t* ptr = data_ + t.begin;
  if (t.begin == t.end) return torch::empty(t.shape, options);
  if (reinterpret_cast<uintptr_t>(ptr) % static_cast<uintptr_t>(spec->size) != 0) {
    auto out = torch::empty(t.shape, options);
    std::memcpy(out.data_ptr(), ptr, t.end - t.begin);
    return out;
  }
  std::shared_ptr<Mapping> keep = mapping_;
  return torch::from_blob(const_cast<uint8_t*>(ptr), t.shape, [keep](void*) mutable { keep.reset(); }, options);
}

std::vector<std::pair<std::string, torch::Tensor>> SafetensorsFile::all() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.emplace_back(t.name, get(t.name));
  return out;
}

std::string serialize_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (header.contains(name)) throw DataError("cannot save two tensors named \"" + name + "\"");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    Json entry = Json::object();
    entry["dtype"] = safetensors_dtype(t.scalar_type());
    entry["shape"] = t.sizes().vec();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    entry["data_offsets"] = {offset, offset + nbytes};
    offset += nbytes;
    header[name] = entry;
    contiguous.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& t : contiguous)
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
  return out;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::vector<std::pair<std::string, std::string>>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

void save_safetensors_pretrained(const std::string& path,
                                 std::vector<std::pair<std::string, torch::Tensor>> tensors) {
  // The crate's writer sorts by dtype (its enum order, largest first), then by name.
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    const int ra = find_dtype(a.second.scalar_type()) ? find_dtype(a.second.scalar_type())->rank : -1;
    const int rb = find_dtype(b.second.scalar_type()) ? find_dtype(b.second.scalar_type())->rank : -1;
    if (ra != rb) return ra > rb;
    return a.first < b.first;
  });
  save_safetensors(path, tensors, {{"format", "pt"}});
}

ShardedSaveResult save_safetensors_sharded(const std::string& dir,
                                           const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                           uint64_t max_shard_size) {
  if (max_shard_size == 0) throw DataError("max_shard_size must be positive");
  // Split in order: a tensor that would tip the current shard over the limit starts a new one; a
  // tensor above the limit gets a shard of its own.
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_size = 0;
  ShardedSaveResult result;
  uint64_t total_parameters = 0;
  std::map<std::string, bool> seen;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (seen.count(name)) throw DataError("cannot save two tensors named \"" + name + "\"");
    seen[name] = true;
    const uint64_t size = static_cast<uint64_t>(t.numel()) * t.element_size();
    total_parameters += static_cast<uint64_t>(t.numel());
    result.total_size += size;
    if (size > max_shard_size) {
      shards.push_back({i});
      continue;
    }
    if (current_size + size > max_shard_size && !current.empty()) {
      shards.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += size;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  if (shards.size() == 1) {
    save_safetensors_pretrained(dir + "/model.safetensors", tensors);
    result.files = {"model.safetensors"};
    return result;
  }
  // json.dumps(index, indent=2, sort_keys=True): std::map orders the keys.
  std::map<std::string, std::string> weight_map;
  const size_t n = shards.size();
  for (size_t s = 0; s < n; ++s) {
    const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, n);
    std::vector<std::pair<std::string, torch::Tensor>> part;
    for (size_t i : shards[s]) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].first] = file;
    }
    save_safetensors_pretrained(dir + "/" + file, std::move(part));
    result.files.push_back(file);
  }
  nlohmann::json index = nlohmann::json::object();  // sorted keys
  index["metadata"] = {{"total_parameters", total_parameters}, {"total_size", result.total_size}};
  index["weight_map"] = weight_map;
  write_file_atomic(dir + "/model.safetensors.index.json", index.dump(2) + "\n");
  result.files.push_back("model.safetensors.index.json");
  return result;
}

}  // namespace textune::core
