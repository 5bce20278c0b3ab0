#include "server/http_server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/language_map.h"
#include "server/metrics.h"
#include "server/translate_request.h"
#include "server/translation_service.h"
#include "server/web_assets.h"
#include "text/html_document.h"

namespace opusrt::server {
namespace {

using json = nlohmann::json;

// Set when httplib starts routing a request, read by the logger on the same thread when the
// response has been written: the latency the metrics record.
thread_local std::optional<Clock::time_point> t_request_start;

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// A text's alternatives (TextResult::alternatives says what they are for a text of several units).
json alternatives_of(const TextResult& result) { return result.alternatives; }

bool is_auto(std::string_view source) {
  return source.size() == 4 && (source[0] | 0x20) == 'a' && (source[1] | 0x20) == 'u' && (source[2] | 0x20) == 't' &&
         (source[3] | 0x20) == 'o';
}

// detectedLanguage answers a request for detection: only when `source` is "auto" (LibreTranslate
// sends none for a named source; opusrt sends none for an absent one either).
json translate_response(const TranslateRequest& request, const std::vector<TextResult>& results,
                        const json& detected) {
  json out = json::object();
  const bool detect = is_auto(request.source);
  if (!request.q_is_array) {
    out["translatedText"] = results.at(0).translation->text;
    if (request.alternatives > 0) out["alternatives"] = alternatives_of(results[0]);
    if (detect) out["detectedLanguage"] = detected;
    return out;
  }
  out["translatedText"] = json::array();
  if (request.alternatives > 0) out["alternatives"] = json::array();
  if (detect) out["detectedLanguage"] = json::array();
  for (const TextResult& result : results) {
    out["translatedText"].push_back(result.translation->text);
    if (request.alternatives > 0) out["alternatives"].push_back(alternatives_of(result));
    if (detect) out["detectedLanguage"].push_back(detected);
  }
  return out;
}

// The events of one /translate/stream response, from the worker to httplib's writer thread.
class EventStream {
 public:
  // False once the client has left: the translation of this text can stop.
  bool push(std::string event, bool last) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (client_left_) return false;
      if (finished_) return true;
      events_.push_back(std::move(event));
      finished_ = last;
    }
    changed_.notify_all();
    return true;
  }
  void client_left() {
    std::lock_guard<std::mutex> lock(mutex_);
    client_left_ = true;
  }
  // Moves out what is queued, waiting up to `timeout` for something; true when nothing follows.
  bool take(std::vector<std::string>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !events_.empty() || finished_; });
    out.assign(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return finished_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> events_;
  bool finished_ = false;
  bool client_left_ = false;
};

std::string sse_event(const char* name, const json& data) {
  return std::string("event: ") + name + "\ndata: " + dump(data) + "\n\n";
}

// The request's fields through httplib's content reader, not its own body parsing: Debian's
// libcpp-httplib is compiled with CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH = 8192 and
// answers 413 to any larger form body, where LibreTranslate takes whatever its character limit
// admits. The body size is still capped by set_payload_max_length.
ParseResult read_translate_request(const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& content_reader) {
  bool read = false;
  ParseResult parsed;
  if (req.is_multipart_form_data()) {
    std::vector<std::pair<std::string, std::string>> fields;
    read = content_reader(
        [&](const httplib::MultipartFormData& part) {
          fields.emplace_back(part.name, std::string());
          return true;
        },
        [&](const char* data, size_t length) {
          if (!fields.empty()) fields.back().second.append(data, length);
          return true;
        });
    if (read) parsed = parse_translate_fields(fields);
  } else {
    std::string body;
    read = content_reader([&](const char* data, size_t length) {
      body.append(data, length);
      return true;
    });
    if (read) parsed = parse_translate_request(body, req.get_header_value("Content-Type"));
  }
  if (read) return parsed;
  // Part of the body may be unread: the connection cannot carry another request.
  res.set_header("Connection", "close");
  if (res.status == 413) return RequestError{413, "Payload Too Large"};
  return RequestError{400, req.is_multipart_form_data() ? "Invalid request: malformed multipart/form-data body"
                                                        : "Invalid request: the body could not be read"};
}

