#include "textune/core/fs.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "textune/core/error.h"

namespace fs = std::filesystem;

namespace textune::core {
namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(kHex[rng() % 16]);
  return s;
}

std::string sibling(const std::string& path, const std::string& tag) {
  fs::path p(path);
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();  // "dir/" spelled with a slash
  fs::path parent = p.has_filename() ? p.parent_path() : p.parent_path().parent_path();
  return (parent / ("." + name + "." + tag + "-" + random_suffix())).string();
}

}  // namespace

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw DataError(path + " is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError("cannot read " + path);
  return ss.str();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string tmp = sibling(path, "tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw DataError("cannot write " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw DataError("cannot write " + path + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw DataError("cannot write " + path + ": " + std::strerror(e));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw DataError("cannot write " + path + ": " + std::strerror(e));
  }
}

void kill_point(std::string_view phase) {
  // TEXTUNE_KILL_AT=PHASE kills at the first time PHASE is reached, PHASE#N at the N-th time.
  static const char* const env = std::getenv("TEXTUNE_KILL_AT");
  if (!env) return;
  static const std::string_view spec(env);
  static const size_t hash = spec.rfind('#');
  static const std::string_view target = spec.substr(0, hash);
  static const long nth = hash == std::string_view::npos ? 1 : std::atol(env + hash + 1);
  static long seen = 0;
  if (phase == target && ++seen == nth) ::raise(SIGKILL);
}

std::string resolve_output_path(const std::string& path) {
  fs::path p(path);
  std::string s = path;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  p = s;
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(p, ec); ++hops) {
    if (hops == 40) throw DataError(path + ": too many levels of symbolic links");
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) throw DataError("cannot read the link " + p.string() + ": " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
    p = p.lexically_normal();
    if (p.has_parent_path() && !p.has_filename()) p = p.parent_path();
  }
  return p.string();
}

std::vector<std::string> remove_interrupted_leftovers(const std::string& path) {
  std::vector<std::string> removed;
  const fs::path p(path);
  const std::string name = p.filename().string();
  // ".NAME.TAG-XXXXXXXX" exactly, TAG one of ours.
  static const std::regex kLeftover(R"(\.(.+)\.(incomplete|old|tmp)-[0-9a-f]{8})");
  auto sweep = [&](const fs::path& dir, const std::string* only_name) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename().string();
      std::smatch m;
      if (!std::regex_match(n, m, kLeftover)) continue;
      if (only_name && m[1].str() != *only_name) continue;
      std::error_code rec;
      fs::remove_all(e.path(), rec);
      if (!rec) removed.push_back(e.path().string());
    }
  };
  const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  sweep(parent, &name);
  sweep(p, nullptr);
  return removed;
}

std::string make_hidden_sibling_dir(const std::string& path, const std::string& tag) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string dir = sibling(path, tag);
  if (!fs::create_directory(dir, ec)) throw DataError("cannot create directory " + dir + ": " + ec.message());
  return dir;
}

void link_or_copy_tree(const std::string& from, const std::string& to) {
  std::error_code ec;
  const auto st = fs::symlink_status(from, ec);
  if (ec) throw DataError("cannot read " + from + ": " + ec.message());
  if (fs::is_directory(st)) {
    if (!fs::create_directory(to, ec) || ec)
      throw DataError("cannot create directory " + to + ": " + (ec ? ec.message() : "it exists"));
    for (const auto& e : fs::directory_iterator(from))
      link_or_copy_tree(e.path().string(), (fs::path(to) / e.path().filename()).string());
    return;
  }
  if (fs::is_symlink(st)) {
    fs::copy_symlink(from, to, ec);
    if (ec) throw DataError("cannot copy the link " + from + " to " + to + ": " + ec.message());
    return;
  }
  if (::link(from.c_str(), to.c_str()) == 0) return;
  fs::copy_file(from, to, ec);
  if (ec) throw DataError("cannot copy " + from + " to " + to + ": " + ec.message());
}

void replace_directory(const std::string& staging, const std::string& path, const std::string& kill_prefix) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    // Swap the finished directory with the old one in one step, then delete the old contents.
    long rc = syscall(SYS_renameat2, AT_FDCWD, staging.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE);
    if (rc != 0) {
      // Filesystems without RENAME_EXCHANGE: move the old one aside first. A kill between the two
      // renames leaves `path` missing and the old directory under `.NAME.old-*`.
      const std::string old = sibling(path, "old");
      if (std::rename(path.c_str(), old.c_str()) != 0)
        throw DataError("cannot replace directory " + path + ": " + std::strerror(errno));
      if (std::rename(staging.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::rename(old.c_str(), path.c_str());
        throw DataError("cannot replace directory " + path + ": " + std::strerror(e));
      }
      if (!kill_prefix.empty()) kill_point(kill_prefix + ":exchanged");
      fs::remove_all(old, ec);
    } else {
      if (!kill_prefix.empty()) kill_point(kill_prefix + ":exchanged");
      fs::remove_all(staging, ec);  // now holds the old contents
    }
  } else if (std::rename(staging.c_str(), path.c_str()) != 0) {
    throw DataError("cannot create directory " + path + ": " + std::strerror(errno));
  }
}

AtomicDirectory::AtomicDirectory(std::string path, std::string kill_prefix)
    : path_(resolve_output_path(path)), kill_prefix_(std::move(kill_prefix)) {
  std::error_code ec;
  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (fs::exists(path_, ec) && !fs::is_directory(path_, ec))
    throw DataError("cannot write directory " + path_ + ": a file with that name exists");
  staging_ = sibling(path_, "incomplete");
  if (!fs::create_directory(staging_, ec))
    throw DataError("cannot create directory " + staging_ + ": " + ec.message());
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

std::string AtomicDirectory::file(const std::string& name) const { return staging_ + "/" + name; }

void AtomicDirectory::commit() {
  if (committed_) return;
  replace_directory(staging_, path_, kill_prefix_);
  committed_ = true;
}

}  // namespace textune::core
