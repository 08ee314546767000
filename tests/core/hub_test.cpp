// The Hub client against a fake Hub on loopback ports: a cpp-httplib server answering
// /{repo}/resolve/{revision}/{file} with the Hub's real headers (X-Repo-Commit, X-Linked-Etag,
// X-Linked-Size, ETag, X-Error-Code), LFS files redirected (302) to a second, CDN-like server on
// another port that honours Range (206) and can cut a transfer short or corrupt it. The expected
// cache tree is huggingface_hub's documented layout (file_download.py, `hf_hub_download`'s
// docstring), built in each test from the fake Hub's own data.
#include "textune/core/hub.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/safetensors.h"

namespace fs = std::filesystem;
using textune::DataError;
using textune::core::HubOptions;
using textune::core::resolve_model;
using textune::testing::model_fixture;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::tokenizer_fixture;
using textune::testing::write_text;

namespace {

std::string digest_hex(const EVP_MD* md, const std::string& bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s.push_back(kHex[out[i] >> 4]);
    s.push_back(kHex[out[i] & 15]);
  }
  return s;
}

// The ETag the Hub gives a file kept in git: its git blob id, sha1("blob N\0" + content).
std::string git_blob_sha1(const std::string& content) {
  return digest_hex(EVP_sha1(), "blob " + std::to_string(content.size()) + std::string(1, '\0') + content);
}
// The ETag of an LFS file: the sha256 of its content.
std::string lfs_sha256(const std::string& content) {
  return digest_hex(EVP_sha256(), content);
}

const char* kCommit = "0123456789abcdef0123456789abcdef01234567";
const char* kOtherCommit = "fedcba9876543210fedcba9876543210fedcba98";

struct Seen {
  std::string server;  // "hub" or "cdn"
  std::string method;
  std::string path;
  std::string range;
  std::string authorization;
};

// A fake Hugging Face Hub plus a CDN for its LFS files.
class FakeHub {
 public:
  struct File {
    std::string content;
    bool lfs = false;
    std::string etag() const { return lfs ? lfs_sha256(content) : git_blob_sha1(content); }
  };
  struct Repo {
    std::string commit = kCommit;
    std::map<std::string, std::string> refs{{"main", kCommit}};  // branch/tag -> commit
    std::map<std::string, File> files;
    bool gated = false;
  };

  FakeHub() {
    hub_.Get(R"(/(.+)/resolve/([^/]+)/(.+))",
             [this](const httplib::Request& req, httplib::Response& res) { handle_hub(req, res); });
    cdn_.Get(R"(/repos/lfs/([0-9a-f]{64}))",
             [this](const httplib::Request& req, httplib::Response& res) { handle_cdn(req, res); });
    hub_port_ = hub_.bind_to_any_port("127.0.0.1");
    cdn_port_ = cdn_.bind_to_any_port("127.0.0.1");
    hub_thread_ = std::thread([this] { hub_.listen_after_bind(); });
    cdn_thread_ = std::thread([this] { cdn_.listen_after_bind(); });
    while (!hub_.is_running() || !cdn_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    hub_.stop();
    cdn_.stop();
    hub_thread_.join();
    cdn_thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(hub_port_); }
  std::string cdn_origin() const { return "http://127.0.0.1:" + std::to_string(cdn_port_); }

  Repo& repo(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return repos_[id];
  }
  void add_file(const std::string& repo_id, const std::string& name, const std::string& content, bool lfs) {
    std::lock_guard<std::mutex> lock(mu_);
    repos_[repo_id].files[name] = File{content, lfs};
    if (lfs) lfs_[lfs_sha256(content)] = content;
  }
  void rename(const std::string& old_id, const std::string& new_id) {
    std::lock_guard<std::mutex> lock(mu_);
    renamed_[old_id] = new_id;
  }

  std::vector<Seen> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<Seen> requests(const std::string& server, const std::string& method) {
    std::vector<Seen> out;
    for (const auto& s : requests())
      if (s.server == server && s.method == method) out.push_back(s);
    return out;
  }
  void clear_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
  }

  // Faults.
  std::atomic<int> hub_errors{0};       // the next N Hub requests get HTTP 503
  std::atomic<long> cdn_drop_at{-1};    // the next CDN GET stops after this byte offset, connection closed
  std::atomic<int> cdn_corruptions{0};  // the next N CDN GETs serve the file with one byte flipped

  // Tokens: any of these is a valid Hugging Face token; only `kAccepted` accepted the gated terms.
  static constexpr const char* kAccepted = "hf_accepted_terms";
  static constexpr const char* kValid = "hf_valid_not_accepted";

 private:
  void record(const std::string& server, const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(
        {server, req.method, req.path, req.get_header_value("Range"), req.get_header_value("Authorization")});
  }

