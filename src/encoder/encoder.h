#pragma once

// The encoder stage: source ids in, hidden states out, run once per batch of sentences.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "model/model_config.h"
#include "runtime/session.h"

namespace opusrt {

// A right-padded batch of token id rows with its attention mask, row-major [rows, length].
struct TokenBatch {
  std::vector<int64_t> ids;
  std::vector<int64_t> mask;
  int64_t rows = 0;
  int64_t length = 0;

  static TokenBatch right_padded(std::span<const std::vector<int64_t>> sequences, int64_t pad_id);
};

struct EncoderOutput {
  runtime::Tensor hidden_states;   // [B, S, D]
  runtime::Tensor attention_mask;  // [B, S] int64, also the decoder's encoder_attention_mask
  int64_t rows = 0;
  int64_t length = 0;

  // Row i of the result is row rows[i] of this one (beams repeat a sentence's row).
  EncoderOutput select_rows(std::span<const int64_t> rows) const;
};

class Encoder {
 public:
  // Checks the graph's interface against config.json; throws naming the file and tensor.
  Encoder(runtime::Session session, const ModelConfig& config);
  // Loads encoder_model.onnx. Its weights are read once per batch, not once per token, so they
  // are left on ordinary pages (huge pages cost load time and pay off only for the decoder), and
  // its threads sleep after the run rather than spin next to the decoder's (opusrt stream, 2
  // threads: the first decoder steps after an encoder run took 15 ms instead of 6.7).
  static Encoder load(const std::filesystem::path& onnx_file, runtime::SessionConfig session_config,
                      const ModelConfig& config);

  EncoderOutput run(const TokenBatch& source) const;
  const runtime::Session& session() const { return session_; }

 private:
  runtime::Session session_;
  std::vector<std::string> output_names_;
};

}  // namespace opusrt
