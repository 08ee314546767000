// Token-tagged data for named-entity recognition: CoNLL files, `datasets`-style JSON/JSONL
// ({"tokens": [...], "ner_tags": [...]}), MSRA-style TSV (space-separated characters and tags in two
// columns) and .xlsx with the same two columns; tag schemes (IOB1, IOB2, IOE1, IOE2, IOBES, BILOU),
// their detection and their checks; the label list (first seen, "O" first).
//
// What this reproduces: the data side of transformers' examples/pytorch/token-classification/run_ner.py
// (tokens + ner_tags columns, the label list of the training file, `label_all_tokens`' B- to I- map)
// and the CoNLL-2003 file layout the conlleval script reads. NOTE: interface pinned by the lead;
// the implementation is in src/data/ner*.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::data {

/// Tag schemes of chunk tags (seqeval.scheme's classes of the same names).
enum class TagScheme {
  kIOB1,   ///< I- everywhere; B- only to start an entity right after one of the same type
  kIOB2,   ///< B- starts every entity, I- continues it (CoNLL-2003 as `datasets` ships it, WNUT-17, MSRA)
  kIOE1,   ///< I- everywhere; E- only to end an entity right before one of the same type
  kIOE2,   ///< E- ends every entity
  kIOBES,  ///< B- begin, I- inside, E- end, S- single
  kBILOU,  ///< B- begin, I- inside, L- last, U- unit
};

/// "IOB1", "IOB2", "IOE1", "IOE2", "IOBES" or "BILOU".
std::string tag_scheme_name(TagScheme scheme);
/// The inverse of tag_scheme_name, case-insensitive; "BIO" is IOB2 and "BIOES" IOBES.
/// @throws textune::UsageError for another name, listing the names.
TagScheme parse_tag_scheme(const std::string& name);

/// The prefix ("B", "I", "E", "S", "L", "U"; "O" for the outside tag "O") and the entity type of a
/// tag: "B-PER" gives ("B", "PER"). A tag without a prefix and dash ("PER") is ("", "PER").
/// "B-" followed by nothing is ("B", "").
std::pair<std::string, std::string> split_tag(const std::string& tag);

/// Whether `tag` is valid in `scheme`: "O", or PREFIX-TYPE with a non-empty TYPE and a prefix the
/// scheme has (IOB1/IOB2: B I; IOE1/IOE2: I E; IOBES: B I E S; BILOU: B I L U).
bool tag_in_scheme(const std::string& tag, TagScheme scheme);

/// Detects the scheme of tag sequences from the prefixes they use: U-/L- BILOU; S-/E- together with
/// B- IOBES; E- alone (with I-) IOE2, or IOE1 when some entity does not end with E-; B-/I- IOB2, or
/// IOB1 when some entity starts with I- (an I-X after O, after the start of the sentence or after
/// another type). Only "O" tags: IOB2. nullopt when the prefixes fit no scheme (S- with L-, ...).
std::optional<TagScheme> detect_tag_scheme(const std::vector<std::vector<std::string>>& tag_sequences);

/// One sentence: words and, when labelled, one tag per word.
struct TaggedSentence {
  std::vector<std::string> tokens;  ///< the words, none empty, valid UTF-8
  std::vector<std::string> tags;    ///< one per token when labelled; empty otherwise
  /// 1-based, where it starts: the line (CoNLL, TSV/CSV, JSONL), the record (a JSON array) or the
  /// sheet's row (xlsx), as messages name it.
  size_t line = 0;
};

/// How NER files are read. The generic DataOptions give the rest: read.format (xlsx, json, jsonl,
/// tsv; "conll" is none of data::Format, see `conll`), read.sheet, read.encoding,
/// label_names_file (integer ner_tags are ids into it), skip_invalid, max_problems, require_labels.
struct NerReadOptions {
  DataOptions data;
  /// The layout: "" from the file (see read_ner), "conll", "json" (a JSON array of records),
  /// "jsonl", "msra" (TSV: a column of space-separated tokens and one of space-separated tags) or
  /// "xlsx" (the same two columns in a sheet).
  std::string format;
  /// CoNLL: the 0-based column that holds the tag (default: the last one); the token is column 0.
  std::optional<size_t> tag_column;
  /// JSON/JSONL/MSRA/xlsx: the column of the tokens (default: DataOptions::text_column, else
  /// "tokens", else "text_a", else "text", else "words", else the first column) and of the tags
  /// (default: DataOptions::label_column, else "ner_tags", else "tags", else "label", else
  /// "labels", else the other column of a two-column file). A name, or a 0-based index.
  std::string tokens_column, tags_column;
  /// The scheme the tags are in; nullopt: detected (detect_tag_scheme) and said in the log.
  std::optional<TagScheme> tag_scheme;
};