  void handle_hub(const httplib::Request& req, httplib::Response& res) {
    record("hub", req);
    const std::string repo_id = req.matches[1], revision = req.matches[2], filename = req.matches[3];
    if (hub_errors > 0) {
      --hub_errors;
      res.status = 503;
      res.set_content("Service Unavailable", "text/plain");
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (renamed_.count(repo_id)) {  // the Hub redirects a renamed repository with a relative Location
      res.status = 307;
      res.set_header("Location", "/" + renamed_[repo_id] + "/resolve/" + revision + "/" + filename);
      return;
    }
    const std::string auth = req.get_header_value("Authorization");
    auto it = repos_.find(repo_id);
    if (it == repos_.end()) {
      // The real Hub answers 401 to an anonymous request for a missing (or private) repository.
      res.status = auth.empty() ? 401 : 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_header("X-Error-Message", "Repository not found");
      return;
    }
    Repo& repo = it->second;
    if (repo.gated && auth != std::string("Bearer ") + kAccepted) {
      const bool logged_in = auth == std::string("Bearer ") + kValid;
      res.status = logged_in ? 403 : 401;
      res.set_header("X-Error-Code", "GatedRepo");
      res.set_header("X-Error-Message",
                     logged_in ? "Access to model " + repo_id + " is restricted and you are not in the authorized list."
                               : "Access to model " + repo_id +
                                     " is restricted. You must have access to it and be "
                                     "authenticated to access it. Please log in.");
      return;
    }
    std::string commit;
    if (revision == repo.commit)
      commit = repo.commit;
    else if (repo.refs.count(revision))
      commit = repo.refs[revision];
    if (commit.empty()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      res.set_header("X-Error-Message", "Invalid rev id: " + revision);
      return;
    }
    res.set_header("X-Repo-Commit", commit);
    auto f = repo.files.find(filename);
    if (f == repo.files.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      res.set_header("X-Error-Message", "Entry not found");
      return;
    }
    const File& file = f->second;
    if (file.lfs) {
      const std::string sha = lfs_sha256(file.content);
      res.status = 302;
      res.set_header("Location", cdn_origin() + "/repos/lfs/" + sha + "?X-Amz-Signature=fake");
      res.set_header("X-Linked-Etag", "\"" + sha + "\"");
      res.set_header("X-Linked-Size", std::to_string(file.content.size()));
      // The plain ETag names the redirect, not the file: the client must prefer X-Linked-Etag.
      res.set_header("ETag", "\"" + git_blob_sha1("redirect " + sha) + "\"");
      res.set_content("Found. Redirecting to the CDN", "text/plain");
      return;
    }
    res.set_header("ETag", "\"" + file.etag() + "\"");
    res.set_content(file.content, "application/octet-stream");
  }

  void handle_cdn(const httplib::Request& req, httplib::Response& res) {
    record("cdn", req);
    std::string content;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = lfs_.find(req.matches[1]);
      if (it == lfs_.end()) {
        res.status = 404;
        return;
      }
      content = it->second;
    }
    if (cdn_corruptions > 0) {
      --cdn_corruptions;
      content[content.size() / 2] = static_cast<char>(content[content.size() / 2] ^ 0x5a);
    }
    const long drop_at = cdn_drop_at.exchange(-1);
    res.set_header("ETag", "\"" + lfs_sha256(content) + "\"");
    if (drop_at < 0) {
      res.set_content(content, "application/octet-stream");  // httplib answers a Range with 206
      return;
    }
    auto data = std::make_shared<std::string>(content);
    res.set_content_provider(data->size(), "application/octet-stream",
                             [data, drop_at](size_t offset, size_t length, httplib::DataSink& sink) {
                               if (offset >= static_cast<size_t>(drop_at)) return false;  // connection closed
                               sink.write(data->data() + offset, std::min(length, drop_at - offset));
                               return true;
                             });
  }

  httplib::Server hub_, cdn_;
  int hub_port_ = 0, cdn_port_ = 0;
  std::thread hub_thread_, cdn_thread_;
  std::mutex mu_;
  std::map<std::string, Repo> repos_;
  std::map<std::string, std::string> lfs_;
  std::map<std::string, std::string> renamed_;
  std::vector<Seen> seen_;
};

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        unsetenv(it->first.c_str());
    }
  }
  void set(const std::string& name, const std::string& value) {
    save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    save(name);
    unsetenv(name.c_str());
  }

 private:
  void save(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every file and symlink under `root`, relative, with "-> target" for symlinks.
std::set<std::string> tree(const std::string& root) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(root).string();  // symlinks not followed
    if (it->is_symlink())
      out.insert(rel + " -> " + fs::read_symlink(it->path()).string());
    else if (it->is_regular_file())
      out.insert(rel);
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    EXPECT_EQ(e.exit_code(), 1);
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return "";
}

