// `textune data` on NER files: the preview takes the token-classification options (--tag-scheme,
// --tag-column), and --output converts sentences (data::read_ner, then data::write_conll or the
// records of Hugging Face `datasets`). Expected outputs are written by hand from the inputs (a CoNLL
// file is `token TAB tag` lines with a blank line between sentences; `datasets` records are
// {"tokens": [...], "ner_tags": [...]}).
#include <filesystem>

#include "support/test_support.h"

using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Three columns (token POS tag), CRLF line ends, a -DOCSTART- line and a comment: what read_ner skips.
const char* kThreeColumns =
    "-DOCSTART- -X- O\r\n\r\n# sent_id = 1\r\nEU NNP B-ORG\r\nrejects VBZ O\r\nGerman JJ B-MISC\r\n\r\n"
    "Peter NNP B-PER\r\nBlackburn NNP I-PER\r\n";

}  // namespace

TEST(CliNerData, ConllOutputWithoutTaskReadsTheFileAsNer) {
  TempDir tmp;
  write_text(tmp / "in.conll", kThreeColumns);
  // before: "unknown extension .conll" (exit 2): the table converter does not read CoNLL
  auto r = run_cli("data -i " + tmp / "in.conll" + " -o " + tmp / "out.conll");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(tmp / "out.conll"), "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\n\nPeter\tB-PER\nBlackburn\tI-PER\n");
  EXPECT_TRUE(contains(r.err, "wrote 2 sentences")) << r.err;
  // --tag-column: the tag in column 1, a confidence after it
  write_text(tmp / "c.conll", "EU\tB-ORG\t0.9\nrejects\tO\t0.8\n");
  auto c = run_cli("data -i " + tmp / "c.conll" + " -o " + tmp / "c1.conll --tag-column 1");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_text(tmp / "c1.conll"), "EU\tB-ORG\nrejects\tO\n");
}

TEST(CliNerData, ConvertsToDatasetsJsonlAndReadsItBack) {
  TempDir tmp;
  write_text(tmp / "in.conll", kThreeColumns);
  auto r = run_cli("data --task ner -i " + tmp / "in.conll" + " -o " + tmp / "out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(tmp / "out.jsonl"),
            "{\"tokens\":[\"EU\",\"rejects\",\"German\"],\"ner_tags\":[\"B-ORG\",\"O\",\"B-MISC\"]}\n"
            "{\"tokens\":[\"Peter\",\"Blackburn\"],\"ner_tags\":[\"B-PER\",\"I-PER\"]}\n");
  auto a = run_cli("data --task ner -i " + tmp / "in.conll");
  auto b = run_cli("data --task ner -i " + tmp / "out.jsonl");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  // MSRA TSV (space-separated characters and tags) to CoNLL
  write_text(tmp / "m.tsv", "text_a\tlabel\n我 在 北 京\tO O B-LOC I-LOC\n");
  auto m = run_cli("data --task ner -i " + tmp / "m.tsv" + " -o " + tmp / "m.conll");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(read_text(tmp / "m.conll"), "我\tO\n在\tO\n北\tB-LOC\n京\tI-LOC\n");
}

TEST(CliNerData, TagSchemeOptionIsOffered) {
  TempDir tmp;
  // IOBES tags that also fit BILOU's letters nowhere: S- and E- are IOBES only
  write_text(tmp / "s.conll", "Bob\tS-PER\nlives\tO\n\nNew\tB-LOC\nYork\tE-LOC\n");
  // before: "The following arguments were not expected: --tag-scheme" (exit 2)
  auto r = run_cli("data -i " + tmp / "s.conll" + " --tag-scheme IOBES");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "tag scheme: IOBES (given)")) << r.err;
  EXPECT_TRUE(contains(r.out, "\"tags\":[\"S-PER\",\"O\"]")) << r.out;
  // the wrong scheme: converting refuses, naming the file and line of the first bad tag
  auto w = run_cli("data -i " + tmp / "s.conll" + " --tag-scheme BILOU -o " + tmp / "w.conll");
  EXPECT_EQ(w.exit_code, 1) << w.err;
  EXPECT_TRUE(contains(w.err, "s.conll")) << w.err;
  EXPECT_TRUE(contains(w.err, "line 1: tag \"S-PER\"")) << w.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "w.conll"));
}

