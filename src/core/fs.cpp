#include "textune/core/fs.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
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

AtomicDirectory::AtomicDirectory(std::string path) : path_(std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
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
  std::error_code ec;
  if (fs::exists(path_, ec)) {
    // Swap the finished directory with the old one in one step, then delete the old contents.
    long rc = syscall(SYS_renameat2, AT_FDCWD, staging_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE);
    if (rc != 0) {
      // Filesystems without RENAME_EXCHANGE: move the old one aside first.
      const std::string old = sibling(path_, "old");
      if (std::rename(path_.c_str(), old.c_str()) != 0)
        throw DataError("cannot replace directory " + path_ + ": " + std::strerror(errno));
      if (std::rename(staging_.c_str(), path_.c_str()) != 0) {
        int e = errno;
        std::rename(old.c_str(), path_.c_str());
        throw DataError("cannot replace directory " + path_ + ": " + std::strerror(e));
      }
      fs::remove_all(old, ec);
    } else {
      fs::remove_all(staging_, ec);  // now holds the old contents
    }
  } else if (std::rename(staging_.c_str(), path_.c_str()) != 0) {
    throw DataError("cannot create directory " + path_ + ": " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace textune::core
