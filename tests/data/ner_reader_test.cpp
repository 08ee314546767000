// Issue 12 (named-entity recognition), the data side: tag schemes (names, checks, detection),
// run_ner.py's b_to_i_label, the readers of CoNLL, `datasets` JSON/JSONL, MSRA TSV and .xlsx, every
// bad-input case of the issue (each a DataError, exit code 1, naming the file and the line), and the
// real WNUT-17 and MSRA files.
#include <gmock/gmock.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/ner.h"
#include "textune/data/table.h"

namespace textune::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::write_text;

/// The message of the DataError `f` throws; checks its exit code is the data-error one (1).
template <typename F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    EXPECT_EQ(e.exit_code(), kExitDataError);
    EXPECT_EQ(e.exit_code(), 1);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a DataError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no DataError thrown";
  return "";
}

template <typename F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsageError);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a UsageError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no UsageError thrown";
  return "";
}

NerDataset read(const std::string& path, const std::string& text, NerReadOptions o = {},
                const std::vector<std::string>* labels = nullptr) {
  write_text(path, text);
  return read_ner(path, o, labels);
}

std::vector<std::vector<std::string>> tags_of(const NerDataset& d) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : d.sentences) out.push_back(s.tags);
  return out;
}

/// Entities per type of IOB2 tags (by definition: each B- starts one; detection found no I- start).
std::map<std::string, size_t> entities(const NerDataset& d) {
  std::map<std::string, size_t> n;
  for (const auto& s : d.sentences)
    for (const auto& t : s.tags)
      if (t.rfind("B-", 0) == 0) ++n[t.substr(2)];
  return n;
}

size_t tokens(const NerDataset& d) {
  size_t n = 0;
  for (const auto& s : d.sentences) n += s.tokens.size();
  return n;
}

// ---------------------------------------------------------------------------------------------
// tag schemes

TEST(NerTagScheme, NamesRoundTripAndAliases) {
  for (auto s :
       {TagScheme::kIOB1, TagScheme::kIOB2, TagScheme::kIOE1, TagScheme::kIOE2, TagScheme::kIOBES, TagScheme::kBILOU})
    EXPECT_EQ(parse_tag_scheme(tag_scheme_name(s)), s);
  EXPECT_EQ(tag_scheme_name(TagScheme::kIOBES), "IOBES");
  EXPECT_EQ(parse_tag_scheme("bio"), TagScheme::kIOB2);
  EXPECT_EQ(parse_tag_scheme("BIOES"), TagScheme::kIOBES);
  EXPECT_EQ(parse_tag_scheme("bilou"), TagScheme::kBILOU);
  EXPECT_THAT(usage_error([] { parse_tag_scheme("IOB3"); }), HasSubstr("IOB1, IOB2"));
}

TEST(NerTagScheme, SplitTag) {
  EXPECT_EQ(split_tag("B-PER"), (std::pair<std::string, std::string>{"B", "PER"}));
  EXPECT_EQ(split_tag("O"), (std::pair<std::string, std::string>{"O", ""}));
  EXPECT_EQ(split_tag("PER"), (std::pair<std::string, std::string>{"", "PER"}));
  EXPECT_EQ(split_tag("B-"), (std::pair<std::string, std::string>{"B", ""}));
  EXPECT_EQ(split_tag("I-creative-work"), (std::pair<std::string, std::string>{"I", "creative-work"}));
}

TEST(NerTagScheme, TagInScheme) {
  EXPECT_TRUE(tag_in_scheme("O", TagScheme::kBILOU));
  EXPECT_TRUE(tag_in_scheme("B-PER", TagScheme::kIOB2));
  EXPECT_TRUE(tag_in_scheme("I-PER", TagScheme::kIOB1));
  EXPECT_FALSE(tag_in_scheme("E-PER", TagScheme::kIOB2));
  EXPECT_FALSE(tag_in_scheme("B-PER", TagScheme::kIOE2));
  EXPECT_TRUE(tag_in_scheme("E-PER", TagScheme::kIOE1));
  EXPECT_TRUE(tag_in_scheme("S-PER", TagScheme::kIOBES));
  EXPECT_FALSE(tag_in_scheme("U-PER", TagScheme::kIOBES));
  EXPECT_TRUE(tag_in_scheme("U-PER", TagScheme::kBILOU));
  EXPECT_TRUE(tag_in_scheme("L-PER", TagScheme::kBILOU));
  EXPECT_FALSE(tag_in_scheme("E-PER", TagScheme::kBILOU));
  EXPECT_FALSE(tag_in_scheme("B-", TagScheme::kIOB2));   // no type
  EXPECT_FALSE(tag_in_scheme("PER", TagScheme::kIOB2));  // no prefix
  EXPECT_FALSE(tag_in_scheme("o", TagScheme::kIOB2));    // the outside tag is "O"
  EXPECT_FALSE(tag_in_scheme("BB-PER", TagScheme::kIOB2));
}