TEST(CliNerData, InvalidSentencesStopOrAreSkippedAndBadOutputIsUsage) {
  TempDir tmp;
  write_text(tmp / "x.conll", "John\tX-PER\nlives\tO\n\nAnn\tB-PER\nsmiles\tO\n");
  auto r = run_cli("data -i " + tmp / "x.conll" + " -o " + tmp / "y.conll");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "line 1: tag \"X-PER\"")) << r.err;
  auto s = run_cli("data -i " + tmp / "x.conll" + " -o " + tmp / "y.conll --skip-invalid");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(read_text(tmp / "y.conll"), "Ann\tB-PER\nsmiles\tO\n");
  EXPECT_TRUE(contains(s.err, "1 invalid sentences left out")) << s.err;
  // a missing output directory is not created (before: made silently, exit 0)
  auto m = run_cli("data -i " + tmp / "x.conll" + " -o " + tmp / "no/dir/y.conll --skip-invalid");
  EXPECT_EQ(m.exit_code, 1) << m.err;
  EXPECT_TRUE(contains(m.err, "does not exist")) << m.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "no"));
  auto x = run_cli("data --task ner -i " + tmp / "x.conll" + " -o " + tmp / "y.xlsx --skip-invalid");
  EXPECT_EQ(x.exit_code, 2) << x.err;
  EXPECT_TRUE(contains(x.err, ".conll, .jsonl or .json")) << x.err;
}

TEST(CliNerData, TrainWithoutTaskOnAConllFileSaysTaskNer) {
  TempDir tmp;
  write_text(tmp / "t.conll", "John\tB-PER\nlives\tO\n");
  // before: "unknown extension .conll (expected .csv, ...; or pass --format)", and --format conll
  // then says it is for token classification: the option to give is --task ner
  auto r = run_cli("train --model no-model --train " + tmp / "t.conll" + " --output " + tmp / "out");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, tmp / "t.conll" + ": a .conll file holds tagged words for token classification (NER): "
                                                "train it with --task ner"))
      << r.err;
}

TEST(CliNerData, MsraStyleCsvReadsQuotedCells) {
  TempDir tmp;
  // as pandas' to_csv writes it: the cell holding a comma quoted (RFC 4180), the others bare
  write_text(tmp / "n.csv", "tokens,ner_tags\n\"Paris , France\",B-LOC O B-LOC\n");
  // before: quotes were read as characters (4 columns on line 2, or a token "\"Paris")
  auto r = run_cli("data --task ner -i " + tmp / "n.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"tokens\":[\"Paris\",\",\",\"France\"],\"tags\":[\"B-LOC\",\"O\",\"B-LOC\"]}\n");
}

TEST(CliNerData, AnotherTasksOptionIsSaidToBeIgnored) {
  TempDir tmp;
  write_text(tmp / "t.conll", "John\tB-PER\nlives\tO\n");
  // before: --pos_label (text classification's) was taken and silently did nothing for NER
  auto r = run_cli("train --task ner --pos_label 1 --model no-model --train " + tmp / "empty.conll" + " --output " +
                   tmp / "out");
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the missing training file
  EXPECT_TRUE(contains(r.err,
                       "the command line: --pos_label is not an option of token-classification (it belongs to another "
                       "task): ignored"))
      << r.err;
  auto d = run_cli("data -i " + tmp / "t.conll" + " --threshold 0.3");
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(contains(d.err, "--threshold is not an option of token-classification")) << d.err;
  auto own = run_cli("data -i " + tmp / "t.conll" + " --tag-scheme IOB2");
  EXPECT_FALSE(contains(own.err, "not an option")) << own.err;
}

TEST(CliNerData, TaskHelpListsEveryTasksAliases) {
  // before: only text classification's aliases were listed (hand-written), not "ner"
  for (const std::string cmd : {"train"}) {
    auto r = run_cli(cmd + " --help");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "text-classification: classification, ")) << r.out;
    EXPECT_TRUE(contains(r.out, "token-classification: ner, token_classification")) << r.out;
  }
}

TEST(CliNerData, ScoreOutputDirectoryMustExist) {
  TempDir tmp;
  write_text(tmp / "p.txt", "John B-PER B-PER\nlives O O\n");
  // before: the missing directories were created and the exit code was 0
  auto r = run_cli("score --metric seqeval --predictions " + tmp / "p.txt" + " --output " + tmp / "no/s.json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--output " + tmp / "no/s.json" + ": the directory " + tmp / "no" + " does not exist"))
      << r.err;
  auto p = run_cli("score --metric seqeval --predictions " + tmp / "p.txt" + " --plot " + tmp / "none/ner");
  EXPECT_EQ(p.exit_code, 1) << p.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "no"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "none"));
  auto ok = run_cli("score --metric seqeval --predictions " + tmp / "p.txt" + " --output " + tmp / "s.json");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}