// A loopback port nothing listens on (connections are refused): bound, never listened on, closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",
          "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "XDG_CACHE_HOME"})
      env_.unset(v);
    env_.set("HF_HOME", tmp_ / "hf_home");
    env_.set("HF_ENDPOINT", hub_.endpoint());
    cache_ = tmp_ / "hf_home/hub";
    config_ = read_text(model_fixture("bert-seqcls") + "/config.json");
    weights_ = read_text(model_fixture("bert-seqcls") + "/model.safetensors");
    tokenizer_json_ = read_text(tokenizer_fixture("bert-base-uncased") + "/tokenizer.json");
    tokenizer_config_ = read_text(tokenizer_fixture("bert-base-uncased") + "/tokenizer_config.json");
    add_tiny("org/tiny");
  }

  // A model repository as the Hub serves bert-like checkpoints: config and tokenizer in git, the
  // weights in LFS.
  void add_tiny(const std::string& id) {
    hub_.add_file(id, "config.json", config_, false);
    hub_.add_file(id, "model.safetensors", weights_, true);
    hub_.add_file(id, "tokenizer.json", tokenizer_json_, false);
    hub_.add_file(id, "tokenizer_config.json", tokenizer_config_, false);
  }

  // Fast retries for tests.
  HubOptions options() const {
    HubOptions o;
    o.retry_base_seconds = 0.001;
    o.retry_max_seconds = 0.005;
    o.connect_timeout_seconds = 5;
    return o;
  }

  // The cache huggingface_hub leaves after downloading `org/tiny` at kCommit (file_download.py):
  // blobs named by etag, relative symlinks in the snapshot, the ref, the optional files the
  // repository lacks under .no_exist, and a lock file per downloaded blob.
  std::set<std::string> expected_tiny_tree(const std::string& folder = "models--org--tiny") const {
    const std::string c = kCommit;
    std::set<std::string> t;
    const std::vector<std::pair<std::string, std::string>> files = {
        {"config.json", git_blob_sha1(config_)},
        {"model.safetensors", lfs_sha256(weights_)},
        {"tokenizer.json", git_blob_sha1(tokenizer_json_)},
        {"tokenizer_config.json", git_blob_sha1(tokenizer_config_)}};
    for (const auto& [name, etag] : files) {
      t.insert(folder + "/blobs/" + etag);
      t.insert(folder + "/snapshots/" + c + "/" + name + " -> ../../blobs/" + etag);
      t.insert(".locks/" + folder + "/" + etag + ".lock");
    }
    t.insert(folder + "/refs/main");
    for (const char* missing : {"special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "spiece.model",
                                "source.spm", "target.spm", "generation_config.json"})
      t.insert(folder + "/.no_exist/" + c + "/" + missing);
    return t;
  }

  std::string snapshot(const std::string& folder = "models--org--tiny") const {
    return cache_ + "/" + folder + "/snapshots/" + kCommit;
  }

  ScopedEnv env_;
  TempDir tmp_;
  FakeHub hub_;
  std::string cache_;
  std::string config_, weights_, tokenizer_json_, tokenizer_config_;
};

}  // namespace

// ---------------------------------------------------------------- names and environment

TEST(HubNames, RepoIdValidationFollowsHuggingfaceHub) {
  // Examples from huggingface_hub's `validate_repo_id` docstring.
  for (const char* ok : {"foo", "foo/bar", "123", "Foo-BAR_foo.bar123", "bert-base-uncased",
                         "hfl/chinese-roberta-wwm-ext", "Helsinki-NLP/opus-mt-zh-en"})
    EXPECT_TRUE(textune::core::is_valid_repo_id(ok)) << ok;
  const std::vector<std::string> bad_ids = {
      "datasets/foo/bar", ".repo_id",          "foo--bar", "foo.git", "other..repo..id", "", "foo/", "-foo",
      "foo bar",          std::string(97, 'a')};
  for (const auto& bad : bad_ids) {
    std::string reason;
    EXPECT_FALSE(textune::core::is_valid_repo_id(bad, &reason)) << bad;
    EXPECT_FALSE(reason.empty()) << bad;
  }
  // `repo_folder_name`'s docstring example: models--julien-c--EsperBERTo-small.
  EXPECT_EQ(textune::core::repo_folder_name("julien-c/EsperBERTo-small"), "models--julien-c--EsperBERTo-small");
  EXPECT_EQ(textune::core::repo_folder_name("bert-base-uncased"), "models--bert-base-uncased");
}