// Hand cases from the schemes' definitions (Ramshaw & Marcus 1995 for IOB1; Tjong Kim Sang & Veenstra
// 1999 for IOB2/IOE1/IOE2; IOBES/BILOU as seqeval.scheme names them).
TEST(NerTagScheme, DetectsEachScheme) {
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "I-PER", "O", "B-LOC"}}), TagScheme::kIOB2);
  // IOB1: entities start with I-; B- only between two entities of a type
  EXPECT_EQ(detect_tag_scheme(V{{"I-PER", "I-PER", "B-PER", "O"}}), TagScheme::kIOB1);
  EXPECT_EQ(detect_tag_scheme(V{{"O", "I-LOC"}}), TagScheme::kIOB1);                      // I- after O
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "I-LOC"}}), TagScheme::kIOB1);                  // after another type
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "I-PER"}, {"I-PER", "O"}}), TagScheme::kIOB1);  // sentence start
  // IOE2: every entity ends with E-
  EXPECT_EQ(detect_tag_scheme(V{{"I-PER", "E-PER", "O", "E-LOC"}}), TagScheme::kIOE2);
  // IOE1: E- only before an entity of the same type; "I-LOC O" ends without E-
  EXPECT_EQ(detect_tag_scheme(V{{"I-PER", "E-PER", "I-PER", "O", "I-LOC", "O"}}), TagScheme::kIOE1);
  EXPECT_EQ(detect_tag_scheme(V{{"E-PER", "I-PER"}}), TagScheme::kIOE1);  // at the sentence end
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "I-PER", "E-PER", "S-LOC"}}), TagScheme::kIOBES);
  EXPECT_EQ(detect_tag_scheme(V{{"S-LOC", "O"}}), TagScheme::kIOBES);
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "E-PER"}}), TagScheme::kIOBES);
  EXPECT_EQ(detect_tag_scheme(V{{"B-PER", "I-PER", "L-PER", "U-LOC"}}), TagScheme::kBILOU);
  EXPECT_EQ(detect_tag_scheme(V{{"U-LOC"}}), TagScheme::kBILOU);
  EXPECT_EQ(detect_tag_scheme(V{{"O", "O"}, {}}), TagScheme::kIOB2);
  EXPECT_EQ(detect_tag_scheme(V{}), TagScheme::kIOB2);
  EXPECT_EQ(detect_tag_scheme(V{{"S-PER", "L-PER"}}), std::nullopt);
  EXPECT_EQ(detect_tag_scheme(V{{"E-PER", "U-PER"}}), std::nullopt);
}

// run_ner.py: b_to_i_label[i] = label_list.index(label.replace("B-", "I-")) for a B- label whose
// I- label exists, else i.
TEST(NerTagScheme, BToILabelAsRunNer) {
  EXPECT_THAT(b_to_i_label({"O", "B-PER", "I-PER", "B-LOC", "S-ORG", "B-MISC", "I-MISC"}),
              ElementsAre(0, 2, 2, 3, 4, 6, 6));
  EXPECT_THAT(b_to_i_label({"I-X", "B-X"}), ElementsAre(0, 0));
  EXPECT_THAT(b_to_i_label({}), ElementsAre());
}

// ---------------------------------------------------------------------------------------------
// CoNLL

TEST(NerConll, TabsSpacesDocstartCommentsCrlfAndHashtags) {
  TempDir tmp;
  // CoNLL-2003 layout (space-separated, tag last), a -DOCSTART- line, CRLF line ends, a CoNLL-U
  // comment before a sentence, a whitespace-only separator line (as WNUT-17's train file has).
  const auto d = read(tmp / "a.conll",
                      "-DOCSTART- -X- -X- O\r\n\r\n"
                      "# sent_id = 1\r\n"
                      "EU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\nGerman JJ B-NP B-MISC\r\n\r\n"
                      "Peter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER\r\n \t \r\n"
                      "# text = # O\r\n"
                      "# NN B-NP O\r\n");  // the token "#"
  EXPECT_EQ(d.format, "conll");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_THAT(d.sentences[0].tokens, ElementsAre("EU", "rejects", "German"));
  EXPECT_THAT(d.sentences[0].tags, ElementsAre("B-ORG", "O", "B-MISC"));
  EXPECT_EQ(d.sentences[0].line, 4u);
  EXPECT_THAT(d.sentences[1].tokens, ElementsAre("Peter", "Blackburn"));
  EXPECT_EQ(d.sentences[1].line, 8u);
  EXPECT_THAT(d.sentences[2].tokens, ElementsAre("#"));
  EXPECT_EQ(d.sentences[2].line, 12u);
  EXPECT_TRUE(d.labelled);
  EXPECT_EQ(d.scheme, TagScheme::kIOB2);
  EXPECT_TRUE(d.scheme_detected);
  // first seen, "O" first
  EXPECT_THAT(d.label_list, ElementsAre("O", "B-ORG", "B-MISC", "B-PER", "I-PER"));

  // tab-separated: tokens may hold spaces; "#hashtag<TAB>O" is a token, "# comment" is not
  const auto t = read(tmp / "b.tsv", "# a comment\n#nlp\tO\nNew York\tB-LOC\n\t\nx\tO\n");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_THAT(t.sentences[0].tokens, ElementsAre("#nlp", "New York"));
  EXPECT_EQ(t.sentences[0].line, 2u);
  EXPECT_THAT(t.label_list, ElementsAre("O", "B-LOC"));
}

