// Find named entities in texts with a fine-tuned token classifier through the C++ API (the README's
// example). usage: example_ner MODEL_DIR TEXT...
// prints "text_index<TAB>entity_group<TAB>score<TAB>start<TAB>end<TAB>word" per entity; start and end
// are code-point offsets into the text (end exclusive), as transformers' pipeline gives them.
#include <iomanip>
#include <iostream>

#include <textune/core/error.h>
#include <textune/pipeline.h>

int main(int argc, char** argv) {
  if (argc < 3) return std::cerr << "usage: " << argv[0] << " MODEL_DIR TEXT...\n", 2;
  try {
    std::shared_ptr<textune::Pipeline> ner = textune::Pipeline::load(argv[1]);
    std::vector<std::string> texts(argv + 2, argv + argc);
    std::vector<std::vector<textune::Entity>> entities = ner->entities(texts);
    for (size_t i = 0; i < texts.size(); ++i)
      for (const textune::Entity& e : entities[i])
        std::cout << i << '\t' << e.entity_group << '\t' << std::setprecision(9) << e.score << '\t' << e.start << '\t'
                  << e.end << '\t' << e.word << '\n';
  } catch (const textune::Error& e) {  // a missing model, a model of another task...: one line, exit 1 or 2
    std::cerr << e.what() << '\n';
    return e.exit_code();
  }
}
