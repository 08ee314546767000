// The Hugging Face Hub client and its cache: a `--model` value that is not a local directory is a
// Hub model id (`bert-base-uncased`, `hfl/chinese-roberta-wwm-ext`), downloaded once into the cache
// that Python's `huggingface_hub` keeps, in its exact layout, so either tool finds what the other
// downloaded.
//
// Source: huggingface_hub `file_download.py` (`hf_hub_download`, `_hf_hub_download_to_cache_dir`,
// `get_hf_file_metadata`, `http_get`, `try_to_load_from_cache`), `constants.py` (environment
// variables), `utils/_validators.py` (`validate_repo_id`), `utils/_http.py` (`hf_raise_for_status`).
//
// Cache layout ($HF_HUB_CACHE, default $HF_HOME/hub, default ~/.cache/huggingface/hub):
//
//   models--{org}--{name}/
//     blobs/{etag}                       file contents, named by git sha1 (small files) or sha256 (LFS)
//     snapshots/{commit}/{file}          relative symlinks ../../blobs/{etag}
//     refs/{revision}                    the commit hash a branch or tag resolved to (no newline)
//     .no_exist/{commit}/{file}          empty: the file does not exist at that commit
//   .locks/models--{org}--{name}/{etag}.lock   flock()ed while a blob is downloaded
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace textune::core {

/// How `resolve_model` and `hub_download` reach the Hub. Every empty/unset field falls back to
/// the environment variable `huggingface_hub` reads, so both tools agree by default.
struct HubOptions {
  /// Branch, tag or 40-hex commit hash (`--revision`).
  std::string revision = "main";
  /// Hub URL; empty: $HF_ENDPOINT, default https://huggingface.co (trailing '/' removed).
  std::string endpoint;
  /// Cache root; empty: `hub_cache_dir()`.
  std::string cache_dir;
  /// Access token; nullopt: `hub_token()` ($HF_TOKEN, else the token file). "" sends none.
  std::optional<std::string> token;
  /// Cache only, no request; nullopt: `hub_offline()` ($HF_HUB_OFFLINE).
  std::optional<bool> offline;
  /// Fetch config.json's weights (model.safetensors, or the index and every shard it names).
  bool weights = true;
  /// Fetch the tokenizer files that exist (tokenizer.json, vocab.txt, ... see `kHubTokenizerFiles`).
  bool tokenizer = true;
  /// Attempts after the first on a connection error, a timeout, HTTP 429 or 5xx; waits
  /// retry_base_seconds * 2^i between them, at most retry_max_seconds (huggingface_hub's
  /// `http_backoff`). A transfer that made progress before failing resets the count. A first
  /// request that cannot connect at all (host or proxy unresolvable, connection refused) is not
  /// retried: there is no network, and huggingface_hub's HEAD call does not retry either.
  int max_retries = 4;
  double retry_base_seconds = 0.5;
  double retry_max_seconds = 8.0;
  /// Seconds to establish a connection, and for a whole metadata (HEAD) request
  /// (HF_HUB_ETAG_TIMEOUT's role).
  double connect_timeout_seconds = 10.0;
  /// A download that receives nothing for this long is retried (HF_HUB_DOWNLOAD_TIMEOUT's role).
  double stall_timeout_seconds = 10.0;
  /// Draw a progress bar per downloaded file (also off when logging is quiet).
  bool progress = true;
};

/// Optional files fetched next to config.json when they exist, in this order.
extern const std::vector<std::string> kHubTokenizerFiles;

/// The single entry point before loading a model or tokenizer: returns a directory holding
/// config.json, the weights and the tokenizer files.
///
/// - An existing directory is returned as is (a local checkpoint wins over a Hub id of the same
///   name, as in transformers).
/// - Otherwise `id_or_dir` must be a Hub model id (`name` or `org/name`, `validate_repo_id`), and
///   the snapshot directory `CACHE/models--org--name/snapshots/COMMIT` is returned. When the cache
///   already holds that revision with config.json, the weights and a tokenizer (or every optional
///   file is known present or recorded absent in `.no_exist`), no request is made. Otherwise each
///   file is asked for with a HEAD request (commit and etag from X-Repo-Commit and
///   X-Linked-Etag/ETag), pinned to the commit the first answer named, and downloaded when its
///   blob is missing. An optional file the Hub answers 404 for is recorded in `.no_exist`.
/// - Offline (HF_HUB_OFFLINE=1): the cache only; when the Hub cannot be reached, a cached
///   snapshot of the revision with its required files is used with a warning.
///
/// @throws textune::DataError (exit 1) with a message saying what to do: "no such folder" at once,
///   without a request, for a path that does not exist (starting with '/', '.', '~', ending with
///   '/', with two '/' or more, or whose first part is an existing folder: `data/thuc` when ./data
///   exists; with the names of similar folders), or a value that cannot be a Hub id; for a name
///   without '/' that the Hub does not know or cannot be reached for, the message says both that
///   no such local folder exists and what the Hub said; an invalid id, a gated or private model (401/403: log in with `huggingface-cli login`,
///   set HF_TOKEN, accept the model's terms on its page), an unknown repository or revision (404),
///   a repository without config.json or safetensors weights, no network (try HF_HUB_OFFLINE=1
///   if it is cached), repeated 5xx answers, a download whose sha256 does not match its etag twice,
///   and offline mode with something missing from the cache (naming it).
std::string resolve_model(const std::string& id_or_dir, const HubOptions& options = {});

/// Downloads one file of a model repository into the cache (or finds it there) and returns the
/// snapshot path `CACHE/models--org--name/snapshots/COMMIT/FILENAME`; nullopt when the file does
/// not exist at that revision (Hub 404 EntryNotFound, recorded in `.no_exist`) (huggingface_hub's
/// `hf_hub_download`, which always asks the Hub unless the revision is a commit hash whose
/// snapshot holds the file, or offline mode is on).
/// @throws textune::DataError as `resolve_model`.
std::optional<std::string> hub_download(const std::string& repo_id, const std::string& filename,
                                        const HubOptions& options = {});

/// Whether `repo_id` is a valid Hub model id: `name` or `namespace/name`, letters, digits, '-',
/// '_' and '.', not starting or ending with '-' or '.', name at most 96 characters, no "--" or
/// "..", not ending in ".git" (huggingface_hub's `validate_repo_id`). On failure `reason` (when
/// given) says which rule it breaks.
bool is_valid_repo_id(std::string_view repo_id, std::string* reason = nullptr);

/// `models--{org}--{name}` for `org/name` (huggingface_hub's `repo_folder_name`).
std::string repo_folder_name(const std::string& repo_id);

/// $HF_ENDPOINT without trailing '/', default "https://huggingface.co".
std::string hub_endpoint();
/// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, HF_HOME defaulting to
/// $XDG_CACHE_HOME/huggingface, then ~/.cache/huggingface; '~' expanded.
std::string hub_cache_dir();
/// $HF_TOKEN (or the legacy $HUGGING_FACE_HUB_TOKEN), else the contents of the token file that
/// `huggingface-cli login` writes ($HF_TOKEN_PATH, default $HF_HOME/token), whitespace trimmed;
/// nullopt when none is set or $HF_HUB_DISABLE_IMPLICIT_TOKEN is true.
std::optional<std::string> hub_token();
/// $HF_HUB_OFFLINE (or $TRANSFORMERS_OFFLINE) is one of 1/ON/YES/TRUE, any case.
bool hub_offline();

/// Lower-case hex SHA-256 of `bytes` (OpenSSL's libcrypto).
std::string sha256_hex(std::string_view bytes);
/// Lower-case hex SHA-256 of a file's contents, read in 1 MiB chunks.
/// @throws textune::DataError when the file cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace textune::core