TEST(NerConll, TagColumnAndConllevalLayout) {
  TempDir tmp;
  NerReadOptions o;
  o.tag_column = 2;  // conlleval: token gold predicted; the gold tag is column 2 of 4
  const auto d = read(tmp / "p.txt", "Peter NNP B-PER B-PER\nlives VBZ O B-LOC\n", o);
  EXPECT_THAT(d.sentences[0].tags, ElementsAre("B-PER", "O"));
  o.tag_column = 4;
  EXPECT_THAT(usage_error([&] { read_ner(tmp / "p.txt", o); }), HasSubstr("beyond the 4 columns"));
  o.format = "conl";
  EXPECT_THAT(usage_error([&] { read_ner(tmp / "p.txt", o); }), HasSubstr("unknown format \"conl\""));
}

TEST(NerConll, PredictionFilesNeedNoTags) {
  TempDir tmp;
  NerReadOptions o;
  o.data.require_labels = false;
  const auto d = read(tmp / "words.txt", "Peter\nBlackburn\n\nBonn\n", o);  // one token a line
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FALSE(d.labelled);
  EXPECT_TRUE(d.sentences[0].tags.empty());
  EXPECT_THAT(d.sentences[1].tokens, ElementsAre("Bonn"));
  const auto e = read(tmp / "with-tags.txt", "Peter\tB-PER\n", o);  // tags read and ignored
  EXPECT_TRUE(e.sentences[0].tags.empty());
  // the same one-column file for training is refused, naming the line
  EXPECT_THAT(data_error([&] { read_ner(tmp / "words.txt"); }),
              HasSubstr(tmp / "words.txt" + ": line 1: one column and no tag"));
}

TEST(NerConll, WriteConllReadsBack) {
  TempDir tmp;
  std::vector<TaggedSentence> s(2);
  s[0].tokens = {"#nlp", "New York", "rocks"};
  s[0].tags = {"O", "B-LOC", "O"};
  s[1].tokens = {"中", "国"};
  s[1].tags = {"B-LOC", "I-LOC"};
  write_conll(tmp / "w.conll", s);
  EXPECT_EQ(testing::read_text(tmp / "w.conll"), "#nlp\tO\nNew York\tB-LOC\nrocks\tO\n\n中\tB-LOC\n国\tI-LOC\n");
  const auto d = read_ner(tmp / "w.conll");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.sentences[0].tokens, s[0].tokens);
  EXPECT_EQ(d.sentences[1].tags, s[1].tags);
  s[1].tokens[0] = "a\tb";
  EXPECT_THAT(data_error([&] { write_conll(tmp / "x.conll", s); }), HasSubstr("sentence 2, token 1"));
}

// The scheme of a file is detected, kept, and --tag-scheme overrides it.
TEST(NerConll, DetectsTheSchemeOfAFile) {
  TempDir tmp;
  struct Case {
    std::string tags;
    TagScheme scheme;
  };
  const std::vector<Case> cases = {
      {"I-PER I-PER B-PER O I-LOC", TagScheme::kIOB1},  // B- only between two PER entities
      {"B-PER I-PER O B-LOC O", TagScheme::kIOB2},
      {"I-PER E-PER I-PER O I-LOC", TagScheme::kIOE1},  // E- only before another PER; LOC ends with I-
      {"I-PER E-PER O E-LOC O", TagScheme::kIOE2},
      {"B-PER E-PER O S-LOC O", TagScheme::kIOBES},
      {"B-PER L-PER O U-LOC O", TagScheme::kBILOU},
  };
  for (const auto& c : cases) {
    std::string text;
    std::vector<std::string> tags;
    std::istringstream in(c.tags);
    for (std::string t; in >> t;) {
      tags.push_back(t);
      text += "w" + std::to_string(tags.size()) + " " + t + "\n";
    }
    const auto d = read(tmp / "s.conll", text);
    EXPECT_EQ(d.scheme, c.scheme) << c.tags;
    EXPECT_TRUE(d.scheme_detected);
    EXPECT_EQ(d.sentences[0].tags, tags);
  }
  NerReadOptions o;
  o.tag_scheme = TagScheme::kIOB1;
  const auto d = read(tmp / "given.conll", "a B-PER\nb I-PER\n", o);
  EXPECT_EQ(d.scheme, TagScheme::kIOB1);
  EXPECT_FALSE(d.scheme_detected);
  // prefixes of two schemes (S- and L-): checked against the one most tags fit, the others named
  EXPECT_THAT(data_error([&] { read(tmp / "mixed.conll", "a B-PER\nb L-PER\nc U-LOC\nd S-LOC\n"); }),
              HasSubstr(": line 4: tag \"S-LOC\" is not a tag of BILOU"));
}

