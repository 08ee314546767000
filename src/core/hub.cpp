// Hub client and cache in huggingface_hub's layout. Behaviour follows huggingface_hub's
// file_download.py (hf_hub_download, _hf_hub_download_to_cache_dir, get_hf_file_metadata,
// http_get, _create_symlink, _cache_commit_hash_for_specific_revision), constants.py (environment
// variables) and utils/_http.py (X-Error-Code handling); see include/textune/core/hub.h.
#include "textune/core/hub.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/edit_distance.h"
#include "core/hub_http.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/core/logging.h"

namespace fs = std::filesystem;

namespace textune::core {

const std::vector<std::string> kHubTokenizerFiles = {
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "source.spm",
    "target.spm",
    "generation_config.json",
};

namespace {

constexpr const char* kDefaultEndpoint = "https://huggingface.co";
constexpr const char* kConfigName = "config.json";
constexpr const char* kWeightsName = "model.safetensors";
constexpr const char* kWeightsIndexName = "model.safetensors.index.json";
constexpr int kMaxRedirects = 10;

// ---------------------------------------------------------------- environment

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

bool env_true(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string u;
  for (char c : *v) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return u == "1" || u == "ON" || u == "YES" || u == "TRUE";
}

std::string expand_user(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const auto home = env("HOME");
    if (home) return *home + path.substr(1);
  }
  return path;
}

std::string hf_home() {
  if (auto v = env("HF_HOME"); v && !v->empty()) return expand_user(*v);
  std::string xdg = env("XDG_CACHE_HOME").value_or("");
  if (xdg.empty()) xdg = expand_user("~/.cache");
  return expand_user(xdg) + "/huggingface";
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// ---------------------------------------------------------------- small helpers

bool is_hex(const std::string& s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
bool is_commit_hash(const std::string& s) {
  return is_hex(s, 40);
}  // REGEX_COMMIT_HASH
bool is_sha256(const std::string& s) {
  return is_hex(s, 64);
}

// huggingface_hub's _normalize_etag: drop a weak "W/" prefix and the quotes.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  while (!etag.empty() && etag.front() == '"') etag.erase(etag.begin());
  while (!etag.empty() && etag.back() == '"') etag.pop_back();
  return etag;
}

std::optional<uint64_t> parse_size(const std::string& s) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::stoull(s);
}

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  return i == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[i]);
}

void validate_revision(const std::string& revision) {
  std::string problem;
  if (revision.empty())
    problem = "it is empty";
  else if (revision.size() > 255)
    problem = "it is longer than 255 characters";
  else if (revision.find("..") != std::string::npos)
    problem = "it contains \"..\"";
  else if (revision.front() == '/' || revision.back() == '/')
    problem = "it starts or ends with '/'";
  else
    for (unsigned char c : revision)
      if (c <= ' ' || c == 0x7f || c == '\\') {
        problem = "it contains a space, a control character or '\\'";
        break;
      }
  if (!problem.empty())
    throw DataError("invalid --revision \"" + revision + "\": " + problem +
                    " (expected a branch, a tag or a commit hash, default main)");
}

std::vector<std::string> shards_of_index(const std::string& index_path) {
  Json idx = read_json_file(index_path);
  if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
    throw DataError(index_path + ": no \"weight_map\" object");
  std::vector<std::string> shards;
  for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw DataError(index_path + ": weight_map entry \"" + it.key() + "\" is not a file name");
    const std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard == "." || shard == "..")
      throw DataError(index_path + ": shard name \"" + shard + "\" must be a file name in the same directory");
    if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
  }
  return shards;
}

// An exclusive flock() on CACHE/.locks/models--org--name/ETAG.lock, the lock file huggingface_hub's
// FileLock uses, so that two processes (either tool) never write the same blob at once.
class BlobLock {
 public:
  explicit BlobLock(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd_ < 0) {
      spdlog::debug("cannot open lock file {}: {}; downloading without a lock", path, std::strerror(errno));
      return;
    }
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~BlobLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

// The Hub could not be reached (connection errors, timeouts, 429/5xx after every retry). Caught by
// resolve to fall back to a cached snapshot, as huggingface_hub does on a failed HEAD call.
struct HubUnreachable {
  std::string message;
};

// What the HEAD request of a file said (huggingface_hub's HfFileMetadata).
struct FileMetadata {
  std::string commit;
  std::string etag;
  std::string location;  // where to GET it: the resolve URL, or the CDN URL of a redirect
  std::optional<uint64_t> size;
};

// What the cache holds for one revision.
struct CacheState {
  std::optional<std::string> commit;
  std::string snapshot;
  std::vector<std::string> missing;  // required files (or the ref) absent
  bool usable = false;               // complete enough to answer without a request
};

class Session {
 public:
  Session(std::string repo_id, const HubOptions& options)
      : repo_id_(std::move(repo_id)), options_(options), revision_(options.revision) {
    endpoint_ = options.endpoint.empty() ? hub_endpoint() : options.endpoint;
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    cache_dir_ = options.cache_dir.empty() ? hub_cache_dir() : expand_user(options.cache_dir);
    token_ = options.token ? (options.token->empty() ? std::nullopt : options.token) : hub_token();
    offline_ = options.offline.value_or(hub_offline());
    storage_ = cache_dir_ + "/" + repo_folder_name(repo_id_);
    if (is_commit_hash(revision_)) pinned_ = revision_;
  }

