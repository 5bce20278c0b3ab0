// opusrt's C++ API from a project that found the installed library with find_package(opusrt).
//
//   opusrt_consumer MODEL_DIR [TEXT...]     translates the TEXT arguments, or else stdin's lines,
//                                           as one batch; prints one line per text
#include <iostream>
#include <string>
#include <vector>

#include <opusrt/opusrt.h>      // the C API lives in the same library: opusrt_version()
#include <opusrt/translator.h>  // the C++ API

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL_DIR [TEXT...]   (opusrt " << opusrt_version() << ")\n";
    return 2;
  }
  std::vector<std::string> texts(argv + 2, argv + argc);
  if (texts.empty())
    for (std::string line; std::getline(std::cin, line);) texts.push_back(line);
  try {
    opusrt::TranslatorConfig config;
    config.decoder = opusrt::parse_decoder_mode("auto");
    const opusrt::Translator translator(argv[1], config);
    std::cerr << "decoder: " << opusrt::to_string(translator.model_info().decoder_mode) << "\n";
    opusrt::TranslateOptions options;
    options.num_beams = 1;
    options.max_new_tokens = 16;
    for (const opusrt::Translation& translation : translator.translate_batch(texts, options))
      std::cout << translation.text << "\n";
  } catch (const opusrt::Error& e) {  // thrown inside libopusrt.so, caught here
    std::cerr << "opusrt_consumer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
