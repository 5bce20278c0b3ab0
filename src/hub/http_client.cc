#include "hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <mutex>

#include "opusrt/error.h"

namespace opusrt::hub {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) throw Error("libcurl: out of memory building request headers");
  (void)list.release();  // curl_slist_append returns the same head (or a new list when it was empty)
  list.reset(grown);
}

void global_init() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK) throw Error(std::string("libcurl: global initialisation failed: ") + curl_easy_strerror(code));
}

constexpr size_t kErrorBodyLimit = 4096;

struct Transfer {
  CURL* handle = nullptr;
  HttpResult* result = nullptr;
  const HttpClient::BodyHandler* on_body = nullptr;
  std::exception_ptr error;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  try {
    if (line.starts_with("HTTP/")) {  // a new response (after a redirect or a 100 Continue)
      transfer->result->headers.clear();
      transfer->result->status = 0;
      return bytes;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bytes;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    transfer->result->headers[name] = std::string(value);
  } catch (...) {
    transfer->error = std::current_exception();
    return 0;
  }
  return bytes;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  HttpResult& result = *transfer->result;
  try {
    if (result.status == 0) curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &result.status);
    if (result.status < 200 || result.status >= 300) {
      const size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, result.error_body.size());
      result.error_body.append(data, std::min(room, bytes));
      return bytes;
    }
    if (transfer->on_body == nullptr || !*transfer->on_body) return bytes;
    if (!(*transfer->on_body)(result, std::string_view(data, bytes))) {
      result.aborted_by_handler = true;
      return 0;
    }
  } catch (...) {
    transfer->error = std::current_exception();
    return 0;
  }
  return bytes;
}

}  // namespace

std::optional<std::string> HttpResult::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

bool HttpResult::transient_error() const {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool HttpResult::unreachable() const {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return true;
    case CURLE_OPERATION_TIMEDOUT:
      return status == 0;  // nothing was received
    default:
      return false;
  }
}

struct HttpClient::Impl {
  HttpSettings settings;
  EasyHandle handle;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  // Options every request shares; `headers` must outlive the transfer.
  void prepare(const std::string& url, Transfer& transfer, Slist& headers, bool with_token = true) {
    CURL* h = handle.get();
    curl_easy_reset(h);  // keeps the connection cache
    error_buffer[0] = '\0';
    // The announced sizes (X-Linked-Size, Content-Length) are the file's only when nothing is compressed.
    append(headers, "Accept-Encoding: identity");
    if (with_token && !settings.token.empty()) append(headers, "Authorization: Bearer " + settings.token);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "opusrt/0.1.0");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer.data());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, settings.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, settings.low_speed_bytes_per_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, settings.low_speed_time_s);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the string forms; the bitmask forms are deprecated
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  }

  void perform(Transfer& transfer) {
    HttpResult& result = *transfer.result;
    const CURLcode code = curl_easy_perform(handle.get());
    if (transfer.error) std::rethrow_exception(transfer.error);
    result.curl_code = static_cast<int>(code);
    long status = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status != 0) result.status = status;
    if (code != CURLE_OK) {
      result.curl_error = error_buffer[0] != '\0' ? std::string(error_buffer.data()) : curl_easy_strerror(code);
    }
  }
};

HttpClient::HttpClient(HttpSettings settings) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->settings = std::move(settings);
  impl_->handle.reset(curl_easy_init());
  if (!impl_->handle) throw Error("libcurl: curl_easy_init failed");
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::head(const std::string& url, bool with_token) {
  HttpResult result;
  Transfer transfer{impl_->handle.get(), &result, nullptr, nullptr};
  Slist headers;
  impl_->prepare(url, transfer, headers, with_token);
  CURL* h = impl_->handle.get();
  curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, impl_->settings.head_timeout_s);
  impl_->perform(transfer);
  return result;
}

HttpResult HttpClient::get(const std::string& url, uint64_t range_start, const BodyHandler& on_body) {
  HttpResult result;
  Transfer transfer{impl_->handle.get(), &result, &on_body, nullptr};
  Slist headers;
  impl_->prepare(url, transfer, headers);
  CURL* h = impl_->handle.get();
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  const std::string range = std::to_string(range_start) + "-";
  if (range_start > 0) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  impl_->perform(transfer);
  return result;
}

}  // namespace opusrt::hub
