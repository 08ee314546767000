// The dataset options of the command line: see data_options.h.
#include "data_options.h"

#include "textune/core/error.h"

#include <string>
#include <vector>

namespace textune::cli {

void add_data_options(CLI::App& app, data::DataOptions& o, DataOptionGroups groups) {
  const std::string group = "Data";
  app.add_option("--text-column,--text_column", o.text_column,
                 "Column of the text: a name, or a 0-based index (default: text, sentence, sentence1, text_a)")
      ->group(group);
  if (groups.pairs)
    app.add_option("--text-pair-column,--text_pair_column", o.text_pair_column,
                   "Column of the second text of a pair (default: sentence2 when the text is sentence1)")
        ->group(group);
  if (groups.labels) {
    app.add_option("--label-column,--label_column,--label_column_name", o.label_column,
                   "Column of the label: a name or a 0-based index (default: label, labels; score for regression)")
        ->group(group);
    app.add_option_function<std::string>(
           "--label-separator,--label_separator", [&o](const std::string& s) { o.label_separator = s; },
           "Multi-label: separator between the labels of a cell, e.g. ',' (default: a JSON list per cell)")
        ->group(group);
    app.add_option("--label-names,--label_names", o.label_names_file,
                   "File with one label name per line: integer labels are ids into it (e.g. THUCNews class.txt)")
        ->group(group);
  }
  app.add_option_function<std::string>(
         "--format",
         [&o](const std::string& s) {
           // conll and msra are layouts of token classification (data/ner.h), not table formats
           if (s == "conll" || s == "msra") {
             o.layout = s;
             o.read.format.reset();
           } else {
             o.layout.clear();
             o.read.format = data::parse_format(s);
           }
         },
         "File format (default: from the extension; .txt reads as TSV); conll or msra for token classification")
      ->check(CLI::IsMember({"csv", "tsv", "txt", "jsonl", "json", "xlsx", "conll", "msra"}))
      ->group(group);
  app.add_option("--sheet", o.read.sheet, "Excel sheet name (default: the first sheet)")->group(group);
  app.add_option_function<std::string>(
         "--delimiter", [&o](const std::string& s) { o.read.delimiter = data::parse_delimiter(s); },
         "CSV field delimiter: one character, or tab (default: sniffed from the header among , ; tab |)")
      ->check(
          [](const std::string& s) -> std::string {
            try {
              data::parse_delimiter(s);
              return "";
            } catch (const Error& e) {
              return e.what();
            }
          },
          "CHAR")
      ->group(group);
  app.add_option("--encoding", o.read.encoding,
                 "Text file encoding: utf-8 (default), utf-8-sig, utf-16, utf-16le, utf-16be, latin-1, cp1252, or "
                 "another iconv name (gb18030, ...)")
      ->group(group);
  app.add_flag_callback(
         "--no-header,--no_header", [&o] { o.read.has_header = false; },
         "CSV/TSV without a header row: columns are named by 0-based index (GLUE CoLA)")
      ->group(group);
  app.add_option_function<std::string>(
         "--quoting", [&o](const std::string& s) { o.read.quoting = data::parse_quoting(s); },
         "CSV/TSV quotes: csv (RFC 4180, default for .csv), none, auto (default for .tsv)")
      ->check(CLI::IsMember({"auto", "csv", "rfc4180", "none"}))
      ->group(group);
  app.add_flag("--skip-invalid,--skip_invalid", o.skip_invalid,
               "Skip invalid rows (and say how many) instead of stopping with the validation report")
      ->group(group);
  app.add_option("--max-problems,--max_problems", o.max_problems, "How many problems the validation report lists")
      ->group(group);
}

}  // namespace textune::cli