  std::string resolve() {
    CacheState state = inspect_cache();
    if (offline_) {
      if (!state.missing.empty()) throw DataError(offline_message(state));
      spdlog::debug("offline: using {}", state.snapshot);
      return state.snapshot;
    }
    if (state.usable) {
      spdlog::debug("{} (revision {}) found in the cache: {}", repo_id_, revision_, state.snapshot);
      return state.snapshot;
    }
    try {
      return download_all();
    } catch (const HubUnreachable& e) {
      if (state.commit && state.missing.empty()) {
        spdlog::warn("{}; using the cached snapshot {}", e.message, state.snapshot);
        return state.snapshot;
      }
      throw DataError(local_note_ + e.message);
    }
  }

  /// For a name that could also be a mistyped local folder: said before "the Hub could not be
  /// reached" and "not found on the Hub".
  void set_local_note(std::string note) { local_note_ = std::move(note); }

  std::optional<std::string> download_one(const std::string& filename) {
    if (pinned_) {
      const std::string pointer = snapshot_dir(*pinned_) + "/" + filename;
      if (fs::exists(pointer)) return pointer;  // a commit hash whose snapshot has it: no request
    }
    if (offline_) return from_cache(filename, /*required=*/true);
    try {
      return fetch(filename, /*required=*/false);
    } catch (const HubUnreachable& e) {
      auto cached = cached_pointer(filename);
      if (cached) {
        spdlog::warn("{}; using the cached file {}", e.message, *cached);
        return cached;
      }
      throw DataError(e.message);
    }
  }

 private:
  // ------------------------------------------------------------ cache

  std::string snapshot_dir(const std::string& commit) const { return storage_ + "/snapshots/" + commit; }
  std::string no_exist_path(const std::string& commit, const std::string& f) const {
    return storage_ + "/.no_exist/" + commit + "/" + f;
  }
  std::string page() const { return endpoint_ + "/" + repo_id_; }

  std::optional<std::string> read_ref(const std::string& revision) const {
    const std::string path = storage_ + "/refs/" + revision;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    std::ifstream in(path);
    std::string commit;
    std::getline(in, commit);
    commit = trim(commit);
    if (commit.empty()) return std::nullopt;
    return commit;
  }

  std::optional<std::string> cached_commit() const {
    if (is_commit_hash(revision_)) return revision_;
    return read_ref(revision_);
  }

  std::optional<std::string> cached_pointer(const std::string& filename) const {
    auto commit = cached_commit();
    if (!commit) return std::nullopt;
    const std::string pointer = snapshot_dir(*commit) + "/" + filename;
    if (fs::exists(pointer)) return pointer;
    return std::nullopt;
  }

  std::optional<std::string> from_cache(const std::string& filename, bool required) const {
    auto cached = cached_pointer(filename);
    if (cached) return cached;
    auto commit = cached_commit();
    if (commit && fs::exists(no_exist_path(*commit, filename))) return std::nullopt;
    if (!required) return std::nullopt;
    CacheState state;
    state.commit = commit;
    if (commit) state.snapshot = snapshot_dir(*commit);
    state.missing = {commit ? filename : "refs/" + revision_};
    throw DataError(offline_message(state));
  }