// What the service translates for one request, and how its answers become the request's texts:
// for format=text the texts themselves; for format=html the plain-text units of each document
// (text/html_document.h), the documents rebuilt around their translations when all are done.
// Either way the service cuts what it gets into model-sized units (a long paragraph, a long
// HTML block), so neither is limited by the model's length.
struct RequestWork {
  std::vector<std::string> texts;
  std::vector<text::HtmlDocument> documents;  // html: one per request text
  std::vector<size_t> first_text;             // html: where each document's texts start

  static std::shared_ptr<RequestWork> prepare(std::vector<std::string> q, bool html) {
    auto work = std::make_shared<RequestWork>();
    if (!html) {
      work->texts = std::move(q);
      return work;
    }
    for (const std::string& document : q) {
      work->first_text.push_back(work->texts.size());
      work->documents.emplace_back(document);
      const std::vector<std::string>& units = work->documents.back().units();
      work->texts.insert(work->texts.end(), units.begin(), units.end());
    }
    work->first_text.push_back(work->texts.size());
    return work;
  }

  // One result per request text (in order) from one result per text the service translated.
  std::vector<TextResult> assemble(std::vector<TextResult> text_results) const {
    if (documents.empty()) return text_results;
    std::vector<TextResult> results(documents.size());
    for (size_t d = 0; d < documents.size(); ++d) {
      std::vector<std::string> translations;
      bool failed = false;
      for (size_t u = first_text[d]; u < first_text[d + 1] && !failed; ++u) {
        TextResult& unit = text_results.at(u);
        failed = !unit.translation;
        if (failed) {
          results[d].status = unit.status;
          results[d].error = unit.error;
        } else {
          translations.push_back(std::move(unit.translation->text));
        }
      }
      if (failed) continue;
      results[d].translation = TextTranslation{};
      results[d].translation->text = documents[d].render(translations);
    }
    return results;
  }
};

// The answer to a request the service did not queue.
std::optional<RequestError> refused(const TranslationService::Submitted& submitted, size_t capacity) {
  switch (submitted.push) {
    case BatchingQueue::Push::kAccepted: return std::nullopt;
    case BatchingQueue::Push::kFull:
      return RequestError{429, "Too many requests: the translation queue is full, retry later"};
    case BatchingQueue::Push::kClosed: return RequestError{503, "the server is shutting down"};
    case BatchingQueue::Push::kTooLarge: break;
  }
  return RequestError{413, "Invalid request: q splits into " + std::to_string(submitted.units) +
                               " units for the model (sentences); this server queues at most " +
                               std::to_string(capacity) + " (--queue-size): send the text in parts"};
}

}  // namespace

struct HttpServer::Impl {
  TranslationService& service;
  const LanguageMap& languages;
  ServerMetrics& metrics;
  const HttpOptions options;
  httplib::Server http;

  mutable std::mutex mutex;
  std::condition_variable changed;
  size_t in_flight = 0;
  bool draining = false;
  bool running = false;         // inside run()
  bool stop_requested = false;  // stop() was called
  bool stopped = false;         // httplib's stop() was called (it must be called once)
  socket_t listen_socket = INVALID_SOCKET;  // the last socket httplib created to listen on

  // Counts one translation request as in flight for as long as it lives (a stream's lives in
  // its content provider, until the response is gone).
  struct InFlight {
    explicit InFlight(Impl& impl) : impl(impl) {}
    ~InFlight() { impl.leave(); }
    Impl& impl;
  };

  Impl(TranslationService& service, const LanguageMap& languages, ServerMetrics& metrics, HttpOptions options)
      : service(service), languages(languages), metrics(metrics), options(std::move(options)) {}

