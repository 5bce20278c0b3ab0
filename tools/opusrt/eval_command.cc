#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "model/model_files.h"
#include "opusrt/error.h"
#include "opusrt/quality.h"
#include "opusrt/translator.h"

namespace opusrt::cli {

void add_eval_options(CLI::App& app, EvalArgs& args) {
  app.add_option("--model", args.model, "Model directory (Optimum or Xenova layout)")->required();
  app.add_option("--source", args.source, "Source text, one sentence per line")->required()->check(CLI::ExistingFile);
  app.add_option("--reference", args.reference, "Reference translations, one per source line")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--target-lang", args.target_lang, "Target language of a multi-target model: its code (cmn_Hans) or LibreTranslate's (zh, zt)");
  app.add_option("--beams", args.beams, "Beam size; 1 is greedy (default: the model's generation_config num_beams)")
      ->check(kPositive);
  app.add_option("--max-new-tokens", args.max_new_tokens, "Cap on generated tokens (default: generation_config)")
      ->check(kPositive);
  app.add_option("--variant", args.variants,
                 "Graph variant(s): fp32 (default), quantized, fp16, ...; several (fp32,quantized) are each "
                 "scored and compared with the first")
      ->delimiter(',');
  app.add_option("--batch-size", args.batch_size, "Lines translated together")->check(kPositive);
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: one per physical core)")
      ->check(kNonNegative);
  app.add_option("--json", args.json, "Also write the scores (and settings) as JSON to this file");
  app.add_option("--output", args.output, "Write the translations here (of the first variant), one per line");
}

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

int run_eval(const EvalArgs& args) {
  const std::vector<std::string> sources = read_lines(args.source);
  const std::vector<std::string> references = read_lines(args.reference);
  if (sources.size() != references.size())
    throw Error(args.reference + ": " + std::to_string(references.size()) + " lines, but " + args.source + " has " +
                std::to_string(sources.size()));
  TranslateOptions options;
  options.num_beams = args.beams;
  options.max_new_tokens = args.max_new_tokens;
  const std::vector<std::string> variants = args.variants.empty() ? std::vector<std::string>{"fp32"} : args.variants;
  // What would fail after the first variants were translated and scored fails now instead:
  // a variant the directory has no graphs of, an output file that cannot be written.
  for (const std::string& variant : variants) ModelFiles::find(args.model, variant == "fp32" ? "" : variant);
  for (const std::string& path : {args.output, args.json}) {
    if (path.empty()) continue;
    std::ofstream probe(path, std::ios::binary | std::ios::app);
    if (!probe) throw Error(path + ": cannot write");
  }

  nlohmann::json report = {{"model", args.model},
                           {"source", args.source},
                           {"reference", args.reference},
                           {"lines", sources.size()},
                           {"target_lang", args.target_lang},
                           {"metrics", {{"chrf", "sacreBLEU chrF2 (char order 6, word order 0, beta 2)"},
                                        {"bleu", "sacreBLEU BLEU, tokenize zh, exp smoothing"}}},
                           {"variants", nlohmann::json::object()}};
  double first_chrf = 0;
  for (size_t v = 0; v < variants.size(); ++v) {
    TranslatorConfig config;
    config.variant = variants[v] == "fp32" ? "" : variants[v];
    config.intra_op_threads = args.threads;
    const Translator translator(args.model, config);
    print_model_warnings(translator.model_info());
    options.target_lang =
        resolve_target_lang(server::LanguageMap::for_model(translator.model_info()), args.target_lang);
    const Evaluation e = evaluate(translator, sources, references, options, static_cast<size_t>(args.batch_size));
    const int beams = args.beams.value_or(translator.model_info().default_num_beams);
    std::printf("%-10s chrF2 %6.2f  BLEU %6.2f (%.1f/%.1f/%.1f/%.1f BP %.3f)  %zu lines, beams %d, %.1f tok/s\n",
                variants[v].c_str(), e.chrf, e.bleu.score, e.bleu.precisions[0], e.bleu.precisions[1],
                e.bleu.precisions[2], e.bleu.precisions[3], e.bleu.brevity_penalty, sources.size(), beams,
                e.tokens_per_second);
    nlohmann::json entry = {{"chrf", e.chrf},
                            {"bleu", e.bleu.score},
                            {"bleu_precisions", e.bleu.precisions},
                            {"bleu_brevity_penalty", e.bleu.brevity_penalty},
                            {"beams", beams},
                            {"output_tokens", e.output_tokens},
                            {"seconds", e.seconds},
                            {"tokens_per_second", e.tokens_per_second}};
    if (v == 0) {
      first_chrf = e.chrf;
      if (!args.output.empty()) {
        std::ofstream out(args.output, std::ios::binary | std::ios::trunc);
        for (const std::string& hypothesis : e.hypotheses) out << hypothesis << '\n';
        if (!out) throw Error(args.output + ": cannot write the translations");
      }
    } else {
      entry["chrf_minus_" + variants[0]] = e.chrf - first_chrf;
      std::printf("%-10s chrF2 difference to %s: %+.2f\n", variants[v].c_str(), variants[0].c_str(),
                  e.chrf - first_chrf);
    }
    report["variants"][variants[v]] = entry;
  }
  if (!args.json.empty()) {
    std::ofstream out(args.json, std::ios::binary | std::ios::trunc);
    if (!(out << report.dump(2) << "\n")) throw Error(args.json + ": cannot write the JSON report");
  }
  return 0;
}

}  // namespace opusrt::cli
