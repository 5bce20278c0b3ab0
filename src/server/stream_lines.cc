#include "server/stream_lines.h"

#include "opusrt/error.h"

namespace opusrt::server {

StreamMessage parse_stream_message(std::string_view payload) {
  static constexpr const char* kExpected = "expected {\"text\": \"<partial>\", \"final\": false}";
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(payload);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not JSON (") + e.what() + "): " + kExpected);
  }
  if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) throw Error(kExpected);
  StreamMessage m;
  m.text = json["text"].get<std::string>();
  if (json.contains("final")) {
    if (!json["final"].is_boolean()) throw Error("\"final\" must be true or false");
    m.final = json["final"].get<bool>();
  }
  if (json.contains("segment"))
    m.segment = json["segment"].is_string() ? json["segment"].get<std::string>() : json["segment"].dump();
  return m;
}

nlohmann::json update_json(const IncrementalUpdate& u, const std::string& segment) {
  nlohmann::json out = {{"segment", segment.empty() ? nlohmann::json(u.segment) : nlohmann::json(segment)},
                        {"seq", u.seq},
                        {"committed", u.committed},
                        {"tentative", u.tentative},
                        {"final", u.final},
                        {"retracted", u.retracted},
                        {"ms", u.timings.total_ms}};
  if (u.retracted) out["retracted_chars"] = u.retracted_chars;
  if (u.split) out["split"] = true;  // the session closed the partial's earlier sentences
  return out;
}

std::string json_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace opusrt::server