// ---------------------------------------------------------------------------------------------
// JSON / JSONL / MSRA / xlsx

TEST(NerRecords, JsonlWithStringAndIntegerTags) {
  TempDir tmp;
  const auto d = read(tmp / "a.jsonl", R"({"id": "0", "tokens": ["EU", "rejects"], "ner_tags": ["B-ORG", "O"]})"
                                       "\n"
                                       R"({"id": "1", "tokens": ["Peter"], "ner_tags": ["B-PER"]})"
                                       "\n");
  EXPECT_EQ(d.format, "jsonl");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_THAT(d.sentences[0].tokens, ElementsAre("EU", "rejects"));
  EXPECT_EQ(d.sentences[1].line, 2u);
  EXPECT_THAT(d.label_list, ElementsAre("O", "B-ORG", "B-PER"));

  // integer ner_tags (datasets' ClassLabel) are ids into --label-names; the label list is that file's
  write_text(tmp / "names.txt", "O\nB-PER\nI-PER\nB-LOC\nI-LOC\n");
  NerReadOptions o;
  o.data.label_names_file = tmp / "names.txt";
  const auto n =
      read(tmp / "b.json", R"([{"tokens": ["Peter", "Blackburn", "in", "Bonn"], "ner_tags": [1, 2, 0, 3]}])", o);
  EXPECT_EQ(n.format, "json");
  EXPECT_THAT(n.sentences[0].tags, ElementsAre("B-PER", "I-PER", "O", "B-LOC"));
  EXPECT_THAT(n.label_list, ElementsAre("O", "B-PER", "I-PER", "B-LOC", "I-LOC"));
  // integer tags without --label-names
  const std::string m = data_error([&] { read(tmp / "c.json", R"([{"tokens": ["a"], "ner_tags": [1]}])"); });
  EXPECT_THAT(m, HasSubstr(tmp / "c.json" + ": 1 invalid sentence of 1: record 1, column \"ner_tags\""));
  EXPECT_THAT(m, HasSubstr("--label-names"));
}

TEST(NerRecords, MsraTsvAndXlsx) {
  TempDir tmp;
  const std::string msra =
      "text_a\tlabel\n"
      "相 比 之 下 ， 青 岛 海 牛 队\tO O O O O B-ORG I-ORG I-ORG I-ORG I-ORG\n"
      "\" 厦 门 \"\tO B-LOC I-LOC O\n";  // an ASCII quote is a character, not CSV quoting
  const auto d = read(tmp / "m.tsv", msra);
  EXPECT_EQ(d.format, "msra");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.sentences[0].tokens.size(), 10u);
  EXPECT_EQ(d.sentences[0].line, 2u);
  EXPECT_THAT(d.sentences[1].tokens, ElementsAre("\"", "厦", "门", "\""));
  EXPECT_THAT(d.label_list, ElementsAre("O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"));

  // the same two columns in a sheet
  Table t;
  t.columns = {"text_a", "label"};
  for (const auto& s : d.sentences) {
    std::string a, b;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      a += (i ? " " : "") + s.tokens[i];
      b += (i ? " " : "") + s.tags[i];
    }
    t.rows.push_back({a, b});
    t.row_numbers.push_back(t.rows.size() + 1);
  }
  write_table(tmp / "m.xlsx", t);
  const auto x = read_ner(tmp / "m.xlsx");
  EXPECT_EQ(x.format, "xlsx");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x.sentences[1].tokens, d.sentences[1].tokens);
  EXPECT_EQ(x.sentences[1].tags, d.sentences[1].tags);
  EXPECT_EQ(x.sentences[1].line, 3u);  // Excel's row number
}

// ---------------------------------------------------------------------------------------------
// bad input: each names the file and the line; DataError (exit code 1)

TEST(NerBadInput, WrongNumberOfColumns) {
  TempDir tmp;
  const std::string p = tmp / "a.conll";
  const std::string m = data_error([&] { read(p, "EU\tB-ORG\nrejects\tO\textra\nGerman\tB-MISC\n"); });
  EXPECT_THAT(m, HasSubstr(p + ": 1 invalid sentence of 1: line 2: 3 columns, expected 2 as on line 1"));
  EXPECT_THAT(m, HasSubstr("--skip-invalid"));
}

