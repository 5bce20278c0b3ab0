#pragma once

// The JSON-line protocol of live speech, one place for both ends that speak it: `opusrt stream`
// (lines on stdin / stdout) and the WebSocket endpoint /v1/stream (one line per message).
//
//   StreamMessage m = parse_stream_message(R"({"segment": "s1", "text": "Open the", "final": false})");
//   std::string line = json_line(update_json(session.push(m.text, m.final), m.segment));
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "opusrt/incremental.h"

namespace opusrt::server {

// {"segment"?, "text", "final"?}: the segment's name (a non-string is kept as its JSON text),
// the partial source, and whether it is the segment's final.
struct StreamMessage {
  std::string segment;
  std::string text;
  bool final = false;
};

// Throws opusrt::Error saying what is wrong (the caller adds where: a line number, ...).
StreamMessage parse_stream_message(std::string_view payload);

// {"segment", "seq", "committed", "tentative", "final", "retracted", "ms"}, plus
// "retracted_chars" on a retraction and "split" on a final the session made itself. `segment`:
// the client's name for it; empty: the session's segment number.
nlohmann::json update_json(const IncrementalUpdate& update, const std::string& segment);

// One line of JSON (invalid UTF-8 in a string replaced, never thrown).
std::string json_line(const nlohmann::json& value);

}  // namespace opusrt::server