  CacheState inspect_cache() const {
    CacheState st;
    st.commit = cached_commit();
    if (!st.commit) {
      st.missing.push_back("refs/" + revision_);
      return st;
    }
    st.snapshot = snapshot_dir(*st.commit);
    auto present = [&](const std::string& f) { return fs::exists(st.snapshot + "/" + f); };
    auto absent = [&](const std::string& f) { return fs::exists(no_exist_path(*st.commit, f)); };
    if (!present(kConfigName)) st.missing.push_back(kConfigName);
    if (options_.weights && !present(kWeightsName)) {
      if (present(kWeightsIndexName)) {
        try {
          for (const auto& shard : shards_of_index(st.snapshot + "/" + kWeightsIndexName))
            if (!present(shard)) st.missing.push_back(shard);
        } catch (const DataError&) {
          st.missing.push_back(kWeightsIndexName);
        }
      } else {
        st.missing.push_back(std::string(kWeightsName) + " (or " + kWeightsIndexName + " and its shards)");
      }
    }
    bool tokenizer_known = true;
    if (options_.tokenizer) {
      // A vocabulary the tokenizers layer can build a tokenizer from.
      static const char* kVocabularies[] = {"tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "source.spm"};
      bool has_vocabulary = false;
      for (const char* f : kVocabularies) has_vocabulary = has_vocabulary || present(f);
      bool all_known = true;
      for (const auto& f : kHubTokenizerFiles) all_known = all_known && (present(f) || absent(f));
      tokenizer_known = has_vocabulary || all_known;
    }
    st.usable = st.missing.empty() && tokenizer_known;
    return st;
  }

  std::string offline_message(const CacheState& st) const {
    if (!st.commit)
      return fmt::format(
          "offline mode is on (HF_HUB_OFFLINE) and the Hub cache {} has no snapshot of {} at revision {} (no "
          "{}/refs/{}): "
          "run once without HF_HUB_OFFLINE to download it, or pass a local model directory",
          cache_dir_, repo_id_, revision_, storage_, revision_);
    std::string files;
    for (const auto& f : st.missing) files += (files.empty() ? "" : ", ") + f;
    return fmt::format(
        "offline mode is on (HF_HUB_OFFLINE) and the cached snapshot {} of {} (revision {}) lacks {}: run once without "
        "HF_HUB_OFFLINE to download it, or pass a local model directory",
        st.snapshot, repo_id_, revision_, files);
  }

  void write_ref(const std::string& revision, const std::string& commit) const {
    if (revision == commit) return;
    auto current = read_ref(revision);
    if (current && *current == commit) return;
    try {
      write_file_atomic(storage_ + "/refs/" + revision, commit);
    } catch (const DataError& e) {
      spdlog::warn("cannot record refs/{} in the Hub cache: {}", revision, e.what());
    }
  }

  void record_no_exist(const std::string& commit, const std::string& filename) const {
    const std::string path = no_exist_path(commit, filename);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    std::ofstream touch(path, std::ios::app);
    if (!touch) spdlog::debug("cannot record {} as missing in {}", filename, path);
  }

  // snapshots/COMMIT/FILE -> ../../blobs/ETAG (huggingface_hub's _create_symlink: relative to the
  // pointer's folder; a copy where symlinks are not supported).
  static void make_pointer(const std::string& blob, const std::string& pointer) {
    std::error_code ec;
    fs::create_directories(fs::path(pointer).parent_path(), ec);
    const fs::path abs_blob = fs::absolute(blob).lexically_normal();
    const fs::path abs_dir = fs::absolute(pointer).parent_path().lexically_normal();
    const fs::path rel = abs_blob.lexically_relative(abs_dir);
    fs::remove(pointer, ec);
    fs::create_symlink(rel.empty() ? abs_blob : rel, pointer, ec);
    if (!ec) return;
    if (fs::exists(pointer) && fs::equivalent(pointer, blob, ec)) return;
    std::error_code copy_ec;
    fs::copy_file(blob, pointer, fs::copy_options::overwrite_existing, copy_ec);
    if (copy_ec) throw DataError("cannot create " + pointer + " in the Hub cache: " + copy_ec.message());
  }

  // ------------------------------------------------------------ downloads

  std::string download_all() {
    fetch(kConfigName, /*required=*/true);
    if (options_.weights && !fetch(kWeightsName, /*required=*/false)) {
      auto index = fetch(kWeightsIndexName, /*required=*/false);
      if (!index)
        throw DataError(fmt::format(
            "{} (revision {}) has no safetensors weights ({} or {}); textune reads only safetensors: look for a "
            "safetensors conversion on {}/discussions (then pass its --revision, e.g. refs/pr/N), or convert the "
            "checkpoint with transformers' save_pretrained(..., safe_serialization=True)",
            repo_id_, revision_, kWeightsName, kWeightsIndexName, page()));
      for (const auto& shard : shards_of_index(*index)) fetch(shard, /*required=*/true);
    }
    if (options_.tokenizer)
      for (const auto& f : kHubTokenizerFiles) fetch(f, /*required=*/false);
    return snapshot_dir(*pinned_);
  }

  // One file of the snapshot: from the pinned snapshot when already there, else HEAD (pinning the
  // commit on the first answer) and GET when its blob is missing. nullopt for a file the Hub
  // reports missing (recorded in .no_exist); DataError when `required`.
  std::optional<std::string> fetch(const std::string& filename, bool required) {
    if (pinned_) {
      const std::string pointer = snapshot_dir(*pinned_) + "/" + filename;
      if (fs::exists(pointer)) return pointer;
      if (fs::exists(no_exist_path(*pinned_, filename))) {
        if (required) missing_entry(filename);
        return std::nullopt;
      }
    }
    const std::string revision = pinned_ ? *pinned_ : revision_;
    std::optional<FileMetadata> meta = head(filename, revision);
    if (!meta) {
      if (required) missing_entry(filename);
      return std::nullopt;
    }
    if (pinned_ && meta->commit != *pinned_)
      throw DataError(fmt::format("the Hub answered commit {} for {} of {} asked at commit {}: retry later",
                                  meta->commit, filename, repo_id_, *pinned_));
    if (revision == revision_) write_ref(revision_, meta->commit);
    if (!pinned_) pinned_ = meta->commit;
    const std::string blob = storage_ + "/blobs/" + meta->etag;
    const std::string pointer = snapshot_dir(meta->commit) + "/" + filename;
    if (fs::exists(pointer)) return pointer;
    std::error_code ec;
    fs::create_directories(fs::path(blob).parent_path(), ec);
    {
      BlobLock lock(cache_dir_ + "/.locks/" + repo_folder_name(repo_id_) + "/" + meta->etag + ".lock");
      if (!fs::exists(blob)) download_blob(*meta, filename, blob);
      make_pointer(blob, pointer);
    }
    return pointer;
  }

  [[noreturn]] void missing_entry(const std::string& filename) const {
    if (filename == kConfigName)
      throw DataError(fmt::format(
          "{} (revision {}) has no config.json: it is not a transformers model repository; check the name on {}",
          repo_id_, revision_, page()));
    throw DataError(fmt::format("{} (revision {}) has no file {}, which it needs (named by {})", repo_id_, revision_,
                                filename, kWeightsIndexName));
  }

  std::vector<std::string> request_headers(const std::string& url) const {
    std::vector<std::string> h;
    // The token goes to the Hub only: never to a CDN or any other host a redirect names.
    if (token_ && http::origin_of(url) == http::origin_of(endpoint_)) h.push_back("Authorization: Bearer " + *token_);
    return h;
  }

  double backoff(int attempt) const {
    return std::min(options_.retry_max_seconds, options_.retry_base_seconds * std::pow(2.0, attempt));
  }

  void sleep_for(double seconds) const {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, seconds)));
  }

  static std::string attempts_text(int attempts) {
    return attempts == 1 ? "1 attempt" : std::to_string(attempts) + " attempts";
  }

  std::string unreachable_message(const std::string& filename, const http::Response& r, int attempts) const {
    if (r.status >= 500 || r.status == 429)
      return fmt::format(
          "the Hugging Face Hub at {} answered HTTP {} for {} of {} ({}): try again later; if the model "
          "was downloaded before, set HF_HUB_OFFLINE=1 to use the cache",
          endpoint_, r.status, filename, repo_id_, attempts_text(attempts));
    return fmt::format(
        "cannot reach the Hugging Face Hub at {} to get {} of {} ({}; {}): check your network connection "
        "(and HTTPS_PROXY); if the model was downloaded before, try HF_HUB_OFFLINE=1 to use the cache only",
        endpoint_, filename, repo_id_, r.curl_error, attempts_text(attempts));
  }

  // huggingface_hub's hf_raise_for_status, worded as what to do.
  [[noreturn]] void raise_http_error(const http::Response& r, const std::string& url) const {
    const std::string code = r.headers.get("X-Error-Code");
    const std::string hub_message = r.headers.get("X-Error-Message");
    const bool gated = code == "GatedRepo" || hub_message.find("gated") != std::string::npos ||
                       hub_message.find("restricted") != std::string::npos;
    const std::string login =
        "log in with `huggingface-cli login` or set HF_TOKEN to an access token (" + endpoint_ + "/settings/tokens)";
    if (gated && (r.status == 401 || r.status == 403)) {
      if (r.status == 403 && token_)
        throw DataError(fmt::format(
            "{} is a gated model and your Hugging Face token has no access to it (HTTP 403): accept the model's "
            "terms on {} with the account the token belongs to (HF_TOKEN or `huggingface-cli login`), then try again",
            repo_id_, page()));
      throw DataError(fmt::format("{} is a gated model (HTTP {}): {}, and accept the model's terms on {}", repo_id_,
                                  r.status, login, page()));
    }
    if (code == "RevisionNotFound")
      throw DataError(fmt::format(
          "revision \"{}\" not found in {} (HTTP {}): check --revision (a branch, a tag or a commit hash; default "
          "main) against {}/tree/main",
          revision_, repo_id_, r.status, page()));
    if (code == "RepoNotFound" || r.status == 401) {
      if (r.status == 404 || !token_)
        throw DataError(local_note_ +
                        fmt::format("model {} not found on {} (HTTP {}): check the name (a model id such as "
                                    "bert-base-uncased or org/name); "
                                    "if it is private or gated, {} and accept the model's terms on its page",
                                    repo_id_, endpoint_, r.status, login));
      throw DataError(fmt::format(
          "the Hub refused access to {} with your token (HTTP 401): check the name, and that HF_TOKEN (or the token "
          "saved by `huggingface-cli login`) is valid and can read it; for a gated model accept its terms on {}",
          repo_id_, page()));
    }
    if (r.status == 403)
      throw DataError(fmt::format(
          "access to {} is forbidden (HTTP 403{}): it is private or gated: {} with an account that can read it, "
          "and accept the model's terms on {}",
          repo_id_, hub_message.empty() ? "" : ": " + hub_message, login, page()));
    throw DataError(
        fmt::format("the Hub answered HTTP {} for {}{}", r.status, url, hub_message.empty() ? "" : ": " + hub_message));
  }

  // HEAD {endpoint}/{repo}/resolve/{revision}/{file}, following relative redirects only (a renamed
  // repository), keeping an absolute one (a CDN) as the download location. nullopt for a file the
  // Hub reports missing (404 EntryNotFound, recorded in .no_exist with the commit it names).
  std::optional<FileMetadata> head(const std::string& filename, const std::string& revision) {
    const std::string resolve_url = endpoint_ + "/" + repo_id_ + "/resolve/" + http::url_quote(revision, false) + "/" +
                                    http::url_quote(filename, true);
    std::string url = resolve_url;
    http::RequestOptions ro;
    ro.connect_timeout_seconds = options_.connect_timeout_seconds;
    ro.total_timeout_seconds = options_.connect_timeout_seconds;
    int failures = 0, hops = 0;
    while (true) {
      std::vector<std::string> headers = request_headers(url);
      headers.push_back("Accept-Encoding: identity");  // the real size, never a compressed one
      http::Response r = client_.head(url, headers, ro);
      if (r.network_error() || r.status == 429 || r.status >= 500) {
        // No network at all (the host or proxy does not resolve, or refuses the connection) before
        // any answer in this session: huggingface_hub's HEAD call does not retry connection
        // errors either; retrying only delays the fallback to the cache, or the error (8 s).
        if (failures >= options_.max_retries || (!answered_ && r.no_connection()))
          throw HubUnreachable{unreachable_message(filename, r, failures + 1)};
        spdlog::debug("HEAD {}: {}; retrying", url, r.status ? "HTTP " + std::to_string(r.status) : r.curl_error);
        sleep_for(backoff(failures++));
        continue;
      }
      if (!r.ok_transfer())
        throw DataError(
            fmt::format("request to {} failed: {} (check HF_ENDPOINT and your proxy settings)", url, r.curl_error));
      answered_ = true;
      if (r.status >= 300 && r.status < 400) {
        const std::string location = r.headers.get("Location");
        if (location.empty()) throw DataError(fmt::format("the Hub redirected {} without a Location", url));
        if (http::origin_of(location).empty()) {  // relative: a renamed repository
          if (++hops > kMaxRedirects) throw DataError("too many redirects from " + resolve_url);
          url = http::resolve_location(url, location);
          continue;
        }
      }
      if (r.status == 404 && r.headers.get("X-Error-Code") != "RepoNotFound" &&
          r.headers.get("X-Error-Code") != "RevisionNotFound") {
        const std::string commit = r.headers.get("X-Repo-Commit");
        if (!commit.empty()) {
          record_no_exist(commit, filename);
          if (revision == revision_) write_ref(revision_, commit);
          if (!pinned_) pinned_ = commit;
        }
        return std::nullopt;
      }
      if (r.status >= 400) raise_http_error(r, url);
      FileMetadata m;
      m.commit = r.headers.get("X-Repo-Commit");
      m.etag = normalize_etag(r.headers.has("X-Linked-Etag") ? r.headers.get("X-Linked-Etag") : r.headers.get("ETag"));
      m.size =
          parse_size(r.headers.has("X-Linked-Size") ? r.headers.get("X-Linked-Size") : r.headers.get("Content-Length"));
      m.location = r.status >= 300 ? http::resolve_location(url, r.headers.get("Location")) : url;
      if (m.commit.empty())
        throw DataError(fmt::format(
            "{} did not answer like the Hugging Face Hub (no X-Repo-Commit header): check HF_ENDPOINT ({}), your "
            "firewall and proxy settings",
            url, endpoint_));
      if (m.etag.empty() || m.etag.find('/') != std::string::npos || m.etag == "." || m.etag == "..")
        throw DataError(fmt::format("{} answered without a usable ETag: cannot cache it reliably", url));
      if (!is_commit_hash(m.commit)) throw DataError(fmt::format("{} answered an invalid X-Repo-Commit", url));
      return m;
    }
  }

  // Downloads into blobs/ETAG.incomplete (resuming what an earlier attempt left), checks the size
  // and, for an LFS file (64-hex etag), the sha256; a mismatch deletes it and fetches once more.
  void download_blob(const FileMetadata& m, const std::string& filename, const std::string& blob) {
    const std::string incomplete = blob + ".incomplete";
    for (int pass = 0; pass < 2; ++pass) {
      transfer(m, filename, incomplete);
      std::error_code ec;
      const uint64_t got = fs::file_size(incomplete, ec);
      std::string problem;
      if (m.size && got != *m.size) {
        problem = fmt::format("{} of {} downloaded as {} bytes, expected {}", filename, repo_id_, got, *m.size);
      } else if (is_sha256(m.etag)) {
        const std::string actual = sha256_file_hex(incomplete);
        if (actual != m.etag)
          problem = fmt::format("{} of {} does not match its sha256 {} (got {})", filename, repo_id_, m.etag, actual);
      }
      if (problem.empty()) {
        if (std::rename(incomplete.c_str(), blob.c_str()) != 0)
          throw DataError("cannot move " + incomplete + " to " + blob + ": " + std::strerror(errno));
        return;
      }
      fs::remove(incomplete, ec);
      if (pass == 0) {
        spdlog::warn("{}: the download is corrupted, fetching it again", problem);
        continue;
      }
      throw DataError(problem +
                      " twice: the download is corrupted (a proxy or the network altering data?); it "
                      "was deleted, try again later");
    }
  }

  void transfer(const FileMetadata& m, const std::string& filename, const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw DataError("cannot write " + path + ": " + std::strerror(errno));
    struct FdCloser {
      int fd;
      ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    fstat(fd, &st);
    uint64_t have = static_cast<uint64_t>(st.st_size);
    auto truncate_all = [&] {
      if (::ftruncate(fd, 0) != 0) throw DataError("cannot truncate " + path + ": " + std::strerror(errno));
      have = 0;
    };
    if (m.size && have > *m.size) truncate_all();
    if (m.size && have == *m.size) return;  // finished before, not yet moved into place
    if (have > 0) spdlog::info("resuming {} of {} at {}", filename, repo_id_, human_size(have));

    std::optional<ProgressBar> bar;
    if (options_.progress) {
      ProgressOptions po;
      po.unit = "B";
      bar.emplace("download " + filename, m.size ? static_cast<int64_t>(*m.size) : 0, po);
      bar->set(static_cast<int64_t>(have));
    }
    http::RequestOptions ro;
    ro.connect_timeout_seconds = options_.connect_timeout_seconds;
    ro.stall_timeout_seconds = options_.stall_timeout_seconds;
    std::string url = m.location;
    int failures = 0, hops = 0;
    std::string write_error;
    while (true) {
      std::vector<std::string> headers = request_headers(url);
      if (have > 0) headers.push_back(fmt::format("Range: bytes={}-", have));
      bool bad_range = false;
      const bool asked_range = have > 0;
      auto on_headers = [&](const http::Response& r) {
        if (r.status == 200 && asked_range) {
          truncate_all();  // the server ignored the Range: start over
          if (bar) bar->set(0);
        } else if (r.status == 206) {
          // "bytes START-END/TOTAL" must start where the file ends.
          const std::string cr = r.headers.get("Content-Range");
          const size_t sp = cr.find(' '), dash = cr.find('-');
          if (sp == std::string::npos || dash == std::string::npos ||
              parse_size(cr.substr(sp + 1, dash - sp - 1)) != std::optional<uint64_t>(have))
            bad_range = true;
        }
      };
      http::Sink sink = [&](const char* data, size_t n) {
        if (bad_range) return false;
        size_t done = 0;
        while (done < n) {
          ssize_t w = ::write(fd, data + done, n - done);
          if (w < 0) {
            if (errno == EINTR) continue;
            write_error = std::strerror(errno);
            return false;
          }
          done += static_cast<size_t>(w);
        }
        have += n;
        if (bar) bar->set(static_cast<int64_t>(have));
        return true;
      };
      http::Response r = client_.get(url, headers, ro, on_headers, sink);
      if (r.sink_failed && !bad_range) throw DataError("cannot write " + path + ": " + write_error);
      if (bad_range || r.status == 416) {
        // A range answer that does not continue the file: start from zero.
        truncate_all();
        if (failures >= options_.max_retries)
          throw DataError(
              fmt::format("downloading {} of {}: the server keeps answering a wrong byte range", filename, repo_id_));
        ++failures;
        url = m.location;
        continue;
      }
      if (r.status >= 300 && r.status < 400 && r.ok_transfer()) {
        const std::string location = r.headers.get("Location");
        if (location.empty() || ++hops > kMaxRedirects)
          throw DataError(fmt::format("downloading {} of {}: bad redirect from {}", filename, repo_id_, url));
        url = http::resolve_location(url, location);
        continue;
      }
      if (r.network_error() || r.status == 429 || r.status >= 500) {
        if (r.body_bytes > 0) failures = 0;  // progress was made: the count starts again
        if (failures >= options_.max_retries) {
          std::string message = unreachable_message(filename, r, failures + 1);
          if (have > 0)
            message += fmt::format(" ({} of it are kept in {}; the next run resumes there)", human_size(have), path);
          throw HubUnreachable{message};
        }
        spdlog::warn("downloading {} of {}: {}; resuming at {} after {:.1f}s", filename, repo_id_,
                     r.status >= 400 ? "HTTP " + std::to_string(r.status) : r.curl_error, human_size(have),
                     backoff(failures));
        sleep_for(backoff(failures++));
        url = m.location;
        continue;
      }
      if (!r.ok_transfer())
        throw DataError(fmt::format("downloading {} of {} from {} failed: {}", filename, repo_id_, url, r.curl_error));
      if (r.status >= 200 && r.status < 300) break;
      if (r.status == 401 || r.status == 403 || r.status == 404) {
        if (http::origin_of(url) == http::origin_of(endpoint_)) raise_http_error(r, url);
      }
      throw DataError(fmt::format("downloading {} of {}: HTTP {} from {}", filename, repo_id_, r.status, url));
    }
    if (bar) bar->finish();
  }

  std::string repo_id_;
  HubOptions options_;
  std::string revision_;
  std::string endpoint_;
  std::string cache_dir_;
  std::string storage_;
  std::optional<std::string> token_;
  bool offline_ = false;
  std::optional<std::string> pinned_;  // the commit every file of this run comes from
  bool answered_ = false;              // a request of this session got an HTTP answer
  std::string local_note_;             // "X is not a local folder ..., and " for a name that could be one
  http::Client client_;
};