TEST(HubNames, EnvironmentVariablesAsHuggingfaceHubReadsThem) {
  ScopedEnv env;
  TempDir tmp;
  for (const char* v :
       {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HUB_DISABLE_IMPLICIT_TOKEN"})
    env.unset(v);
  env.set("HOME", tmp.path());
  EXPECT_EQ(textune::core::hub_cache_dir(), tmp.path() + "/.cache/huggingface/hub");
  EXPECT_EQ(textune::core::hub_endpoint(), "https://huggingface.co");
  env.set("XDG_CACHE_HOME", tmp / "xdg");
  EXPECT_EQ(textune::core::hub_cache_dir(), tmp / "xdg/huggingface/hub");
  env.set("HF_HOME", tmp / "home");
  EXPECT_EQ(textune::core::hub_cache_dir(), tmp / "home/hub");
  env.set("HF_HUB_CACHE", "~/elsewhere");
  EXPECT_EQ(textune::core::hub_cache_dir(), tmp.path() + "/elsewhere");
  env.set("HF_ENDPOINT", "https://hf-mirror.example/");
  EXPECT_EQ(textune::core::hub_endpoint(), "https://hf-mirror.example");

  // The token: $HF_TOKEN first, then the file `huggingface-cli login` writes ($HF_HOME/token).
  EXPECT_FALSE(textune::core::hub_token().has_value());
  fs::create_directories(tmp / "home");
  write_text(tmp / "home/token", "hf_from_file\n");
  EXPECT_EQ(textune::core::hub_token().value_or(""), "hf_from_file");
  write_text(tmp / "custom_token", "  hf_from_custom_path  \n");
  env.set("HF_TOKEN_PATH", tmp / "custom_token");
  EXPECT_EQ(textune::core::hub_token().value_or(""), "hf_from_custom_path");
  env.set("HF_TOKEN", "hf_from_env");
  EXPECT_EQ(textune::core::hub_token().value_or(""), "hf_from_env");
  env.set("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1");
  EXPECT_FALSE(textune::core::hub_token().has_value());

  // ENV_VARS_TRUE_VALUES = {"1", "ON", "YES", "TRUE"}, case-insensitive.
  for (const char* v : {"1", "ON", "yes", "True"}) {
    env.set("HF_HUB_OFFLINE", v);
    EXPECT_TRUE(textune::core::hub_offline()) << v;
  }
  for (const char* v : {"0", "off", "", "no"}) {
    env.set("HF_HUB_OFFLINE", v);
    EXPECT_FALSE(textune::core::hub_offline()) << v;
  }
}

TEST(HubNames, Sha256MatchesTheStandardTestVector) {
  // FIPS 180-2, appendix B.1: SHA-256("abc").
  EXPECT_EQ(textune::core::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir tmp;
  write_text(tmp / "abc", "abc");
  EXPECT_EQ(textune::core::sha256_file_hex(tmp / "abc"), textune::core::sha256_hex("abc"));
}

TEST(HubNames, LocalDirectoryIsUsedAsIsAndBadValuesAreClear) {
  const std::string dir = model_fixture("bert-seqcls");
  EXPECT_EQ(resolve_model(dir), dir);
  std::string e = error_of([] { resolve_model("/nonexistent/model"); });
  EXPECT_TRUE(contains(e, "no such folder: /nonexistent/model (")) << e;
  e = error_of([&] { resolve_model(dir + "/config.json"); });
  EXPECT_TRUE(contains(e, "is a file")) << e;
  e = error_of([] { resolve_model("org/na--me"); });
  EXPECT_TRUE(contains(e, "no such folder: org/na--me, and \"org/na--me\" is not a valid Hub model id either")) << e;
  e = error_of([] {
    HubOptions o;
    o.revision = "../main";
    resolve_model("org/name", o);
  });
  EXPECT_TRUE(contains(e, "invalid --revision")) << e;
}

// ---------------------------------------------------------------- downloads and the cache layout

TEST_F(HubTest, DownloadsIntoHuggingfaceHubCacheLayout) {
  const std::string dir = resolve_model("org/tiny", options());
  EXPECT_EQ(dir, snapshot());
  EXPECT_EQ(tree(cache_), expected_tiny_tree());
  EXPECT_EQ(read_text(cache_ + "/models--org--tiny/refs/main"), kCommit);  // no newline, as write_text
  EXPECT_EQ(read_text(dir + "/config.json"), config_);
  EXPECT_EQ(read_text(dir + "/model.safetensors"), weights_);
  EXPECT_EQ(read_text(dir + "/tokenizer.json"), tokenizer_json_);
  // The weights came from the CDN (the Hub redirected them), the rest from the Hub: HEAD then GET.
  EXPECT_EQ(hub_.requests("cdn", "GET").size(), 1u);
  EXPECT_EQ(hub_.requests("hub", "GET").size(), 3u);
  // HEAD for config, weights, and each of the 10 optional files; pinned to the commit after the first.
  const auto heads = hub_.requests("hub", "HEAD");
  ASSERT_EQ(heads.size(), 12u);
  EXPECT_EQ(heads[0].path, "/org/tiny/resolve/main/config.json");
  EXPECT_EQ(heads[1].path, std::string("/org/tiny/resolve/") + kCommit + "/model.safetensors");
  // Nothing is left half-written.
  for (const auto& entry : tree(cache_)) EXPECT_FALSE(contains(entry, ".incomplete")) << entry;
}

TEST_F(HubTest, SecondRunMakesNoRequest) {
  const std::string first = resolve_model("org/tiny", options());
  hub_.clear_requests();
  const std::string second = resolve_model("org/tiny", options());
  EXPECT_EQ(first, second);
  EXPECT_TRUE(hub_.requests().empty()) << hub_.requests().size() << " requests, first " << hub_.requests()[0].path;
  EXPECT_EQ(tree(cache_), expected_tiny_tree());
}

TEST_F(HubTest, CommitHashRevisionWritesNoRefAndIsServedFromTheCache) {
  HubOptions o = options();
  o.revision = kCommit;
  EXPECT_EQ(resolve_model("org/tiny", o), snapshot());
  // huggingface_hub records refs only for branches and tags.
  EXPECT_FALSE(fs::exists(cache_ + "/models--org--tiny/refs"));
  EXPECT_EQ(hub_.requests("hub", "HEAD")[0].path, std::string("/org/tiny/resolve/") + kCommit + "/config.json");
  hub_.clear_requests();
  EXPECT_EQ(resolve_model("org/tiny", o), snapshot());
  EXPECT_TRUE(hub_.requests().empty());
}

TEST_F(HubTest, TagRevisionIsRecordedInRefs) {
  hub_.repo("org/tiny").refs["v1.0"] = kCommit;
  HubOptions o = options();
  o.revision = "v1.0";
  EXPECT_EQ(resolve_model("org/tiny", o), snapshot());
  EXPECT_EQ(read_text(cache_ + "/models--org--tiny/refs/v1.0"), kCommit);
  EXPECT_FALSE(fs::exists(cache_ + "/models--org--tiny/refs/main"));
}

TEST_F(HubTest, NewCommitOnTheBranchGetsItsOwnSnapshotAndSharesUnchangedBlobs) {
  HubOptions o = options();
  o.revision = kOtherCommit;  // not a commit of the repository yet
  EXPECT_TRUE(contains(error_of([&] { resolve_model("org/tiny", o); }), "not found in org/tiny"));
  resolve_model("org/tiny", options());
  // Move main to a new commit where only config.json changed.
  auto& repo = hub_.repo("org/tiny");
  repo.commit = kOtherCommit;
  repo.refs["main"] = kOtherCommit;
  const std::string new_config = config_ + "\n";
  hub_.add_file("org/tiny", "config.json", new_config, false);
  fs::remove(cache_ + "/models--org--tiny/refs/main");  // forget where main was: ask the Hub again
  hub_.clear_requests();
  const std::string dir = resolve_model("org/tiny", options());
  EXPECT_EQ(dir, cache_ + "/models--org--tiny/snapshots/" + kOtherCommit);
  EXPECT_EQ(read_text(cache_ + "/models--org--tiny/refs/main"), kOtherCommit);
  EXPECT_EQ(read_text(dir + "/config.json"), new_config);
  // The unchanged weights blob is linked, not downloaded again.
  EXPECT_TRUE(hub_.requests("cdn", "GET").empty());
  EXPECT_EQ(fs::read_symlink(dir + "/model.safetensors").string(), "../../blobs/" + lfs_sha256(weights_));
}

TEST_F(HubTest, ShardedRepositoryDownloadsEveryShard) {
  // Split the fixture with our writer, then serve it as a sharded repository.
  TempDir split;
  auto original = textune::core::SafetensorsFile::open(model_fixture("bert-seqcls") + "/model.safetensors").all();
  auto result = textune::core::save_safetensors_sharded(split.path(), original, weights_.size() / 2);
  ASSERT_EQ(result.files.size(), 3u);
  hub_.add_file("org/sharded", "config.json", config_, false);
  for (const auto& f : result.files)
    hub_.add_file("org/sharded", f, read_text(split / f), f.find(".index.") == std::string::npos);
  const std::string dir = resolve_model("org/sharded", options());
  EXPECT_TRUE(fs::exists(cache_ + "/models--org--sharded/.no_exist/" + kCommit + "/model.safetensors"));
  auto weights = textune::core::CheckpointWeights::open(dir);
  EXPECT_EQ(weights.files().size(), 2u);
  for (const auto& [name, t] : original) EXPECT_TRUE(torch::equal(weights.get(name), t)) << name;
  hub_.clear_requests();
  EXPECT_EQ(resolve_model("org/sharded", options()), dir);
  EXPECT_TRUE(hub_.requests().empty());
}

TEST_F(HubTest, RenamedRepositoryIsFollowed) {
  hub_.rename("old-org/tiny", "org/tiny");
  const std::string dir = resolve_model("old-org/tiny", options());
  // Cached under the name asked for, as huggingface_hub does.
  EXPECT_EQ(dir, snapshot("models--old-org--tiny"));
  EXPECT_EQ(read_text(dir + "/model.safetensors"), weights_);
}

TEST_F(HubTest, SingleFileDownloadRecordsAbsentFiles) {
  auto path = textune::core::hub_download("org/tiny", "config.json", options());
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(read_text(*path), config_);
  EXPECT_FALSE(textune::core::hub_download("org/tiny", "vocab.txt", options()).has_value());
  EXPECT_TRUE(fs::exists(cache_ + "/models--org--tiny/.no_exist/" + kCommit + "/vocab.txt"));
}

// ---------------------------------------------------------------- offline mode

TEST_F(HubTest, OfflineUsesTheCacheWithoutRequests) {
  const std::string dir = resolve_model("org/tiny", options());
  hub_.clear_requests();
  env_.set("HF_HUB_OFFLINE", "1");
  fs::remove_all(cache_ + "/models--org--tiny/.no_exist");  // offline never asks, whatever is unknown
  EXPECT_EQ(resolve_model("org/tiny", options()), dir);
  EXPECT_TRUE(hub_.requests().empty());
}

TEST_F(HubTest, OfflineNamesWhatIsMissing) {
  env_.set("HF_HUB_OFFLINE", "1");
  std::string e = error_of([&] { resolve_model("org/tiny", options()); });
  EXPECT_TRUE(contains(e, "HF_HUB_OFFLINE")) << e;
  EXPECT_TRUE(contains(e, "org/tiny")) << e;
  EXPECT_TRUE(contains(e, "refs/main")) << e;
  EXPECT_TRUE(hub_.requests().empty());

  env_.unset("HF_HUB_OFFLINE");
  const std::string dir = resolve_model("org/tiny", options());
  fs::remove(dir + "/model.safetensors");
  env_.set("HF_HUB_OFFLINE", "1");
  hub_.clear_requests();
  e = error_of([&] { resolve_model("org/tiny", options()); });
  EXPECT_TRUE(contains(e, "lacks model.safetensors")) << e;
  EXPECT_TRUE(contains(e, dir)) << e;
  EXPECT_TRUE(hub_.requests().empty());
}

// ---------------------------------------------------------------- interrupted and corrupted downloads

TEST_F(HubTest, InterruptedDownloadResumesWithRange) {
  // An earlier run left the first 100000 bytes of the weights.
  const std::string blob = cache_ + "/models--org--tiny/blobs/" + lfs_sha256(weights_);
  fs::create_directories(fs::path(blob).parent_path());
  write_text(blob + ".incomplete", weights_.substr(0, 100000));
  const std::string dir = resolve_model("org/tiny", options());
  const auto gets = hub_.requests("cdn", "GET");
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0].range, "bytes=100000-");
  EXPECT_EQ(read_text(dir + "/model.safetensors"), weights_);
  EXPECT_FALSE(fs::exists(blob + ".incomplete"));
}

TEST_F(HubTest, ConnectionDroppedHalfwayIsResumed) {
  hub_.cdn_drop_at = 70000;
  const std::string dir = resolve_model("org/tiny", options());
  const auto gets = hub_.requests("cdn", "GET");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0].range, "");
  EXPECT_EQ(gets[1].range, "bytes=70000-");
  EXPECT_EQ(read_text(dir + "/model.safetensors"), weights_);
}