  std::shared_ptr<InFlight> enter() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (draining) return nullptr;
      ++in_flight;
    }
    metrics.add_in_flight(1);
    return std::make_shared<InFlight>(*this);
  }

  void leave() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      --in_flight;
    }
    metrics.add_in_flight(-1);
    changed.notify_all();
  }

  void routes();
  void handle_translate(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                        bool stream);
  void handle_detect(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  json frontend_settings() const;
  json detected_language() const { return languages.detect_json().at(0); }
  std::optional<RequestError> authorize(const TranslateRequest& request, const httplib::Request& req) const;
  // 413 when the texts together have more characters than --max-chars.
  std::optional<RequestError> check_length(const TranslateRequest& request) const;
};

void HttpServer::Impl::routes() {
  http.new_task_queue = [threads = std::max<size_t>(options.http_threads, 1)] {
    return new httplib::ThreadPool(threads);
  };
  // httplib listens with a backlog of 5: a burst of connections while its accept loop is busy
  // (it is, right after start) overflows that and clients see resets. bind() raises it.
  http.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket = sock;
  });
  http.set_keep_alive_max_count(1000);
  // JSON escapes can take 12 bytes per character; the character limit is checked after parsing.
  http.set_payload_max_length(std::max<size_t>(size_t{1} << 20, options.max_chars * 12 + (size_t{64} << 10)));

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = 0;
    if (t_request_start) seconds = std::chrono::duration<double>(Clock::now() - *t_request_start).count();
    t_request_start.reset();
    metrics.record_request(req.path, res.status, seconds);
  });
  // Every error answer is JSON, including httplib's own (404, 413 for an oversized body, 400 for
  // a broken multipart body, ...). httplib may not have read all of such a request: the client
  // is told to close the connection, or the rest would be read as its next request.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Connection", "close");
    send_error(res, res.status, reason(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, "internal error: " + what);
  });

  // Browsers may call the API from any page, as LibreTranslate allows.
  http.set_default_headers({{"Access-Control-Allow-Origin", "*"},
                            {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                            {"Access-Control-Allow-Methods", "GET, POST"},
                            {"Access-Control-Max-Age", "1728000"}});
  http.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });

  using ContentReader = httplib::ContentReader;
  http.Post("/translate", [this](const httplib::Request& req, httplib::Response& res, const ContentReader& reader) {
    handle_translate(req, res, reader, false);
  });
  http.Post("/translate/stream",
            [this](const httplib::Request& req, httplib::Response& res, const ContentReader& reader) {
              handle_translate(req, res, reader, true);
            });
  http.Post("/detect", [this](const httplib::Request& req, httplib::Response& res, const ContentReader& reader) {
    handle_detect(req, res, reader);
  });
  http.Get("/languages", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, languages.languages_json());
  });
  http.Get("/frontend/settings", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, frontend_settings());
  });
  if (options.web) {
    for (const WebAsset& asset : web_assets()) {
      const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
      http.Get(path, [asset](const httplib::Request&, httplib::Response& res) {
        res.status = 200;
        res.set_header("Cache-Control", "no-cache");
        res.set_content(asset.content.data(), asset.content.size(), std::string(asset.content_type).c_str());
      });
    }
  }
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    bool is_draining;
    {
      std::lock_guard<std::mutex> lock(mutex);
      is_draining = draining;
    }
    send_json(res, is_draining ? 503 : 200,
              {{"status", is_draining ? "draining" : "ok"}, {"queue_depth", service.queue_depth()}});
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    metrics.set_queue_depth(service.queue_depth());
    res.status = 200;
    res.set_content(metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

std::optional<RequestError> HttpServer::Impl::check_length(const TranslateRequest& request) const {
  size_t characters = 0;
  for (const std::string& text : request.q) characters += count_characters(text);
  if (characters <= options.max_chars) return std::nullopt;
  return RequestError{413, "Invalid request: request (" + std::to_string(characters) + ") exceeds text limit (" +
                               std::to_string(options.max_chars) + ")"};
}

std::optional<RequestError> HttpServer::Impl::authorize(const TranslateRequest& request,
                                                        const httplib::Request& req) const {
  if (options.api_keys.empty()) return std::nullopt;
  std::string key = request.api_key;
  if (key.empty() && req.has_param("api_key")) key = req.get_param_value("api_key");
  if (key.empty()) return RequestError{403, "Missing API key: this server needs an api_key"};
  if (!options.api_keys.contains(key)) return RequestError{403, "Invalid API key"};
  return std::nullopt;
}

json HttpServer::Impl::frontend_settings() const {
  // LibreTranslate's GET /frontend/settings, field for field. No file translation, no
  // suggestions; an API key is needed by every client (the page too) when keys are configured.
  const std::vector<std::string>& targets = languages.target_codes();
  const std::string target = targets.empty() ? languages.source_code() : targets.front();
  return {{"charLimit", options.max_chars},
          {"frontendTimeout", 500},
          {"apiKeys", !options.api_keys.empty()},
          {"keyRequired", !options.api_keys.empty()},
          {"suggestions", false},
          {"filesTranslation", false},
          {"supportedFilesFormat", json::array()},
          {"language",
           {{"source", {{"code", languages.source_code()}, {"name", language_name(languages.source_code())}}},
            {"target", {{"code", target}, {"name", language_name(target)}}}}}};
}

void HttpServer::Impl::handle_detect(const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
  ParseResult parsed = read_translate_request(req, res, reader);
  if (const RequestError* error = std::get_if<RequestError>(&parsed)) return send_error(res, error->status, error->message);
  const TranslateRequest& request = std::get<TranslateRequest>(parsed);
  if (auto error = authorize(request, req)) return send_error(res, error->status, error->message);
  if (auto error = check_length(request)) return send_error(res, error->status, error->message);
  send_json(res, 200, languages.detect_json());
}

void HttpServer::Impl::handle_translate(const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader, bool stream) {
  // The body is read first, whatever the answer: unread, it would be taken for the next request
  // on the connection.
  ParseResult parsed = read_translate_request(req, res, reader);
  std::shared_ptr<InFlight> guard = enter();
  if (!guard) return send_error(res, 503, "the server is shutting down");
  if (const RequestError* error = std::get_if<RequestError>(&parsed)) return send_error(res, error->status, error->message);
  TranslateRequest& request = std::get<TranslateRequest>(parsed);

  if (auto error = authorize(request, req)) return send_error(res, error->status, error->message);
  if (auto error = check_length(request)) return send_error(res, error->status, error->message);
  if (stream && (request.q_is_array || request.q.size() != 1))
    return send_error(res, 400, "Invalid request: /translate/stream takes a single string q");

  if (auto error = languages.check_source(request.source)) return send_error(res, error->status, error->message);
  auto target = languages.resolve_target(request.target);
  if (const RequestError* error = std::get_if<RequestError>(&target)) return send_error(res, error->status, error->message);
  const std::string& target_lang = std::get<std::string>(target);

  const bool html = request.format == "html";
  auto translate_options = std::make_shared<TranslateOptions>(options.base_options);
  translate_options->target_lang = target_lang;
  // HTML has no alternatives (as in LibreTranslate: an empty list each): n-best units would not
  // make n-best documents.
  if (request.alternatives > 0 && !html) {
    translate_options->num_return_sequences = request.alternatives + 1;
    translate_options->num_beams =
        std::max({request.alternatives + 1, options.default_num_beams, translate_options->num_beams.value_or(1)});
  }
  const std::shared_ptr<RequestWork> work = RequestWork::prepare(std::move(request.q), html);
  request.q.clear();
  std::vector<std::string> texts = std::move(work->texts);  // assemble() needs only the documents

  if (!stream) {
    auto promise = std::make_shared<std::promise<std::vector<TextResult>>>();
    std::future<std::vector<TextResult>> future = promise->get_future();
    const TranslationService::Submitted submitted = service.submit(
        std::move(texts), translate_options, [promise, work](std::vector<TextResult> results) {
          try {
            promise->set_value(work->assemble(std::move(results)));
          } catch (...) {
            promise->set_exception(std::current_exception());
          }
        });
    if (auto error = refused(submitted, service.capacity())) return send_error(res, error->status, error->message);
    std::vector<TextResult> results = future.get();
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].translation) {
        const std::string where = request.q_is_array ? "q[" + std::to_string(i) + "]: " : "";
        return send_error(res, results[i].status, where + results[i].error);
      }
    }
    return send_json(res, 200, translate_response(request, results, detected_language()));
  }

  auto events = std::make_shared<EventStream>();
  const json detected = detected_language();
  const TranslationService::Submitted submitted = service.submit(
      std::move(texts), translate_options,
      [events, request, detected, work](std::vector<TextResult> text_results) {
        std::vector<TextResult> results;
        try {
          results = work->assemble(std::move(text_results));
        } catch (const std::exception& e) {
          events->push(sse_event("error", {{"error", std::string("internal error: ") + e.what()}, {"status", 500}}), true);
          return;
        }
        if (!results.at(0).translation) {
          events->push(sse_event("error", {{"error", results[0].error}, {"status", results[0].status}}), true);
          return;
        }
        events->push(sse_event("final", translate_response(request, results, detected)), true);
      },
      html ? TranslationService::Partial()  // a document is only whole at the end
           : TranslationService::Partial([events](size_t, std::string_view text_so_far) {
               return events->push(sse_event("partial", {{"translatedText", text_so_far}}), false);
             }));
  if (auto error = refused(submitted, service.capacity())) return send_error(res, error->status, error->message);
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [events, guard](size_t, httplib::DataSink& sink) {
        std::vector<std::string> ready;
        const bool finished = events->take(ready, std::chrono::milliseconds(500));
        for (const std::string& event : ready) {
          if (!sink.write(event.data(), event.size())) {
            events->client_left();  // decoding of this text stops at its next token
            return false;
          }
        }
        if (finished) sink.done();
        return true;
      },
      [events](bool success) {
        if (!success) events->client_left();
      });
}

