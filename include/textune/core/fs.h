// Files and directories written atomically.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace textune::core {

/// Reads a whole file into a string.
/// @throws textune::DataError naming the file when it cannot be opened or read.
std::string read_file(const std::string& path);

/// Writes `bytes` to `path` atomically: the data goes to a temporary sibling (`.PATH.tmp-XXXX`),
/// is flushed, then renamed over `path`. A reader never sees a half-written file.
/// @throws textune::DataError naming the file when it cannot be written.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Test hook for crash safety: when the environment variable TEXTUNE_KILL_AT equals `phase`, the
/// process kills itself with SIGKILL at this point (no handler, no cleanup, as `kill -9` would).
/// `PHASE#N` kills at the N-th time the phase is reached. The kill-at-every-save-phase tests name
/// each phase of a save (tests/cli/kill_at_save_phase_test.cpp); unset, this does nothing.
void kill_point(std::string_view phase);

/// `path` with symbolic links of its last component followed (a chain too, up to 40 links), so that a
/// directory is written *through* a link: its replacement is renamed inside the target's parent and
/// the link keeps pointing at it. A path that is not a link is returned as given (trailing slashes
/// removed). @throws textune::DataError for a link loop.
std::string resolve_output_path(const std::string& path);

/// Removes what an interrupted atomic write (a `kill -9`, a power cut) leaves behind for directory
/// `path`: the hidden siblings `.NAME.incomplete-XXXXXXXX` and `.NAME.old-XXXXXXXX` of
/// AtomicDirectory and `.NAME.tmp-XXXXXXXX` of write_file_atomic, and inside `path` the same
/// leftovers of its entries (`.checkpoint-N.incomplete-XXXXXXXX`, `.training_log.jsonl.tmp-...`).
/// Only names of exactly that form are touched. @return the paths removed, for a message.
std::vector<std::string> remove_interrupted_leftovers(const std::string& path);

/// Creates and returns a new empty hidden sibling directory of `path`, `.NAME.TAG-XXXXXXXX` (8 random
/// hex digits), in the same parent (so that it can later be renamed over `path`).
/// @throws textune::DataError when it cannot be created.
std::string make_hidden_sibling_dir(const std::string& path, const std::string& tag);

/// Recreates file or directory tree `from` at `to` (which must not exist) with hard links to the
/// same files, or copies where the filesystem refuses a link; `from` is left unchanged.
/// @throws textune::DataError naming the path on failure.
void link_or_copy_tree(const std::string& from, const std::string& to);

/// Puts the finished directory `staging` at `path` atomically: renames it into place when `path`
/// does not exist, else swaps the two in one step (`renameat2` RENAME_EXCHANGE) and removes the old
/// contents, now under the staging name. At every instant `path` holds the old or the new directory
/// whole. `kill_prefix` (when not empty) names the kill_point after the swap, `PREFIX:exchanged`.
/// @throws textune::DataError when the rename fails (the previous directory is left intact).
void replace_directory(const std::string& staging, const std::string& path, const std::string& kill_prefix = "");

/// A directory built under a temporary sibling name and renamed into place by `commit()`.
///
/// Use it for every model and checkpoint directory: until `commit()` the final path keeps its
/// previous contents (or does not exist), so an interrupted save never leaves a half-written model
/// behind. When `path` already exists, `commit()` swaps the two atomically (`renameat2` with
/// `RENAME_EXCHANGE`) and then removes the old contents. If the object is destroyed without
/// `commit()` (an exception midway), the temporary directory is removed.
class AtomicDirectory {
 public:
  /// Creates the temporary sibling directory of `path` (parents created as needed). When `path` is
  /// a symbolic link, the link's target is written (resolve_output_path): the link stays a link.
  /// `kill_prefix` names the kill_point of commit() (see replace_directory).
  /// @throws textune::DataError when it cannot be created.
  explicit AtomicDirectory(std::string path, std::string kill_prefix = "");
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
  std::string kill_prefix_;
  bool committed_ = false;
};

}  // namespace textune::core
