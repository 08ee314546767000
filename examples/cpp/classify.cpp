// Classify texts with a fine-tuned model through the C++ API (the README's example).
// usage: example_classify MODEL_DIR TEXT...   prints "label<TAB>score<TAB>text" per text.
#include <iomanip>
#include <iostream>

#include <textune/core/error.h>
#include <textune/pipeline.h>

int main(int argc, char** argv) {
  if (argc < 3) return std::cerr << "usage: " << argv[0] << " MODEL_DIR TEXT...\n", 2;
  try {
    std::shared_ptr<textune::Pipeline> classifier = textune::Pipeline::load(argv[1]);
    std::vector<std::string> texts(argv + 2, argv + argc);
    std::vector<textune::Prediction> predictions = classifier->predict(texts);
    for (size_t i = 0; i < texts.size(); ++i)
      std::cout << predictions[i].label << '\t' << std::setprecision(9) << predictions[i].score << '\t' << texts[i]
                << '\n';
  } catch (const textune::Error& e) {  // a missing model, a bad device...: one line, exit 1 or 2
    std::cerr << e.what() << '\n';
    return e.exit_code();
  }
}