HttpServer::HttpServer(TranslationService& service, const LanguageMap& languages, ServerMetrics& metrics,
                       HttpOptions options)
    : impl_(std::make_unique<Impl>(service, languages, metrics, std::move(options))) {
  impl_->routes();
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) throw Error("port " + std::to_string(port) + " is not in 0..65535");
  const int bound = port == 0 ? impl_->http.bind_to_any_port(host) : (impl_->http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    throw Error("cannot listen on " + host + ":" + std::to_string(port) + " (address in use or not local?)");
  if (impl_->listen_socket != INVALID_SOCKET) ::listen(impl_->listen_socket, SOMAXCONN);
  return bound;
}

void HttpServer::run() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stop_requested) return;
    impl_->running = true;
  }
  impl_->http.listen_after_bind();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->running = false;
  }
  impl_->changed.notify_all();
}

void HttpServer::begin_drain() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->draining = true;
}

bool HttpServer::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->in_flight == 0; });
}

void HttpServer::stop() {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->stop_requested = true;
  // httplib's stop() is a no-op until listen has started, and must not be called twice.
  while (impl_->running && !impl_->stopped) {
    if (impl_->http.is_running()) {
      impl_->stopped = true;
      impl_->http.stop();
      break;
    }
    impl_->changed.wait_for(lock, std::chrono::milliseconds(1));
  }
}

size_t HttpServer::in_flight() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->in_flight;
}

std::set<std::string> load_api_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the API keys file");
  std::set<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t last = line.find_last_not_of(" \t\r\n");
    keys.insert(line.substr(first, last - first + 1));
  }
  if (in.bad()) throw Error(path + ": cannot read the API keys file");
  if (keys.empty()) throw Error(path + ": no API key in the file (one key per line)");
  return keys;
}

}  // namespace opusrt::server