// The longest leading part of `path` that exists as a directory ("" when none does, "." is not
// counted): "data" for data/thuc when ./data exists.
std::string existing_parent(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing '/'
  for (fs::path parent = p.parent_path(); !parent.empty() && parent != p; p = parent, parent = p.parent_path())
    if (fs::is_directory(parent, ec)) return parent.string();
  return "";
}

bool looks_like_path(const std::string& s) {
  if (s.empty()) return false;
  if (s[0] == '/' || s[0] == '.' || s[0] == '~' || s.back() == '/') return true;
  if (std::count(s.begin(), s.end(), '/') > 1 || s.find('\\') != std::string::npos) return true;
  // "data/thuc" where ./data exists: a folder typo, not a Hub id.
  return s.find('/') != std::string::npos && !existing_parent(s).empty();
}

// Folders in `dir` whose names are close to `name` (a prefix either way, or at most 2 edits): at
// most 3, as "dir/entry", for "did you mean ...?". Reads at most 10,000 entries.
std::vector<std::string> similar_folders(const std::string& dir, const std::string& name) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  std::error_code ec;
  fs::directory_iterator it(dir.empty() ? "." : dir, ec), end;
  const auto lower = [](std::string x) {
    for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  const std::string want = lower(name);
  for (int n = 0; !ec && it != end && n < 10000 && out.size() < 3; it.increment(ec), ++n) {
    if (!it->is_directory(ec)) continue;
    const std::string entry = it->path().filename().string();
    const std::string have = lower(entry);
    const bool prefix = have.rfind(want, 0) == 0 || (have.size() >= 3 && want.rfind(have, 0) == 0);
    if (prefix || edit_distance(have, want, 2) <= 2)
      out.push_back(dir.empty() ? entry : (fs::path(dir) / entry).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string did_you_mean(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string s = "; did you mean ";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? (i + 1 == names.size() ? " or " : ", ") : "") + names[i];
  return s + "?";
}

// "no such folder: PATH (...)" for a value that is a path.
std::string no_such_folder(const std::string& path) {
  const std::string parent = existing_parent(path);
  std::string s = "no such folder: " + path + " (expected a model directory, or a Hub model id such as " +
                  "bert-base-uncased or org/name";
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (parent.empty() && p.is_relative() && p.has_filename() && !p.has_parent_path()) {
    s += did_you_mean(similar_folders("", p.filename().string()));  // ./thuc
  } else if (!parent.empty()) {
    // The first missing component, next to the folder that exists.
    fs::path missing = fs::path(path).lexically_normal().lexically_relative(parent);
    const std::string first = missing.empty() ? std::string() : missing.begin()->string();
    s += "; " + parent + " exists" + (first.empty() ? "" : " but holds no " + first) +
         did_you_mean(similar_folders(parent, first));
  }
  return s + ")";
}

}  // namespace

// ---------------------------------------------------------------- public

std::string hub_endpoint() {
  std::string e = env("HF_ENDPOINT").value_or("");
  if (e.empty()) e = kDefaultEndpoint;
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

std::string hub_cache_dir() {
  if (auto v = env("HF_HUB_CACHE"); v && !v->empty()) return expand_user(*v);
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); v && !v->empty()) return expand_user(*v);
  return hf_home() + "/hub";
}

