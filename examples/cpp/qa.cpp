// Answer questions about a passage with a fine-tuned extractive question-answering model through the
// C++ API (the README's example). usage: example_qa MODEL_DIR CONTEXT QUESTION...
// prints "question_index<TAB>rank<TAB>score<TAB>start<TAB>end<TAB>answer" per answer (the model's
// top_k answers, best first); start and end are code-point offsets into the context (end exclusive),
// as transformers' question-answering pipeline gives them.
#include <iomanip>
#include <iostream>

#include <textune/core/error.h>
#include <textune/pipeline.h>

int main(int argc, char** argv) {
  if (argc < 4) return std::cerr << "usage: " << argv[0] << " MODEL_DIR CONTEXT QUESTION...\n", 2;
  try {
    std::shared_ptr<textune::Pipeline> qa = textune::Pipeline::load(argv[1]);
    std::vector<std::pair<std::string, std::string>> questions;
    for (int i = 3; i < argc; ++i) questions.emplace_back(argv[i], argv[2]);  // (question, context)
    std::vector<std::vector<textune::Answer>> answers = qa->answers(questions);
    for (size_t i = 0; i < answers.size(); ++i)
      for (size_t k = 0; k < answers[i].size(); ++k) {
        const textune::Answer& a = answers[i][k];
        std::cout << i << '\t' << k << '\t' << std::setprecision(9) << a.score << '\t' << a.start << '\t' << a.end
                  << '\t' << a.answer << '\n';
      }
  } catch (const textune::Error& e) {  // a missing model, a model of another task, an empty question: one line
    std::cerr << e.what() << '\n';
    return e.exit_code();
  }
}
