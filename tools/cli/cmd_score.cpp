// `textune score --metric NAME --predictions FILE [...]`: a field's metric computed from files that
// any system wrote, printed as one JSON object on standard output.
//
// The metrics are a table (kMetrics below): a name, a line for --help and the function that scores.
// Adding a metric (squad, squad_v2, cmrc2018, bleu, chrf come with the QA and translation issues) is
// one entry there, plus the options it alone needs.
//
// squad, squad_v2, cmrc2018: --references is a question-answering file (SQuAD JSON, `datasets` rows;
// data::read_qa_references) and --predictions {id: answer text} (run_qa.py's predictions.json) or a list
// of {"id", "prediction_text"}; the JSON is the official script's (squad: evaluate's squad, exact_match
// and f1; squad_v2: the v2.0 script's main() with --na-probs as its --na-prob-file; cmrc2018: the CMRC
// 2018 script's AVERAGE, F1, EM, TOTAL, SKIP, unrounded).
//
// seqeval: FILE is conlleval's layout (`token ... gold predicted` per line, a blank line between
// sentences); the JSON is Hugging Face evaluate's seqeval (per type precision/recall/f1/number,
// overall_precision/recall/f1/accuracy) plus macro_avg and weighted_avg; seqeval's text report goes
// to standard error.
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/core/logging.h"
#include "textune/data/ner.h"
#include "textune/data/qa.h"
#include "textune/eval/seqeval.h"
#include "textune/eval/squad.h"