TEST(NerBadInput, TokenAndTagCountsDiffer) {
  TempDir tmp;
  EXPECT_THAT(data_error([&] { read(tmp / "a.tsv", "text_a\tlabel\n中 国\tB-LOC I-LOC\n中 国 人\tB-LOC I-LOC\n"); }),
              HasSubstr(tmp / "a.tsv" + ": 1 invalid sentence of 2: line 3: 3 tokens in \"text_a\" but 2 tags in "
                                        "\"label\""));
  EXPECT_THAT(data_error([&] {
                read(tmp / "b.jsonl",
                     "{\"tokens\": [\"a\"], \"ner_tags\": [\"O\"]}\n"
                     "{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [\"O\"]}\n");
              }),
              HasSubstr(tmp / "b.jsonl" + ": 1 invalid sentence of 2: line 2: 2 tokens in \"tokens\" but 1 tag in "
                                          "\"ner_tags\""));
}

TEST(NerBadInput, EmptyToken) {
  TempDir tmp;
  // MSRA: two spaces in a row
  EXPECT_THAT(data_error([&] { read(tmp / "a.tsv", "text_a\tlabel\n中  国\tB-LOC O I-LOC\n"); }),
              HasSubstr(tmp / "a.tsv" + ": 1 invalid sentence of 1: line 2, column \"text_a\", token 2: empty token"));
  // JSON ""
  EXPECT_THAT(
      data_error([&] { read(tmp / "b.json", R"([{"tokens": ["a", ""], "ner_tags": ["O", "O"]}])"); }),
      HasSubstr(tmp / "b.json" + ": 1 invalid sentence of 1: record 1, column \"tokens\", token 2: empty token"));
  // CoNLL: a tab-separated line whose token is only spaces
  EXPECT_THAT(data_error([&] { read(tmp / "c.conll", "a\tO\n  \tO\n"); }),
              HasSubstr(tmp / "c.conll" + ": 1 invalid sentence of 1: line 2: empty token"));
}

TEST(NerBadInput, TagOutsideTheScheme) {
  TempDir tmp;
  // detected IOB2; "PER" (no prefix) and "B-" (no type) fit no scheme
  const std::string m = data_error([&] { read(tmp / "a.conll", "a\tB-PER\nb\tPER\n\nc\tB-\n"); });
  EXPECT_THAT(m, HasSubstr(tmp / "a.conll" + ": 2 invalid sentences of 2: line 2: tag \"PER\" is not a tag of IOB2, "
                                             "the scheme detected"));
  EXPECT_THAT(m, HasSubstr("line 4: tag \"B-\" is not a tag of IOB2"));
  // the scheme given: E- is not an IOB2 prefix
  NerReadOptions o;
  o.tag_scheme = TagScheme::kIOB2;
  EXPECT_THAT(data_error([&] { read(tmp / "b.conll", "a\tB-PER\nb\tE-PER\n", o); }),
              HasSubstr(tmp / "b.conll" + ": 1 invalid sentence of 1: line 2: tag \"E-PER\" is not a tag of IOB2 "
                                          "(expected O or B-, I- followed by a type)"));
  // without --tag-scheme the same file is IOBES, and valid
  EXPECT_EQ(read_ner(tmp / "b.conll").scheme, TagScheme::kIOBES);
}

TEST(NerBadInput, EvaluationTagNeverSeenInTraining) {
  TempDir tmp;
  const std::vector<std::string> train = {"O", "B-PER", "I-PER"};
  const std::string m = data_error([&] { read(tmp / "dev.conll", "a\tO\n\nb\tB-PER\nc\tB-LOC\n", {}, &train); });
  EXPECT_THAT(m, HasSubstr(tmp / "dev.conll" + ": 1 invalid sentence of 2: line 4: tag \"B-LOC\" was never seen in "
                                               "training"));
  EXPECT_THAT(m, HasSubstr("the model knows \"O\", \"B-PER\", \"I-PER\""));
  // the training labels are the dataset's label list
  const auto ok = read(tmp / "dev2.conll", "b\tI-PER\n", {}, &train);
  EXPECT_EQ(ok.label_list, train);
}

