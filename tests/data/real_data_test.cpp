// The real datasets of ../shared/data load with the row counts its README states.
#include "support/test_support.h"
#include "textune/data/dataset.h"

namespace textune::data {
namespace {

std::string data(const std::string& rel) {
  return testing::data_dir() + "/" + rel;
}

TEST(RealData, Sst2) {
  Dataset dev = load_dataset(data("en/sst2/dev.tsv"));
  EXPECT_EQ(dev.size(), 872u);
  EXPECT_EQ(dev.text_column, "sentence");
  EXPECT_EQ(dev.label_map.labels(), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(dev.examples[0].text, "it 's a charming and often affecting journey . ");
  EXPECT_EQ(dev.examples[0].label, 1);
  Dataset train = load_dataset(data("en/sst2/train.tsv"));
  EXPECT_EQ(train.size(), 67349u);
  EXPECT_EQ(train.report.num_invalid_rows, 0u);
}

TEST(RealData, ColaHasNoHeader) {
  DataOptions o;
  o.read.has_header = false;
  o.text_column = "3";
  o.label_column = "1";
  Dataset dev = load_dataset(data("en/glue/CoLA/dev.tsv"), o);
  EXPECT_EQ(dev.size(), 1043u);
  EXPECT_EQ(dev.examples[0].text, "The sailors rode the breeze clear of the rocks.");
  EXPECT_EQ(load_dataset(data("en/glue/CoLA/train.tsv"), o).size(), 8551u);
}

TEST(RealData, MrpcPairsWithByteOrderMark) {
  DataOptions o;
  o.text_column = "#1 String";
  o.text_pair_column = "#2 String";
  o.label_column = "Quality";  // the first column, right after the BOM
  Dataset dev = load_dataset(data("en/glue/MRPC/dev.tsv"), o);
  EXPECT_EQ(dev.size(), 408u);
  EXPECT_TRUE(dev.has_pairs());
  // a sentence that starts with an unmatched quote stays one field (auto quoting)
  EXPECT_EQ(*dev.examples[0].text_pair, "\" The foodservice pie business does not fit our long-term growth strategy .");
  // ../shared/data/README.md says 3,668, the line count of the file with its header: it holds 3,667
  // pairs (Python's csv.reader with GLUE's quotechar=None reads 3,667 rows too).
  EXPECT_EQ(load_dataset(data("en/glue/MRPC/train.tsv"), o).size(), 3667u);
}

TEST(RealData, RteStringLabels) {
  Dataset dev = load_dataset(data("en/glue/RTE/dev.tsv"));
  EXPECT_EQ(dev.size(), 277u);
  EXPECT_EQ(dev.label_map.labels(), (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(dev.text_pair_column, "sentence2");
  EXPECT_EQ(load_dataset(data("en/glue/RTE/train.tsv")).size(), 2490u);
}

TEST(RealData, StsbRegression) {
  DataOptions o;
  o.task = Task::kRegression;
  Dataset dev = load_dataset(data("en/glue/STS-B/dev.tsv"), o);
  EXPECT_EQ(dev.size(), 1500u);
  EXPECT_EQ(dev.label_column, "score");
  EXPECT_DOUBLE_EQ(dev.examples[0].value, 5.0);
  EXPECT_DOUBLE_EQ(dev.examples[1].value, 4.75);
  EXPECT_EQ(load_dataset(data("en/glue/STS-B/train.tsv"), o).size(), 5749u);
}

TEST(RealData, ChnSentiCorp) {
  Dataset dev = load_dataset(data("zh/chnsenticorp/dev.tsv"));
  EXPECT_EQ(dev.size(), 1200u);
  EXPECT_EQ(dev.text_column, "text_a");
  EXPECT_EQ(load_dataset(data("zh/chnsenticorp/train.tsv")).size(), 9600u);
}

TEST(RealData, ThucnewsIdsNamedByClassTxt) {
  DataOptions o;
  o.read.has_header = false;
  o.text_column = "0";
  o.label_column = "1";
  o.label_names_file = data("zh/thucnews/class.txt");
  Dataset dev = load_dataset(data("zh/thucnews/dev.txt"), o);
  EXPECT_EQ(dev.size(), 10000u);
  ASSERT_EQ(dev.label_map.size(), 10u);
  EXPECT_EQ(dev.label_map.labels().front(), "finance");
  EXPECT_EQ(dev.examples[0].label, 8);                      // the first title's id
  for (size_t c : dev.label_counts()) EXPECT_EQ(c, 1000u);  // a balanced dev set: 1,000 titles a class
}

TEST(RealData, SmsSpam) {
  DataOptions o;
  o.text_column = "SMS";
  o.label_column = "Label";
  Dataset ds = load_dataset(data("en/sms_spam/SMSSpamCollection_with_header.tsv"), o);
  EXPECT_EQ(ds.size(), 5574u);
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"ham", "spam"}));
}

}  // namespace
}  // namespace textune::data