TEST_F(HubTest, CorruptedDownloadIsRefusedAndFetchedAgain) {
  hub_.cdn_corruptions = 1;
  const std::string dir = resolve_model("org/tiny", options());
  const auto gets = hub_.requests("cdn", "GET");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[1].range, "");  // from scratch
  EXPECT_EQ(textune::core::sha256_file_hex(dir + "/model.safetensors"), lfs_sha256(weights_));
}

TEST_F(HubTest, CorruptedTwiceIsAClearErrorAndLeavesNothing) {
  hub_.cdn_corruptions = 2;
  const std::string e = error_of([&] { resolve_model("org/tiny", options()); });
  EXPECT_TRUE(contains(e, "model.safetensors of org/tiny does not match its sha256 " + lfs_sha256(weights_))) << e;
  EXPECT_TRUE(contains(e, "twice")) << e;
  const std::string blob = cache_ + "/models--org--tiny/blobs/" + lfs_sha256(weights_);
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(blob + ".incomplete"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(snapshot() + "/model.safetensors")));
}

TEST_F(HubTest, CorruptedPartialFileFromAnEarlierRunIsReplaced) {
  const std::string blob = cache_ + "/models--org--tiny/blobs/" + lfs_sha256(weights_);
  fs::create_directories(fs::path(blob).parent_path());
  std::string bad = weights_.substr(0, 1000);
  bad[10] = static_cast<char>(bad[10] ^ 1);
  write_text(blob + ".incomplete", bad);
  const std::string dir = resolve_model("org/tiny", options());
  const auto gets = hub_.requests("cdn", "GET");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0].range, "bytes=1000-");
  EXPECT_EQ(gets[1].range, "");
  EXPECT_EQ(read_text(dir + "/model.safetensors"), weights_);
}