TEST(NerBadInput, InvalidUtf8) {
  TempDir tmp;
  EXPECT_THAT(data_error([&] { read(tmp / "a.conll", "a\tO\nb\xff\tO\n"); }),
              HasSubstr(tmp / "a.conll" + ": 1 invalid sentence of 1: line 2: token \"b\xEF\xBF\xBD\" is not valid "
                                          "UTF-8"));
  EXPECT_THAT(data_error([&] { read(tmp / "b.conll", "a\tO\nb\tB-\xc3\n"); }),
              HasSubstr(": line 2: tag \"B-\xEF\xBF\xBD\" is not valid UTF-8"));
  // --encoding reads the file in another encoding (latin-1 "é")
  NerReadOptions o;
  o.data.read.encoding = "latin-1";
  const auto d = read(tmp / "c.conll", "caf\xe9\tO\n", o);
  EXPECT_EQ(d.sentences[0].tokens[0], "café");
}

TEST(NerBadInput, IntegerTagOutOfRange) {
  TempDir tmp;
  write_text(tmp / "names.txt", "O\nB-PER\nI-PER\n");
  NerReadOptions o;
  o.data.label_names_file = tmp / "names.txt";
  EXPECT_THAT(data_error([&] { read(tmp / "a.jsonl", R"({"tokens": ["a", "b"], "ner_tags": [0, 3]})", o); }),
              HasSubstr(tmp / "a.jsonl" + ": 1 invalid sentence of 1: line 1, column \"ner_tags\": tag 2 is 3, not an "
                                          "id of the 3 label names"));
  EXPECT_THAT(
      data_error([&] { read(tmp / "b.conll", "a\t0\nb\t7\n", o); }),
      HasSubstr(tmp / "b.conll" + ": 1 invalid sentence of 1: line 2: tag 7 is not an id of the 3 label names"));
}

// Without --label-names, integer tags of an evaluation file are ids into the model's labels (none
// of which is an integer), as load_dataset does for classification.
TEST(NerRecords, IntegerTagsAreIdsOfTheModelsLabels) {
  TempDir tmp;
  const std::vector<std::string> model = {"O", "B-PER", "I-PER"};
  const auto d =
      read(tmp / "dev.jsonl", R"({"tokens": ["Peter", "Blackburn", "!"], "ner_tags": [1, 2, 0]})", {}, &model);
  EXPECT_THAT(d.sentences[0].tags, ElementsAre("B-PER", "I-PER", "O"));
  EXPECT_THAT(data_error([&] { read(tmp / "bad.jsonl", R"({"tokens": ["a"], "ner_tags": [3]})", {}, &model); }),
              HasSubstr(tmp / "bad.jsonl" + ": 1 invalid sentence of 1: line 1, column \"ner_tags\": tag 1 is 3, not "
                                            "an id of the model's 3 labels (0..2)"));
}

TEST(NerBadInput, EmptyFiles) {
  TempDir tmp;
  EXPECT_THAT(data_error([&] { read(tmp / "a.conll", ""); }), HasSubstr(tmp / "a.conll" + ": no sentences"));
  EXPECT_THAT(data_error([&] { read(tmp / "b.conll", "-DOCSTART- O\n\n# only a comment\n\n"); }),
              HasSubstr(tmp / "b.conll" + ": no sentences"));
  EXPECT_THAT(data_error([&] { read(tmp / "c.jsonl", "\n"); }), HasSubstr(tmp / "c.jsonl" + ": no sentences"));
  EXPECT_THAT(data_error([&] { read(tmp / "d.tsv", "text_a\tlabel\n"); }), HasSubstr(tmp / "d.tsv" + ": no sentences"));
  EXPECT_THAT(data_error([&] { read_ner(tmp / "missing.conll"); }), HasSubstr("missing.conll"));
}

TEST(NerBadInput, SkipInvalidDropsAndCounts) {
  TempDir tmp;
  NerReadOptions o;
  o.data.skip_invalid = true;
  const auto d = read(tmp / "a.conll", "a\tO\n\nb\tO\tx\n\n\tO\n\nc\tB-PER\n", o);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_THAT(d.sentences[1].tokens, ElementsAre("c"));
  EXPECT_EQ(d.report.num_rows, 4u);
  EXPECT_EQ(d.report.num_invalid_rows, 2u);
  EXPECT_EQ(d.report.num_examples, 2u);
  EXPECT_EQ(d.report.num_problems, 2u);
  ASSERT_EQ(d.report.problems.size(), 2u);
  EXPECT_THAT(d.report.problems[0].to_string(), HasSubstr(tmp / "a.conll" + ": line 3: 3 columns"));
  EXPECT_THAT(d.report.problems[1].to_string(), HasSubstr(tmp / "a.conll" + ": line 5: empty token"));
  EXPECT_THAT(d.label_list, ElementsAre("O", "B-PER"));  // from the sentences kept
  // every sentence invalid
  EXPECT_THAT(data_error([&] { read(tmp / "b.conll", "\tO\n", o); }), HasSubstr("no sentences left"));
}

