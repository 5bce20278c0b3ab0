#include "server/stream_lines.h"

#include "opusrt/error.h"
#include "opusrt/translator.h"

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
  if (json.contains("target")) {
    if (!json["target"].is_string()) throw Error("\"target\" must be a language code string, e.g. \"zh\"");
    m.target = json["target"].get<std::string>();
  }
  return m;
}

nlohmann::json update_json(const IncrementalUpdate& u, const std::string& segment) {
  nlohmann::json out = {{"segment", segment.empty() ? std::to_string(u.segment) : segment},
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

StreamConnection::StreamConnection(const Translator& translator, IncrementalOptions options, TargetResolver resolve,
                                   std::string_view target)
    : translator_(translator),
      resolve_(std::move(resolve)),
      options_(target.empty() ? std::move(options) : with_target(std::move(options), resolved(target))),
      session_(translator_, options_) {}

std::string StreamConnection::resolved(std::string_view target) const {
  return resolve_ ? resolve_(target) : std::string(target);
}

IncrementalOptions StreamConnection::with_target(IncrementalOptions options, std::string target_lang) {
  options.translate.target_lang = std::move(target_lang);
  return options;
}

StreamConnection::Reply StreamConnection::push(const StreamMessage& m) {
  const std::string shown_name = name_.empty() ? std::to_string(segment_) : name_;
  if (open_ && !m.segment.empty() && m.segment != name_)
    throw Error("segment '" + m.segment + "' starts before segment '" + shown_name + "' got its final");
  if (m.target) {
    std::string target = resolved(*m.target);
    if (target != options_.translate.target_lang) {
      if (open_)
        throw Error("target '" + *m.target + "' mid-segment: the target language can change only at the start of a "
                    "segment (after a final); segment '" + shown_name + "' is open");
      IncrementalOptions switched = with_target(options_, std::move(target));
      session_ = IncrementalSession(translator_, switched);  // checks the language; the old one stays on error
      options_ = std::move(switched);
    }
  }
  Reply reply{session_.push(m.text, m.final), {}};
  if (!open_ && !m.segment.empty()) name_ = m.segment;
  reply.update.segment = segment_;
  reply.update.seq = seq_++;
  reply.line = update_json(reply.update, name_);
  open_ = !m.final;  // a split final closes the start of the caller's segment, which goes on
  if (reply.update.final) {
    ++segment_;
    if (m.final) name_.clear();
  }
  return reply;
}

}  // namespace opusrt::server