// ---------------------------------------------------------------- retries and errors

TEST_F(HubTest, ServerErrorsAreRetriedWithBackoff) {
  hub_.hub_errors = 3;
  EXPECT_EQ(resolve_model("org/tiny", options()), snapshot());
  EXPECT_EQ(hub_.requests("hub", "HEAD")[3].path, "/org/tiny/resolve/main/config.json");  // 3 failures, then ok
}

TEST_F(HubTest, PersistentServerErrorsAreAClearError) {
  hub_.hub_errors = 1000;
  const std::string e = error_of([&] { resolve_model("org/tiny", options()); });
  EXPECT_TRUE(contains(e, "HTTP 503")) << e;
  EXPECT_TRUE(contains(e, "5 attempts")) << e;  // the first plus max_retries 4
  EXPECT_TRUE(contains(e, "try again later")) << e;
  EXPECT_EQ(hub_.requests("hub", "HEAD").size(), 5u);
}

TEST_F(HubTest, NoNetworkSaysToTryOfflineMode) {
  // A port nothing listens on: bind one, then close it.
  env_.set("HF_ENDPOINT", "http://127.0.0.1:" + std::to_string(closed_port()));
  HubOptions o = options();
  o.retry_base_seconds = 2;  // a retry would show in the time
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { resolve_model("org/tiny", o); });
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.5);
  EXPECT_TRUE(contains(e, "cannot reach the Hugging Face Hub at http://127.0.0.1:")) << e;
  // No connection at all before any answer: not retried (huggingface_hub's HEAD is not either).
  EXPECT_TRUE(contains(e, "1 attempt)")) << e;
  EXPECT_TRUE(contains(e, "HF_HUB_OFFLINE=1")) << e;
}