std::optional<std::string> hub_token() {
  if (env_true(env("HF_HUB_DISABLE_IMPLICIT_TOKEN"))) return std::nullopt;
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    auto v = env(name);
    if (v && !trim(*v).empty()) return trim(*v);
  }
  std::string path = env("HF_TOKEN_PATH").value_or("");
  path = path.empty() ? hf_home() + "/token" : expand_user(path);
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  token = trim(token);
  if (token.empty()) return std::nullopt;
  return token;
}

bool hub_offline() {
  auto v = env("HF_HUB_OFFLINE");
  if (!v || v->empty()) v = env("TRANSFORMERS_OFFLINE");
  return env_true(v);
}

bool is_valid_repo_id(std::string_view repo_id, std::string* reason) {
  auto fail = [&](const std::string& why) {
    if (reason) *reason = why;
    return false;
  };
  if (repo_id.empty()) return fail("it is empty");
  if (std::count(repo_id.begin(), repo_id.end(), '/') > 1)
    return fail("a model id is 'name' or 'namespace/name', with at most one '/'");
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  auto valid_part = [&](std::string_view part, size_t max_len) {
    if (part.empty() || part.size() > max_len) return false;
    for (char c : part)
      if (!word_char(c) && c != '-' && c != '.') return false;
    // \b at both ends: the first and last characters are word characters.
    return word_char(part.front()) && word_char(part.back());
  };
  const size_t slash = repo_id.find('/');
  const std::string_view ns = slash == std::string_view::npos ? std::string_view() : repo_id.substr(0, slash);
  const std::string_view name = slash == std::string_view::npos ? repo_id : repo_id.substr(slash + 1);
  if ((slash != std::string_view::npos && !valid_part(ns, 1000)) || !valid_part(name, 96))
    return fail(
        "a model id uses letters, digits, '-', '_' and '.', cannot start or end with '-' or '.', and its name has at "
        "most 96 characters");
  if (repo_id.find("--") != std::string_view::npos || repo_id.find("..") != std::string_view::npos)
    return fail("a model id cannot contain \"--\" or \"..\"");
  if (repo_id.size() >= 4 && repo_id.substr(repo_id.size() - 4) == ".git")
    return fail("a model id cannot end with \".git\"");
  return true;
}

