// /predict bodies of the wrong shape for a task whose inputs are objects (token classification:
// a text, {"tokens": [...]} or a list of them): the 422 message names those shapes, not TEI's text
// pairs, which such a task does not take (found in a new user's trial: {"inputs": 5} was answered
// "expected a string, a pair of strings [string, string] or a batch of mixed strings and pairs").
#include <gtest/gtest.h>

#include "serve/api.h"

using namespace textune::serve;

namespace {

std::string predict_error(const std::string& body, bool list_is_batch) {
  try {
    parse_predict_request(parse_request_json(body), 4, list_is_batch);
    return "no error";
  } catch (const HttpError& e) {
    return std::to_string(e.status()) + " " + e.what();
  }
}

}  // namespace

TEST(ServeNerApiMessages, WrongShapesNameTheTasksInputs) {
  const std::string prefix = "422 Failed to deserialize the JSON body into the target type: inputs: ";
  EXPECT_EQ(
      predict_error(R"({"inputs": 5})", true),
      prefix + "invalid type: a number, expected a string, an object of the task's input fields or a list of them");
  EXPECT_EQ(predict_error(R"({"inputs": []})", true),
            prefix +
                "invalid length 0, expected a string, an object of the task's input fields or a non-empty list "
                "of them");
  // a classifier's message is TEI's, as before
  EXPECT_NE(predict_error(R"({"inputs": 5})", false).find("a pair of strings [string, string]"), std::string::npos);
  EXPECT_NE(predict_error(R"({"inputs": []})", false).find("invalid length 0, expected a string, a pair"),
            std::string::npos);
}
