#pragma once

// The JSON-line protocol of live speech, one place for both ends that speak it: `opusrt stream`
// (lines on stdin / stdout) and the WebSocket endpoint /v1/stream (one line per message).
//
//   StreamMessage m = parse_stream_message(R"({"segment": "s1", "text": "Open the", "final": false})");
//   std::string line = json_line(update_json(session.push(m.text, m.final), m.segment));
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "opusrt/incremental.h"

namespace opusrt::server {

// {"segment"?, "text", "final"?, "target"?}: the segment's name (a non-string is kept as its JSON
// text), the partial source, whether it is the segment's final, and the target language.
struct StreamMessage {
  std::string segment;
  std::string text;
  bool final = false;
  std::optional<std::string> target;
};

// Throws opusrt::Error saying what is wrong (the caller adds where: a line number, ...).
StreamMessage parse_stream_message(std::string_view payload);

// {"segment", "seq", "committed", "tentative", "final", "retracted", "ms"}, plus
// "retracted_chars" on a retraction and "split" on a final the session made itself. `segment`:
// the client's name for it; empty: the session's segment number (as a string too).
nlohmann::json update_json(const IncrementalUpdate& update, const std::string& segment);

// A target language as a client writes it ("zh", "cmn_Hans") -> TranslateOptions::target_lang;
// throws opusrt::Error naming the languages the model has.
using TargetResolver = std::function<std::string(std::string_view)>;

// One stream of messages (a WebSocket connection, `opusrt stream`'s input) over an
// IncrementalSession: segment names, and the target language, which a message may set
// ("target") at the start of a segment (a new session then; mid-segment a change is an error).
// Segments and updates are numbered over the whole stream.
//
//   StreamConnection stream(translator, options, resolve);
//   nlohmann::json line = stream.push(parse_stream_message(payload)).line;
class StreamConnection {
 public:
  struct Reply {
    IncrementalUpdate update;
    nlohmann::json line;  // update_json with the stream's segment name and numbers
  };
  // `resolve` empty: a target is taken as the model's own code. `target` (a client's code, as a
  // message's "target"; empty: options.translate.target_lang as it is) starts the stream in that
  // language. Throws opusrt::Error for a bad target or options.
  StreamConnection(const Translator& translator, IncrementalOptions options, TargetResolver resolve = {},
                   std::string_view target = {});
  // Throws opusrt::Error for a message that cannot be translated; the stream stays usable.
  Reply push(const StreamMessage& message);
  const std::string& target_lang() const { return options_.translate.target_lang; }

 private:
  // A client's code -> TranslateOptions::target_lang (through resolve_ when set).
  std::string resolved(std::string_view target) const;
  static IncrementalOptions with_target(IncrementalOptions options, std::string target_lang);

  const Translator& translator_;
  TargetResolver resolve_;  // before options_, which the constructor resolves with it
  IncrementalOptions options_;
  IncrementalSession session_;
  std::string name_;       // the open segment's name ("" when unnamed or none is open)
  bool open_ = false;      // a segment has partials and no final yet
  int64_t segment_ = 0;    // segments closed so far: the open one's number
  int64_t seq_ = 0;
};

// One line of JSON (invalid UTF-8 in a string replaced, never thrown).
std::string json_line(const nlohmann::json& value);

}  // namespace opusrt::server