std::string repo_folder_name(const std::string& repo_id) {
  std::string out = "models";
  size_t start = 0;
  while (true) {
    const size_t slash = repo_id.find('/', start);
    out += "--" + repo_id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string resolve_model(const std::string& id_or_dir, const HubOptions& options) {
  std::error_code ec;
  if (fs::is_directory(id_or_dir, ec)) return id_or_dir;
  if (fs::exists(id_or_dir, ec))
    throw DataError(id_or_dir + " is a file, expected a model directory or a Hub model id (name or org/name)");
  if (looks_like_path(id_or_dir)) throw DataError(no_such_folder(id_or_dir));
  std::string reason;
  if (!is_valid_repo_id(id_or_dir, &reason))
    throw DataError("no such folder: " + id_or_dir + ", and \"" + id_or_dir +
                    "\" is not a valid Hub model id either: " + reason);
  validate_revision(options.revision);
  Session session(id_or_dir, options);
  // A name without '/' may as well be a local folder with a typo: the Hub's answer says both.
  if (id_or_dir.find('/') == std::string::npos) {
    std::string cwd = fs::current_path(ec).string();
    session.set_local_note("there is no folder " + id_or_dir + " here (" + cwd +
                           did_you_mean(similar_folders("", id_or_dir)) + "), and ");
  }
  return session.resolve();
}

std::optional<std::string> hub_download(const std::string& repo_id, const std::string& filename,
                                        const HubOptions& options) {
  std::string reason;
  if (!is_valid_repo_id(repo_id, &reason))
    throw DataError("\"" + repo_id + "\" is not a valid Hub model id: " + reason);
  validate_revision(options.revision);
  if (filename.empty() || filename.front() == '/' || filename.find("..") != std::string::npos)
    throw DataError("invalid file name \"" + filename + "\" in a Hub repository");
  Session session(repo_id, options);
  return session.download_one(filename);
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
  return fmt::format("{:02x}", fmt::join(md, md + len, ""));
}

std::string sha256_file_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + path + ": " + std::strerror(errno));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("OpenSSL sha256 init failed");
  }
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
  }
  if (in.bad()) {
    EVP_MD_CTX_free(ctx);
    throw DataError("cannot read " + path);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return fmt::format("{:02x}", fmt::join(md, md + len, ""));
}

}  // namespace textune::core
