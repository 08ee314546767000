// Files and directories written atomically.
#pragma once

#include <string>
#include <string_view>

namespace textune::core {

/// Reads a whole file into a string.
/// @throws textune::DataError naming the file when it cannot be opened or read.
std::string read_file(const std::string& path);

/// Writes `bytes` to `path` atomically: the data goes to a temporary sibling (`.PATH.tmp-XXXX`),
/// is flushed, then renamed over `path`. A reader never sees a half-written file.
/// @throws textune::DataError naming the file when it cannot be written.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// A directory built under a temporary sibling name and renamed into place by `commit()`.
///
/// Use it for every model and checkpoint directory: until `commit()` the final path keeps its
/// previous contents (or does not exist), so an interrupted save never leaves a half-written model
/// behind. When `path` already exists, `commit()` swaps the two atomically (`renameat2` with
/// `RENAME_EXCHANGE`) and then removes the old contents. If the object is destroyed without
/// `commit()` (an exception midway), the temporary directory is removed.
class AtomicDirectory {
 public:
  /// Creates the temporary sibling directory of `path` (parents created as needed).
  /// @throws textune::DataError when it cannot be created.
  explicit AtomicDirectory(std::string path);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  /// The temporary directory to write into.
  const std::string& staging_path() const { return staging_; }
  /// `staging_path() + "/" + name`.
  std::string file(const std::string& name) const;
  /// The final directory.
  const std::string& path() const { return path_; }

  /// Moves the staging directory into place.
  /// @throws textune::DataError when the rename fails (the previous directory is left intact).
  void commit();

 private:
  std::string path_;
  std::string staging_;
  bool committed_ = false;
};

}  // namespace textune::core
