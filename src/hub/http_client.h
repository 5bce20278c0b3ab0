#pragma once

// The only code that sees libcurl: HEAD and GET over one reused easy handle (connection reuse),
// with RAII ownership of every CURL* and curl_slist*, timeouts on connect and on stalled
// transfers, http/https only (redirects included), and no exception crossing libcurl's C frames.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace opusrt::hub {

struct HttpSettings {
  std::string token;  // sent as "Authorization: Bearer <token>" (never to another host on redirects)
  long connect_timeout_s = 10;
  long low_speed_time_s = 30;  // a transfer below low_speed_bytes_per_s for this long is dropped
  long low_speed_bytes_per_s = 1024;
  long head_timeout_s = 60;  // whole HEAD request
};

struct HttpResult {
  int curl_code = 0;        // CURLcode, 0 = the transfer completed
  std::string curl_error;   // libcurl's message when curl_code != 0
  long status = 0;          // HTTP status of the last response (0: none received)
  std::map<std::string, std::string> headers;  // the last response's headers, names lowercased
  std::string error_body;   // the first bytes of a non-2xx body (for error messages)
  bool aborted_by_handler = false;  // on_body returned false

  std::optional<std::string> header(const std::string& lowercase_name) const;
  // Connection dropped, timed out, reset, partial body: trying again (resuming) may succeed.
  bool transient_error() const;
  // No connection could be made at all (refused, host not found, connect timeout).
  bool unreachable() const;
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // HEAD without following redirects: the hub puts a file's metadata on the redirect itself.
  // with_token=false leaves the Authorization header out (a redirect to another host).
  HttpResult head(const std::string& url, bool with_token = true);

  // GET following redirects (at most 10; libcurl drops the Authorization header when one leads to
  // another host). `on_body` receives the final 2xx response's body as it
  // arrives (status and headers already in `response`); returning false aborts the transfer.
  // Exceptions thrown by on_body abort the transfer and are rethrown from get().
  // range_start > 0 sends "Range: bytes=<range_start>-".
  using BodyHandler = std::function<bool(const HttpResult& response, std::string_view data)>;
  HttpResult get(const std::string& url, uint64_t range_start, const BodyHandler& on_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt::hub