namespace textune::cli {
namespace {

struct ScoreOptions {
  std::string metric, predictions, output, plot;
  std::string references, na_probs, encoding;                        // question answering
  double na_prob_thresh = std::numeric_limits<double>::quiet_NaN();  // NaN: not given (1.0)
  std::string mode = "default", scheme;
  int zero_division = 0;
  int digits = 4;
};

/// seqeval.scheme.auto_detect: the scheme from the set of prefixes of the gold tags (IOB2, IOE2, IOBES
/// or BILOU), what seqeval's strict mode does when it is given no scheme.
data::TagScheme auto_detect_scheme(const std::vector<std::vector<std::string>>& gold, const std::string& file) {
  std::set<char> prefixes;
  for (const auto& s : gold)
    for (const auto& tag : s) {
      const char p = tag.empty() ? '\0' : tag[0];
      if (std::string("IOBESUL").find(p) == std::string::npos || p == '\0')
        throw DataError(
            fmt::format("{}: the gold tag \"{}\" has no scheme prefix (I, O, B, E, S, U, L); give "
                        "--scheme or use --mode default",
                        file, tag));
      prefixes.insert(p);
    }
  auto in = [&](const std::vector<std::string>& sets) {
    for (const auto& s : sets)
      if (prefixes == std::set<char>(s.begin(), s.end())) return true;
    return false;
  };
  if (in({"IOB", "IB", "BO", "B"})) return data::TagScheme::kIOB2;
  if (in({"IOE", "IE", "EO", "E"})) return data::TagScheme::kIOE2;
  if (in({"IOBES", "IBES", "IOBE", "OBES", "IBE", "BES", "OBE", "BE", "S"})) return data::TagScheme::kIOBES;
  if (in({"IOBLU", "IBLU", "IOBL", "OBLU", "IBL", "BLU", "OBL", "BL", "U"})) return data::TagScheme::kBILOU;
  throw DataError(fmt::format("{}: cannot detect the tag scheme of the gold tags (prefixes {}); give --scheme", file,
                              std::string(prefixes.begin(), prefixes.end())));
}

int score_seqeval(const ScoreOptions& o) {
  if (!o.scheme.empty() && o.mode != "strict")
    throw UsageError("--scheme applies to --mode strict (seqeval's default mode reads any scheme the conlleval way)");
  // output paths first, as eval's and predict's: their directory must exist (it is not created)
  if (!o.output.empty()) check_output_file(o.output, "--output");
  if (!o.plot.empty()) check_output_file(o.plot + "_f1_by_type.png", "--plot");
  std::vector<std::vector<size_t>> lines;
  const auto tags = eval::read_conlleval_file(o.predictions, &lines);
  const auto& gold = tags.first;
  const auto& pred = tags.second;
  eval::SeqevalOptions so;
  so.zero_division = o.zero_division;
  if (o.mode == "strict") {
    so.strict = true;
    so.scheme = o.scheme.empty() ? auto_detect_scheme(gold, o.predictions) : data::parse_tag_scheme(o.scheme);
    if (o.scheme.empty())
      spdlog::info("strict mode: the {} scheme, detected from the gold tags", data::tag_scheme_name(so.scheme));
    // a tag outside the scheme, named with its file and line before seqeval refuses it
    std::map<std::string, bool> checked;
    for (size_t s = 0; s < gold.size(); ++s)
      for (size_t i = 0; i < gold[s].size(); ++i)
        for (const auto* side : {&gold, &pred}) {
          const std::string& tag = (*side)[s][i];
          auto it = checked.find(tag);
          if (it == checked.end()) {
            bool ok = true;
            try {
              eval::get_entities_strict({tag}, so.scheme);
            } catch (const DataError&) {
              ok = false;
            }
            it = checked.emplace(tag, ok).first;
          }
          if (!it->second)
            throw DataError(fmt::format(
                "{}:{}: the {} tag \"{}\" is not a tag of the {} scheme (a prefix {} and a type)", o.predictions,
                lines[s][i], side == &gold ? "gold" : "predicted", tag, data::tag_scheme_name(so.scheme), [&] {
                  switch (so.scheme) {
                    case data::TagScheme::kIOB1:
                    case data::TagScheme::kIOB2:
                      return "B- or I-, or O";
                    case data::TagScheme::kIOE1:
                    case data::TagScheme::kIOE2:
                      return "I- or E-, or O";
                    case data::TagScheme::kIOBES:
                      return "B-, I-, E- or S-, or O";
                    case data::TagScheme::kBILOU:
                      return "B-, I-, L- or U-, or O";
                  }
                  return "";
                }()));
        }
  }
  const eval::SeqevalResult result = eval::seqeval(gold, pred, so);
  const std::string json = eval::seqeval_json(result).dump(2) + "\n";
  if (!o.output.empty()) core::write_file_atomic(o.output, json);
  if (core::verbosity() != core::Verbosity::kQuiet) std::cerr << eval::seqeval_report_text(result, o.digits);
  if (!o.plot.empty()) {
    const std::string bars = o.plot + "_f1_by_type.png", confusion = o.plot + "_entity_confusion.png";
    eval::plot_seqeval(result, bars, confusion);
    spdlog::info("per-type scores: {}; entity confusion: {}", bars, confusion);
  }
  std::cout << json;
  return 0;
}

/// squad, squad_v2, cmrc2018: the references and the predictions, scored by the official script's rules.
int score_qa(const ScoreOptions& o) {
  if (o.references.empty())
    throw UsageError(
        fmt::format("--metric {} needs --references (the question-answering file with the gold answers)", o.metric));
  if (o.metric != "squad_v2" && (!o.na_probs.empty() || !std::isnan(o.na_prob_thresh)))
    throw UsageError(fmt::format("--na-probs and --na-prob-thresh apply to --metric squad_v2, not {}", o.metric));
  if (!o.output.empty()) check_output_file(o.output, "--output");
  std::vector<eval::QaGold> gold;
  data::QaReadOptions ro;
  ro.data.read.encoding = o.encoding;
  for (auto& r : data::read_qa_references(o.references, ro)) gold.push_back({std::move(r.id), std::move(r.answers)});
  const auto predictions = eval::read_qa_predictions(o.predictions);
  core::Json result;
  if (o.metric == "squad") {
    result = eval::squad_v1(gold, predictions);
  } else if (o.metric == "squad_v2") {
    const double thresh = std::isnan(o.na_prob_thresh) ? 1.0 : o.na_prob_thresh;
    result = o.na_probs.empty() ? eval::squad_v2(gold, predictions, nullptr, thresh)
                                : eval::squad_v2(gold, predictions, eval::read_na_probs_list(o.na_probs), thresh);
  } else {
    result = eval::cmrc2018(gold, predictions);
  }
  const std::string json = result.dump(2) + "\n";
  if (!o.output.empty()) core::write_file_atomic(o.output, json);
  std::cout << json;
  return 0;
}

struct Metric {
  const char* name;
  const char* help;
  std::function<int(const ScoreOptions&)> run;
};

/// The metrics `score` computes, in --help order.
const std::vector<Metric>& metrics() {
  static const std::vector<Metric> m = {
      {"seqeval",
       "entity precision/recall/F1 of chunk tags as seqeval computes them; --predictions is a conlleval file "
       "(token ... gold predicted)",
       score_seqeval},
      {"squad",
       "SQuAD v1.1 exact_match and f1 as the official script (evaluate's squad) computes them; --references is a "
       "question-answering file, --predictions {id: answer text} or a list of {\"id\", \"prediction_text\"}",
       score_qa},
      {"squad_v2",
       "SQuAD v2.0 exact, f1, HasAns_*, NoAns_* (and with --na-probs best_exact/best_f1 and their thresholds) as the "
       "official v2.0 script computes them; files as squad",
       score_qa},
      {"cmrc2018",
       "CMRC 2018 AVERAGE, F1 (longest common substring of the mixed segmentation) and EM as its official script "
       "computes them (unrounded), TOTAL and SKIP; files as squad",
       score_qa},
  };
  return m;
}

std::string metric_names() {
  std::string s;
  for (const auto& m : metrics()) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

int run_score(const ScoreOptions& o) {
  for (const auto& m : metrics())
    if (o.metric == m.name) return m.run(o);
  throw UsageError(fmt::format("--metric {}: unknown metric (metrics: {})", o.metric, metric_names()));
}

const CommandRegistrar kRegistrar(
    "score", "Compute a metric (seqeval, squad, squad_v2, cmrc2018) from files of gold and predicted labels or answers",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<ScoreOptions>();
      std::string help = "The metric:";
      for (const auto& m : metrics()) help += fmt::format("\n  {}: {}", m.name, m.help);
      app.add_option("--metric", o->metric, help)->required();
      app.add_option("--predictions", o->predictions, "The file to score (its layout: see --metric)")->required();
      app.add_option("--references", o->references,
                     "squad, squad_v2, cmrc2018: the question-answering file with the gold answers (SQuAD JSON or "
                     "`datasets` rows)");
      app.add_option("--encoding", o->encoding,
                     "squad, squad_v2, cmrc2018: the encoding of --references (default utf-8; utf-16, gb18030, "
                     "or another iconv name)");
      app.add_option("--na-probs,--na_probs", o->na_probs,
                     "squad_v2: no-answer probabilities {id: probability} (the v2.0 script's --na-prob-file; "
                     "run_qa.py's null_odds.json, or evaluate's predictions with no_answer_probability)");
      app.add_option("--na-prob-thresh,--na_prob_thresh", o->na_prob_thresh,
                     "squad_v2: predict \"\" where the no-answer probability exceeds this (default 1.0)");
      app.add_option("--mode", o->mode,
                     "seqeval: default (conlleval's chunks: an entity may start with I-) or strict (only chunks "
                     "well-formed in --scheme count)")
          ->check(CLI::IsMember({"default", "strict"}))
          ->capture_default_str();
      app.add_option("--scheme", o->scheme,
                     "seqeval strict mode: IOB1, IOB2, IOE1, IOE2, IOBES or BILOU (default: detected from the gold "
                     "tags as seqeval does: IOB2, IOE2, IOBES or BILOU)");
      app.add_option("--zero-division,--zero_division", o->zero_division,
                     "seqeval: the precision or recall of a type with no predicted or no gold entity (0 or 1)")
          ->check(CLI::IsMember({0, 1}))
          ->capture_default_str();
      app.add_option("--digits", o->digits, "Decimals of the text report on standard error")
          ->check(CLI::Range(0, 12))
          ->capture_default_str();
      app.add_option("--output", o->output, "Also write the JSON to this file");
      app.add_option("--plot", o->plot,
                     "seqeval: write PREFIX_f1_by_type.png (per-type bars) and PREFIX_entity_confusion.png");
      return [o] { return run_score(*o); };
    },
    45);

}  // namespace
}  // namespace textune::cli
