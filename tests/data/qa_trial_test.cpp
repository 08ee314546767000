// A new user's trial of question answering (issue 13), the data-side findings fixed: inputs given in
// memory (serve, the C++ Pipeline, predict --question) may repeat an id, as independent clients of a
// server do when their requests are batched together; a file may not.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/data/qa.h"

namespace textune::data {
namespace {

using core::Json;

// Before: "<inputs>: 1 invalid question of 2: question "2" (input 2): duplicate id (first at input 1;
// ids must be unique)", which serve answered with 424 (a backend error) to every request of the batch.
TEST(QaTrialInputs, IdsMayRepeatAcrossInputs) {
  const std::vector<Json> inputs = {
      Json{{"id", "2"}, {"question", "Where?"}, {"context", "In Paris."}},  // a client's own id
      Json{{"question", "When?"}, {"context", "In 1889."}},                 // another's: numbered "2" by position
      Json{{"id", "a"}, {"question", "Who?"}, {"context", "Gustave Eiffel."}},
      Json{{"id", "a"}, {"question", "Who?"}, {"context", "Gustave Eiffel."}},
  };
  const QaDataset ds = qa_from_inputs(inputs);
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds.examples[0].id, "2");
  EXPECT_EQ(ds.examples[1].id, "2");
  EXPECT_EQ(ds.examples[1].question, "When?");
  EXPECT_EQ(ds.examples[3].id, "a");
  EXPECT_EQ(ds.examples[2].where, "input 3");
}

// A file's ids stay unique (run_qa.py's predictions.json is keyed by them).
TEST(QaTrialInputs, AFileStillRefusesADuplicateId) {
  testing::TempDir tmp;
  const std::string path = tmp / "dup.jsonl";
  testing::write_text(path,
                      "{\"id\": \"a\", \"question\": \"Who?\", \"context\": \"Eiffel.\"}\n"
                      "{\"id\": \"a\", \"question\": \"Who?\", \"context\": \"Eiffel.\"}\n");
  QaReadOptions o;
  o.data.require_labels = false;
  try {
    read_qa(path, o);
    ADD_FAILURE() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("question \"a\" (line 2): duplicate id (first at line 1"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace textune::data