TEST(NerBadInput, ProblemsAreCountedButListedUpToMax) {
  TempDir tmp;
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "a\tO\tz\n";
  const std::string m = data_error([&] { read(tmp / "a.conll", "x\tO\n" + text); });
  EXPECT_THAT(m, HasSubstr("line 2: 3 columns"));
  EXPECT_THAT(m, HasSubstr("and 990 more problems"));
}

TEST(NerBadInput, BinaryFilesAndHugeLinesAreBounded) {
  TempDir tmp;
  // a binary file: NUL bytes
  std::string bin(4096, '\0');
  for (size_t i = 0; i < bin.size(); i += 7) bin[i] = static_cast<char>(i * 31);
  EXPECT_THAT(data_error([&] { read(tmp / "a.conll", bin); }), HasSubstr(tmp / "a.conll"));
  // random high bytes without NULs: invalid UTF-8 problems, listed up to max_problems
  std::string noise;
  for (size_t i = 0; i < 20000; ++i) noise += static_cast<char>(0x80 + (i * 37) % 127);
  EXPECT_THAT(data_error([&] { read(tmp / "b.conll", noise); }), HasSubstr(tmp / "b.conll" + ": line 1: "));
  // a 64 MiB line with no line break: one problem, not a 64 MiB token (and fast)
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m = data_error([&] { read(tmp / "c.conll", "a\tO\n" + std::string(64u << 20, 'x')); });
  EXPECT_THAT(m, HasSubstr(tmp / "c.conll" + ": 1 invalid sentence of 1: line 2: 67108864 bytes in one line"));
  EXPECT_LT(m.size(), 1000u);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

// ---------------------------------------------------------------------------------------------
// --format conll / msra: layouts of token classification, refused by text classification

TEST(NerFormatOption, ClassificationRefusesTheNerLayouts) {
  TempDir tmp;
  write_text(tmp / "a.tsv", "text\tlabel\nhello\tpos\n");
  DataOptions o;
  o.layout = "conll";
  EXPECT_THAT(usage_error([&] { load_dataset(tmp / "a.tsv", o); }),
              HasSubstr("--format conll is for --task token-classification"));
  // the command line keeps conll and msra in DataOptions::layout (exit 2, a usage error, for text classification)
  for (const std::string f : {"conll", "msra"}) {
    const auto r = testing::run_cli("data -i '" + tmp / "a.tsv" + "' --format " + f);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--format " + f + " is for --task token-classification"));
  }
  EXPECT_EQ(testing::run_cli("data -i '" + tmp / "a.tsv" + "' --format tsv").exit_code, 0);
}

// Run by hand on a big file (not in the suite): TEXTUNE_NER_HUGE_FILE=/tmp/huge.conll, e.g. a 1 GiB line
//   head -c 1073741824 /dev/zero | tr '\\0' x > /tmp/huge.conll
// is one problem, with memory about the file's size (/usr/bin/time -v for the peak).
TEST(NerBadInput, HugeFileFromTheEnvironment) {
  const char* path = std::getenv("TEXTUNE_NER_HUGE_FILE");
  if (!path) GTEST_SKIP() << "set TEXTUNE_NER_HUGE_FILE to a big file";
  const auto t0 = std::chrono::steady_clock::now();
  std::string m;
  try {
    read_ner(path);
  } catch (const Error& e) {
    m = e.what();
  }
  std::cout << "[ timing   ] " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s: " << m << "\n";
  EXPECT_THAT(m, HasSubstr(path));
  EXPECT_LT(m.size(), 2000u);
}

// ---------------------------------------------------------------------------------------------
// real data

std::string ner_data(const std::string& rel) {
  return testing::data_dir() + "/ner/" + rel;
}

// Expected numbers from a trivial parse, independent of this reader:
//   awk -F'\t' '/^[ \t]*$/ {if(n>0)s++; n=0; next} {n++; tok++; if ($NF ~ /^B-/) e[substr($NF,3)]++}
//               END {if(n>0)s++; print s, tok; for (k in e) print k, e[k]}' FILE
// (blank and tab-only lines separate sentences in wnut17train.conll); they agree with the
// `wnut_17` dataset card (3,394 train and 1,009 validation sentences) and with the WNUT 2017 paper's
// 1,975 training entities.
TEST(NerRealData, Wnut17) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto train = read_ner(ner_data("wnut17/wnut17train.conll"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ timing   ] read wnut17train.conll in " << seconds * 1000 << " ms\n";
  EXPECT_EQ(train.format, "conll");
  EXPECT_EQ(train.size(), 3394u);
  EXPECT_EQ(tokens(train), 62730u);
  EXPECT_EQ(train.scheme, TagScheme::kIOB2);
  EXPECT_TRUE(train.scheme_detected);
  EXPECT_TRUE(train.report.ok());
  EXPECT_EQ(entities(train), (std::map<std::string, size_t>{{"corporation", 221},
                                                            {"creative-work", 140},
                                                            {"group", 264},
                                                            {"location", 548},
                                                            {"person", 660},
                                                            {"product", 142}}));
  EXPECT_THAT(train.label_list,
              ElementsAre("O", "B-location", "I-location", "B-group", "B-corporation", "B-person", "B-creative-work",
                          "B-product", "I-person", "I-creative-work", "I-corporation", "I-group", "I-product"));
  // hashtags are tokens: 828 lines start with '#' (grep -c '^#')
  size_t hashtags = 0;
  for (const auto& s : train.sentences)
    for (const auto& w : s.tokens) hashtags += w[0] == '#';
  EXPECT_EQ(hashtags, 828u);
  EXPECT_EQ(train.sentences[0].tokens.size(), 27u);
  EXPECT_EQ(train.sentences[0].tokens[0], "@paulwalk");
  EXPECT_EQ(train.sentences[1].line, 29u);

  const auto dev = read_ner(ner_data("wnut17/emerging.dev.conll"), {}, &train.label_list);
  EXPECT_EQ(dev.size(), 1009u);
  EXPECT_EQ(tokens(dev), 15733u);
  EXPECT_EQ(dev.scheme, TagScheme::kIOB2);
  EXPECT_EQ(entities(dev), (std::map<std::string, size_t>{{"corporation", 34},
                                                          {"creative-work", 105},
                                                          {"group", 39},
                                                          {"location", 74},
                                                          {"person", 470},
                                                          {"product", 114}}));
  EXPECT_EQ(dev.label_list, train.label_list);

  // a JSONL copy (as `datasets` writes it) and a JSON array copy read to the same sentences
  TempDir tmp;
  Table t;
  t.columns = {"id", "tokens", "ner_tags"};
  for (size_t i = 0; i < dev.size(); ++i) {
    t.rows.push_back({std::to_string(i), dev.sentences[i].tokens, dev.sentences[i].tags});
    t.row_numbers.push_back(i + 1);
  }
  write_table(tmp / "dev.jsonl", t);
  write_table(tmp / "dev.json", t, {Format::kJson});
  for (const std::string f : {"dev.jsonl", "dev.json"}) {
    const auto j = read_ner(tmp / f);
    ASSERT_EQ(j.size(), dev.size()) << f;
    for (size_t i = 0; i < dev.size(); ++i) {
      ASSERT_EQ(j.sentences[i].tokens, dev.sentences[i].tokens) << f << " " << i;
      ASSERT_EQ(j.sentences[i].tags, dev.sentences[i].tags) << f << " " << i;
    }
  }
}

// awk -F'\t' 'NR>1 {s++; n=split($1,a," "); tok+=n; m=split($2,b," ");
//             for (i=1;i<=m;i++) if (b[i] ~ /^B-/) e[substr(b[i],3)]++}
//             END {print s, tok; for (k in e) print k, e[k]}' FILE
TEST(NerRealData, Msra) {
  const auto train = read_ner(ner_data("msra/train_sample_uer_testdata.tsv"));
  EXPECT_EQ(train.format, "msra");
  EXPECT_EQ(train.size(), 1000u);
  EXPECT_EQ(tokens(train), 47280u);
  EXPECT_EQ(train.scheme, TagScheme::kIOB2);
  EXPECT_EQ(entities(train), (std::map<std::string, size_t>{{"LOC", 782}, {"ORG", 481}, {"PER", 407}}));
  EXPECT_THAT(train.label_list, ElementsAre("O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-ORG", "I-ORG"));
  EXPECT_EQ(train.sentences[0].line, 2u);

  const auto dev = read_ner(ner_data("msra/dev.tsv"));
  EXPECT_EQ(dev.size(), 2318u);
  EXPECT_EQ(tokens(dev), 109870u);
  EXPECT_EQ(entities(dev), (std::map<std::string, size_t>{{"LOC", 1951}, {"ORG", 984}, {"PER", 884}}));
  EXPECT_THAT(dev.label_list, ElementsAre("O", "B-ORG", "I-ORG", "B-PER", "I-PER", "B-LOC", "I-LOC"));

  // an xlsx copy of the train sample reads to the same sentences
  TempDir tmp;
  ReadOptions ro;
  ro.format = Format::kTsv;
  ro.quoting = Quoting::kNone;
  const Table t = read_table(ner_data("msra/train_sample_uer_testdata.tsv"), ro);
  write_table(tmp / "train.xlsx", t);
  const auto x = read_ner(tmp / "train.xlsx");
  ASSERT_EQ(x.size(), train.size());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(x.sentences[i].tokens, train.sentences[i].tokens) << i;
    ASSERT_EQ(x.sentences[i].tags, train.sentences[i].tags) << i;
  }
}

}  // namespace
}  // namespace textune::data