/// A read NER file.
struct NerDataset {
  std::string source;  ///< the path as given
  std::string format;  ///< the layout read ("conll", "jsonl", "msra", ...)
  std::vector<TaggedSentence> sentences;
  bool labelled = false;                ///< every sentence has tags
  TagScheme scheme = TagScheme::kIOB2;  ///< the scheme given, else the one detected
  bool scheme_detected = false;         ///< the scheme came from detect_tag_scheme
  /// The tags of this file in first-seen order with "O" first (when present), or the `label_list`
  /// given to read_ner.
  std::vector<std::string> label_list;
  ValidationReport report;  ///< problems, counts (rows are sentences' lines)

  size_t size() const { return sentences.size(); }
};

/// Reads a NER file.
///
/// The layout, unless NerReadOptions::format says it: .json/.jsonl are `datasets` records ("tokens"
/// and "ner_tags" lists; ner_tags as strings, or as integers with DataOptions::label_names_file);
/// .xlsx and .tsv/.csv whose first line is a header with two columns are MSRA-style (space-separated
/// tokens and tags); anything else (.conll, .txt, .bio, .iob, no extension, a .tsv without such a
/// header) is CoNLL: `token<TAB or space>...<TAB or space>tag` per line (several columns allowed: the
/// tag is the last, or NerReadOptions::tag_column), a blank line between sentences, lines starting
/// with "-DOCSTART-" skipped, lines starting with "#" skipped as comments.
///
/// CoNLL details: the file's first token line sets the separator (a tab when it holds one: fields
/// split at each tab, so tokens may hold spaces; else runs of spaces) and the number of columns.
/// A line of only spaces and tabs is a blank line (WNUT-17's train file separates sentences with
/// tab-only lines). A line starting with "#" is a comment unless it reads as a token line: the
/// file's number of columns and a tag ("O", X-TYPE with X one of B I E S L U, or a known label) in
/// the tag column, so "#hashtag<TAB>O" is a token and "# text = ..." a comment. CRLF line ends and a
/// UTF-8 byte order mark are read; DataOptions::read.encoding decodes other encodings (decode_text).
/// A line over 1 MiB is a problem and is not copied: memory stays about the file's size.
///
/// Tokens are split at single spaces in MSRA/xlsx cells (and in a JSON string given instead of a
/// list), as UER-py does: two spaces in a row make an empty token. Integer tags (JSON integers, and
/// in any layout a decimal tag that is not itself a label name) are ids into
/// DataOptions::label_names_file (the label list is then that file's names, in file order); without
/// it, into `label_list` when none of its labels is an integer (as load_dataset does).
///
/// The scheme detected is logged (info); when the prefixes fit no one scheme, the tags are checked
/// against the scheme most of them fit, with a warning.
///
/// `label_list`: for an evaluation file, the training labels (the model's id2label). A tag outside it
/// is a problem naming the tag and its line. When null the list is built from this file.
///
/// Problems (each names the file and the line; a data::Problem with row 0 and the place at the
/// start of its message: "line 5: ...", "record 3, column "tokens", token 2: ..." for a JSON array,
/// "row 4, ..." for xlsx, so that Problem::to_string is "FILE: line 5: ..."): a line with another
/// number of columns than the file's first; token and tag counts that differ; an empty token; a tag
/// outside the scheme (the scheme given, or detected from the tags that fit one); an evaluation tag
/// never seen in training; invalid UTF-8; an integer tag out of the label names' range. A problem
/// makes the sentence invalid: with DataOptions::skip_invalid invalid sentences are dropped and
/// counted in the report (num_rows: sentences read, num_invalid_rows: the invalid ones,
/// num_examples: those kept; warned once), otherwise a DataError "FILE: K invalid sentences of N:
/// line 5: ...; ... (fix them, or pass --skip-invalid ...)" is thrown with the first
/// DataOptions::max_problems problems (all counted).
///
/// Prediction files (DataOptions::require_labels false) may have no tag column (CoNLL: one token
/// per line); tags present are then read and ignored.
///
/// @throws textune::DataError for problems (above), an empty file (no sentence), a file read error.
/// @throws textune::UsageError for an unknown format or a tag_column beyond the columns.
NerDataset read_ner(const std::string& path, const NerReadOptions& options = {},
                    const std::vector<std::string>* label_list = nullptr);

/// transformers' run_ner.py `b_to_i_label`: for each label id, the id of its I- label when the label
/// is B-X and I-X is in `labels`, else its own id (what --label_all_tokens gives the later subtokens
/// of a word). As run_ner.py, only B- labels are mapped (S-/U- keep their own id).
std::vector<int64_t> b_to_i_label(const std::vector<std::string>& labels);

/// Writes sentences as CoNLL (token TAB tag, a blank line between sentences): for tests and `textune
/// data --output`. @throws textune::DataError when the file cannot be written.
void write_conll(const std::string& path, const std::vector<TaggedSentence>& sentences);

}  // namespace textune::data