// issue 11: `--model thuc`, a typo of a local folder, took 8.4 s of retries and then blamed only
// the network. A name that is a path says "no such folder" without a request; a name that can be
// a Hub id says both that there is no such folder and what the Hub said.
TEST_F(HubTest, FolderTyposSayNoSuchFolder) {
  TempDir work;
  fs::create_directories(work / "data/thucnews");
  fs::create_directories(work / "thucnews");
  const fs::path cwd = fs::current_path();
  fs::current_path(work.path());
  env_.set("HF_ENDPOINT", "http://127.0.0.1:" + std::to_string(closed_port()));
  HubOptions o = options();
  o.retry_base_seconds = 2;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string single = error_of([&] { resolve_model("thuc", o); });
  const std::string nested = error_of([&] { resolve_model("data/thuc", o); });
  const std::string dotted = error_of([&] { resolve_model("./thuc", o); });
  const std::string home = error_of([&] { resolve_model("~/thuc", o); });
  const std::string parent = error_of([&] { resolve_model("../nowhere-at-all/x", o); });
  const std::string bad_id = error_of([&] { resolve_model("thuc news", o); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::current_path(cwd);
  EXPECT_LT(seconds, 3.0);
  EXPECT_TRUE(contains(single, "there is no folder thuc here (" + work.path() + "; did you mean thucnews?), and "))
      << single;
  EXPECT_TRUE(contains(single, "cannot reach the Hugging Face Hub")) << single;
  EXPECT_TRUE(contains(nested, "no such folder: data/thuc (")) << nested;
  EXPECT_TRUE(contains(nested, "data exists but holds no thuc; did you mean data/thucnews?)")) << nested;
  EXPECT_TRUE(contains(dotted, "no such folder: ./thuc (")) << dotted;
  EXPECT_TRUE(contains(dotted, "did you mean thucnews?")) << dotted;
  EXPECT_TRUE(contains(home, "no such folder: ~/thuc")) << home;
  EXPECT_TRUE(contains(parent, "no such folder: ../nowhere-at-all/x (")) << parent;
  EXPECT_TRUE(contains(bad_id, "no such folder: thuc news, and \"thuc news\" is not a valid Hub model id")) << bad_id;
  EXPECT_EQ(hub_.requests("hub", "HEAD").size(), 0u);
}

TEST_F(HubTest, UnknownNameSaysNoFolderAndNotOnTheHub) {
  const std::string e = error_of([&] { resolve_model("no-such-model", options()); });
  EXPECT_TRUE(contains(e, "there is no folder no-such-model here (")) << e;
  EXPECT_TRUE(contains(e, "model no-such-model not found on")) << e;
}

TEST_F(HubTest, NoNetworkFallsBackToACachedSnapshot) {
  const std::string dir = resolve_model("org/tiny", options());
  fs::remove_all(cache_ + "/models--org--tiny/.no_exist");
  fs::remove(dir + "/tokenizer.json");  // incomplete: the Hub would be asked
  fs::remove(dir + "/tokenizer_config.json");
  env_.set("HF_ENDPOINT", "http://127.0.0.1:" + std::to_string(closed_port()));
  EXPECT_EQ(resolve_model("org/tiny", options()), dir);
}

TEST_F(HubTest, GatedModelWithoutTokenSaysLogInAndAcceptTerms) {
  add_tiny("org/gated");
  hub_.repo("org/gated").gated = true;
  const std::string e = error_of([&] { resolve_model("org/gated", options()); });
  EXPECT_TRUE(contains(e, "org/gated is a gated model (HTTP 401)")) << e;
  EXPECT_TRUE(contains(e, "huggingface-cli login")) << e;
  EXPECT_TRUE(contains(e, "HF_TOKEN")) << e;
  EXPECT_TRUE(contains(e, "accept the model's terms on " + hub_.endpoint() + "/org/gated")) << e;
}

TEST_F(HubTest, GatedModelWithTokenNotAcceptedSaysAcceptTerms) {
  add_tiny("org/gated");
  hub_.repo("org/gated").gated = true;
  env_.set("HF_TOKEN", FakeHub::kValid);
  const std::string e = error_of([&] { resolve_model("org/gated", options()); });
  EXPECT_TRUE(contains(e, "HTTP 403")) << e;
  EXPECT_TRUE(contains(e, "accept the model's terms on " + hub_.endpoint() + "/org/gated")) << e;
}

TEST_F(HubTest, TokenIsSentToTheHubButNotToTheCdn) {
  add_tiny("org/gated");
  hub_.repo("org/gated").gated = true;
  env_.set("HF_TOKEN", FakeHub::kAccepted);
  EXPECT_EQ(resolve_model("org/gated", options()), snapshot("models--org--gated"));
  for (const auto& r : hub_.requests())
    EXPECT_EQ(r.authorization, r.server == "hub" ? std::string("Bearer ") + FakeHub::kAccepted : "")
        << r.server << " " << r.method << " " << r.path;
  EXPECT_EQ(hub_.requests("cdn", "GET").size(), 1u);
}

TEST_F(HubTest, TokenFileWrittenByLoginIsUsed) {
  add_tiny("org/gated");
  hub_.repo("org/gated").gated = true;
  fs::create_directories(tmp_ / "hf_home");
  write_text(tmp_ / "hf_home/token", std::string(FakeHub::kAccepted) + "\n");
  EXPECT_EQ(resolve_model("org/gated", options()), snapshot("models--org--gated"));
  write_text(tmp_ / "other_token", FakeHub::kAccepted);
  env_.set("HF_TOKEN_PATH", tmp_ / "other_token");
  fs::remove_all(cache_);
  EXPECT_EQ(resolve_model("org/gated", options()), snapshot("models--org--gated"));
}

TEST_F(HubTest, UnknownRepositorySaysCheckTheName) {
  std::string e = error_of([&] { resolve_model("org/no-such-model", options()); });
  EXPECT_TRUE(contains(e, "model org/no-such-model not found on " + hub_.endpoint() + " (HTTP 401)")) << e;
  EXPECT_TRUE(contains(e, "check the name")) << e;
  EXPECT_TRUE(contains(e, "huggingface-cli login")) << e;  // it may be private
  env_.set("HF_TOKEN", FakeHub::kValid);
  e = error_of([&] { resolve_model("org/no-such-model", options()); });
  EXPECT_TRUE(contains(e, "(HTTP 404): check the name")) << e;
}

TEST_F(HubTest, UnknownRevisionSaysCheckTheRevision) {
  HubOptions o = options();
  o.revision = "no-such-branch";
  const std::string e = error_of([&] { resolve_model("org/tiny", o); });
  EXPECT_TRUE(contains(e, "revision \"no-such-branch\" not found in org/tiny (HTTP 404)")) << e;
  EXPECT_TRUE(contains(e, "--revision")) << e;
}

TEST_F(HubTest, RepositoriesWithoutConfigOrSafetensorsAreExplained) {
  hub_.add_file("org/not-a-model", "README.md", "# hello", false);
  std::string e = error_of([&] { resolve_model("org/not-a-model", options()); });
  EXPECT_TRUE(contains(e, "has no config.json")) << e;
  hub_.add_file("org/pickle-only", "config.json", config_, false);
  hub_.add_file("org/pickle-only", "pytorch_model.bin", "not read", true);
  e = error_of([&] { resolve_model("org/pickle-only", options()); });
  EXPECT_TRUE(contains(e, "has no safetensors weights")) << e;
}

// ---------------------------------------------------------------- a cache laid out by huggingface_hub

namespace {

// Lays out `repo_id` at `commit` the way huggingface_hub's hf_hub_download leaves it (blobs named
// by etag, relative symlinks, refs/main, .no_exist for what transformers asked for and was told
// is absent), from the fixture files.
std::string lay_out_cache(const std::string& cache, const std::string& repo_id,
                          const std::vector<std::pair<std::string, std::string>>& files,
                          const std::vector<std::string>& absent) {
  const std::string storage = cache + "/" + textune::core::repo_folder_name(repo_id);
  const std::string snap = storage + "/snapshots/" + kCommit;
  fs::create_directories(storage + "/blobs");
  fs::create_directories(storage + "/refs");
  fs::create_directories(snap);
  for (const auto& [name, source] : files) {
    const std::string content = read_text(source);
    const std::string etag = name.size() > 12 && name.substr(name.size() - 12) == ".safetensors"
                                 ? lfs_sha256(content)
                                 : git_blob_sha1(content);
    write_text(storage + "/blobs/" + etag, content);
    fs::create_symlink("../../blobs/" + etag, snap + "/" + name);
  }
  write_text(storage + "/refs/main", kCommit);
  fs::create_directories(storage + "/.no_exist/" + kCommit);
  for (const auto& f : absent) write_text(storage + "/.no_exist/" + kCommit + "/" + f, "");
  return snap;
}

}  // namespace

TEST_F(HubTest, CacheLaidOutByHuggingfaceHubIsUsedByNameWithoutNetwork) {
  const std::string m = model_fixture("bert-seqcls"), t = tokenizer_fixture("bert-base-uncased");
  const std::string snap = lay_out_cache(cache_, "textune-fixtures/bert-seqcls",
                                         {{"config.json", m + "/config.json"},
                                          {"model.safetensors", m + "/model.safetensors"},
                                          {"tokenizer.json", t + "/tokenizer.json"},
                                          {"tokenizer_config.json", t + "/tokenizer_config.json"}},
                                         {"special_tokens_map.json", "added_tokens.json"});
  // Online, with the fake Hub listening: found in the cache, no request.
  EXPECT_EQ(resolve_model("textune-fixtures/bert-seqcls", options()), snap);
  EXPECT_TRUE(hub_.requests().empty());
  auto weights = textune::core::CheckpointWeights::open(snap);
  auto original = textune::core::SafetensorsFile::open(m + "/model.safetensors");
  ASSERT_EQ(weights.names().size(), original.tensors().size());
  for (const auto& info : original.tensors())
    EXPECT_TRUE(torch::equal(weights.get(info.name), original.get(info.name)));
  // Offline too.
  env_.set("HF_HUB_OFFLINE", "1");
  EXPECT_EQ(resolve_model("textune-fixtures/bert-seqcls", options()), snap);

  // The command line finds it by name and reports what it reports for the fixture directory.
  auto by_name = run_cli("info --json --model textune-fixtures/bert-seqcls");
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  auto by_dir = run_cli("info --json --model " + m);
  ASSERT_EQ(by_dir.exit_code, 0) << by_dir.err;
  auto a = nlohmann::json::parse(by_name.out), b = nlohmann::json::parse(by_dir.out);
  EXPECT_EQ(a["path"], snap);
  for (const char* k :
       {"model_type", "architectures", "id2label", "num_parameters", "num_tensors", "parameters_by_dtype"})
    EXPECT_EQ(a[k], b[k]) << k;
  EXPECT_TRUE(hub_.requests().empty());
}

// ---------------------------------------------------------------- the command line

TEST_F(HubTest, InfoCommandDownloadsByNameWithRevision) {
  hub_.repo("org/tiny").refs["v2"] = kCommit;
  auto r = run_cli("info --json --model org/tiny --revision v2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["path"], snapshot());
  EXPECT_EQ(j["model_type"], "bert");
  EXPECT_EQ(j["num_parameters"], 209676 / 4);  // as for the fixture directory (tests/cli/info_test.cpp)
  EXPECT_EQ(read_text(cache_ + "/models--org--tiny/refs/v2"), kCommit);
  // info needs no tokenizer: only config.json and the weights were asked for.
  EXPECT_EQ(hub_.requests("hub", "HEAD").size(), 2u);

  r = run_cli("info --model org/tiny --revision nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "revision \"nope\" not found")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
