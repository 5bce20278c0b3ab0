#pragma once

// A tiny HTTP/1.1 server that answers like the Hugging Face hub, for the hub tests: no test
// touches the internet.
//
//   HEAD|GET /{owner}/{name}/resolve/{revision}/{path}
//     regular files: 200, ETag (git-style), X-Repo-Commit, Content-Length, Range support; or,
//     with use_resolve_cache(), the hub's 307 to a relative
//     /api/resolve-cache/models/{owner}/{name}/{commit}/{path}?{...}&etag=... that serves them
//     LFS files (*.onnx, *.onnx_data*): 302 to /cdn/<sha256>?<long signed query> with
//     X-Linked-Etag (the sha256), X-Linked-Size and X-Repo-Commit on the redirect itself, and the
//     redirect's own body and Content-Length, as the hub does
//   GET /cdn/<sha256>?...: the content, with Range support (403 without the signature)
//   unknown repository: 401 RepoNotFound; unknown revision: 404 RevisionNotFound;
//   missing file: 404 EntryNotFound; renamed repository: 307 to the new name (relative).
//
// Faults per file make the server misbehave on purpose (connection closed after N bytes, sizes
// that lie, corrupt bytes, hostile ETags, error statuses, stalls, compression); scripted answers
// replace whole responses (429 with RateLimit, 503, GatedRepo, a proxy's bare 404); a server can
// also act as a mirror that redirects everything to another one. One connection at a time,
// `Connection: close` on every answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hub/sha256.h"

namespace opusrt::test {

class FakeHub {
 public:
  struct Request {
    std::string method;
    std::string path;  // as sent (percent-encoded)
    std::map<std::string, std::string> headers;  // names lowercased
    std::chrono::steady_clock::time_point at;     // when it arrived
    std::string header(const std::string& name) const {
      const auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };

  struct Fault {
    int times = 1;                          // content GETs affected (-1: every one); then the fault is gone
    std::optional<size_t> close_after;      // body bytes sent before the connection is closed
    std::optional<int> stall_ms;            // with close_after: wait this long before closing
    std::optional<int64_t> size_delta;      // every announced size (HEAD and GET) is off by this
    std::optional<size_t> truncate_body_to; // GET: the body cut to this, Content-Length matching the cut
    std::optional<std::string> etag;        // sent as ETag / X-Linked-Etag (verbatim, quotes included)
    bool corrupt = false;                   // GET: one byte flipped, same size
    bool ignore_range = false;              // GET: always 200 with everything
    std::optional<int> status;              // GET: answer this status instead
    std::optional<std::string> content_encoding;  // GET: sent as Content-Encoding (the body unchanged)
  };

  // A whole answer in place of the normal one, for requests whose path contains `path_contains`
  // ("" = every request) and whose method is `method` ("" = any), `times` times (-1: always).
  struct Scripted {
    std::string path_contains;
    std::string method;
    int status = 503;
    std::vector<std::pair<std::string, std::string>> headers;
    int times = 1;
  };

  FakeHub() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("FakeHub: socket failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("FakeHub: bind/listen failed");
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeHub() { stop(); }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  // Serves every file under `dir` (recursively) as repository `repo` at `commit` (and "main").
  void add_repo(const std::string& repo, const std::string& commit, const std::filesystem::path& dir) {
    Repo r;
    r.commit = commit;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      File file;
      file.content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      file.sha256 = hub::sha256_hex(file.content);
      file.git_etag = hub::sha256_hex("blob " + file.content).substr(0, 40);
      const std::string path = entry.path().lexically_relative(dir).generic_string();
      file.lfs = path.ends_with(".onnx") || path.find(".onnx_data") != std::string::npos;
      r.files[path] = std::move(file);
    }
    std::lock_guard lock(mutex_);
    repos_[repo] = std::move(r);
  }

  void set_fault(const std::string& path, const Fault& fault) {
    std::lock_guard lock(mutex_);
    faults_[path] = fault;
  }
  void clear_faults() {
    std::lock_guard lock(mutex_);
    faults_.clear();
    scripted_.clear();
  }
  void script(const Scripted& answer) {
    std::lock_guard lock(mutex_);
    scripted_.push_back(answer);
  }
  // Requests for /{old}/... are answered 307 to /{now}/... (relative), as the hub does for a renamed repository.
  void rename_repo(const std::string& old_id, const std::string& now_id) {
    std::lock_guard lock(mutex_);
    renamed_[old_id] = now_id;
  }
  // Regular files answered as the hub does today: a relative 307 to /api/resolve-cache/...?...&etag=...
  void use_resolve_cache(bool value) {
    std::lock_guard lock(mutex_);
    resolve_cache_ = value;
  }
  // A mirror: every request is answered `status` to the same path on `base` (absolute), nothing else.
  void redirect_everything_to(const std::string& base, int status = 308) {
    std::lock_guard lock(mutex_);
    mirror_of_ = base;
    mirror_status_ = status;
  }
  // The name of the header carrying the LFS sha256 ("X-Linked-Etag"; HTTP/1.1 names are case-insensitive).
  void linked_etag_header(const std::string& name) {
    std::lock_guard lock(mutex_);
    linked_etag_header_ = name;
  }
  // nullopt: the repository's commit; "": no X-Repo-Commit header at all.
  void set_commit_header(std::optional<std::string> value) {
    std::lock_guard lock(mutex_);
    commit_header_ = std::move(value);
  }
  void require_token(const std::string& token) {
    std::lock_guard lock(mutex_);
    token_ = token;
  }
  // LFS redirects go to http://localhost:<port> (another host name than 127.0.0.1).
  void cdn_on_other_host(bool value) {
    std::lock_guard lock(mutex_);
    cdn_other_host_ = value;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string sha256_of(const std::string& repo, const std::string& path) {
    std::lock_guard lock(mutex_);
    return repos_.at(repo).files.at(path).sha256;
  }

  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void clear_requests() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }
  size_t count(const std::string& method) {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const Request& r : requests_) n += r.method == method;
    return n;
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }

 private:
  struct File {
    std::string content, sha256, git_etag;
    bool lfs = false;
  };
  struct Repo {
    std::string commit;
    std::map<std::string, File> files;
  };

  static std::string decode(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size()) {
        out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  }

  static std::string encode_quotes(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '"' ? std::string("%22") : std::string(1, c);
    return out;
  }
  static std::string encode_slashes(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '/' ? std::string("%2F") : std::string(1, c);
    return out;
  }

  static void send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  static std::string status_text(int status) {
    switch (status) {
      case 200: return "OK";
      case 206: return "Partial Content";
      case 302: return "Found";
      case 307: return "Temporary Redirect";
      case 308: return "Permanent Redirect";
      case 403: return "Forbidden";
      case 429: return "Too Many Requests";
      case 401: return "Unauthorized";
      case 404: return "Not Found";
      case 416: return "Range Not Satisfiable";
      case 500: return "Internal Server Error";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  // Headers + body; the body cut after `close_after` bytes (then a pause, then the close).
  void respond(int fd, int status, std::vector<std::pair<std::string, std::string>> headers, const std::string& body,
               bool head, std::optional<size_t> close_after = std::nullopt, std::optional<int> stall_ms = std::nullopt) {
    std::ostringstream out;
    out << "HTTP/1.1 " << status << " " << status_text(status) << "\r\n";
    bool has_length = false;
    for (const auto& [name, value] : headers) {
      out << name << ": " << value << "\r\n";
      has_length = has_length || name == "Content-Length";
    }
    if (!has_length) out << "Content-Length: " << body.size() << "\r\n";
    out << "Connection: close\r\n\r\n";
    send_all(fd, out.str());
    if (head) return;
    if (close_after && *close_after < body.size()) {
      send_all(fd, body.substr(0, *close_after));
      if (stall_ms) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(*stall_ms);
        while (!stopped_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return;
    }
    send_all(fd, body);
  }

  // Serves `file` (GET / HEAD), applying the file's fault.
  void serve_content(int fd, const Request& request, const std::string& path, const File& file,
                     std::vector<std::pair<std::string, std::string>> headers) {
    const bool head = request.method == "HEAD";
    std::optional<Fault> fault;
    {
      std::lock_guard lock(mutex_);
      const auto it = faults_.find(path);
      if (it != faults_.end()) {
        fault = it->second;
        if (!head && it->second.times > 0 && --it->second.times == 0) faults_.erase(it);
      }
    }
    std::string content = file.content;
    const int64_t delta = fault && fault->size_delta ? *fault->size_delta : 0;
    if (fault && !head && fault->status) {
      respond(fd, *fault->status, {{"X-Error-Message", "injected failure"}}, "injected failure", false);
      return;
    }
    if (fault && !head && fault->content_encoding) headers.emplace_back("Content-Encoding", *fault->content_encoding);
    if (fault && !head && fault->corrupt && !content.empty()) content[content.size() / 2] ^= 0x5a;
    if (fault && !head && fault->truncate_body_to && *fault->truncate_body_to < content.size())
      content.resize(*fault->truncate_body_to);
    const std::string range = request.header("range");
    int status = 200;
    std::string body = content;
    if (!range.empty() && range.starts_with("bytes=") && !(fault && fault->ignore_range)) {
      const size_t start = std::stoull(range.substr(6, range.find('-') - 6));
      if (start >= content.size()) {
        headers.emplace_back("Content-Range", "bytes */" + std::to_string(content.size()));
        respond(fd, 416, headers, "", head);
        return;
      }
      status = 206;
      body = content.substr(start);
      headers.emplace_back("Content-Range", "bytes " + std::to_string(start) + "-" + std::to_string(content.size() - 1) +
                                                "/" + std::to_string(static_cast<int64_t>(content.size()) + delta));
    }
    headers.emplace_back("Accept-Ranges", "bytes");
    headers.emplace_back("Content-Length", std::to_string(static_cast<int64_t>(body.size()) + delta));
    respond(fd, status, headers, body, head, fault ? fault->close_after : std::nullopt, fault ? fault->stall_ms : std::nullopt);
  }

  void handle(int fd) {
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string data;
    char buffer[4096];
    while (data.find("\r\n\r\n") == std::string::npos && data.size() < 65536) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      data.append(buffer, static_cast<size_t>(n));
      if (data[0] == 0x16) {  // a TLS ClientHello: answered in plain HTTP, as a broken TLS proxy would
        std::lock_guard lock(mutex_);
        requests_.push_back(Request{"TLS", "", {}, std::chrono::steady_clock::now()});
        send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
    }
    Request request;
    std::istringstream lines(data.substr(0, data.find("\r\n\r\n")));
    std::string line;
    std::getline(lines, line);
    std::istringstream first(line);
    first >> request.method >> request.path;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      request.headers[name] = value;
    }
    request.at = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    requests_.push_back(request);
    const bool head = request.method == "HEAD";

    for (Scripted& answer : scripted_) {
      if (answer.times == 0 || request.path.find(answer.path_contains) == std::string::npos) continue;
      if (!answer.method.empty() && answer.method != request.method) continue;
      if (answer.times > 0) --answer.times;
      const Scripted copy = answer;
      lock.unlock();
      respond(fd, copy.status, copy.headers, "scripted answer", head);
      return;
    }
    if (!mirror_of_.empty()) {
      const std::string location = mirror_of_ + request.path;
      const int status = mirror_status_;
      lock.unlock();
      respond(fd, status, {{"Location", location}}, "Redirecting to " + location, head);
      return;
    }

    // A redirect's own body, with its own Content-Length: never the file's size.
    const auto redirect_body = [](const std::string& location) { return "Found. Redirecting to " + location; };

    if (request.path.starts_with("/cdn/")) {
      const size_t query = request.path.find('?');
      const std::string sha = request.path.substr(5, query == std::string::npos ? std::string::npos : query - 5);
      if (query == std::string::npos || request.path.find("X-Amz-Signature=", query) == std::string::npos) {
        lock.unlock();
        respond(fd, 403, {}, "AccessDenied: the signed query is missing", head);
        return;
      }
      for (const auto& [repo_id, repo] : repos_) {
        for (const auto& [path, file] : repo.files) {
          if (file.sha256 != sha) continue;
          const File copy = file;
          const std::string path_copy = path;
          lock.unlock();
          serve_content(fd, request, path_copy, copy, {{"ETag", "\"" + sha + "\""}});
          return;
        }
      }
      lock.unlock();
      respond(fd, 404, {}, "no such object", head);
      return;
    }

    // /{owner}/{name}/resolve/{revision}/{path}
    std::vector<std::string> parts;
    for (size_t start = 1; start <= request.path.size();) {
      const size_t slash = request.path.find('/', start);
      parts.push_back(request.path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    // /api/resolve-cache/models/{owner}/{name}/{commit}/{path}?{original path}=&etag="<etag>"
    if (request.path.starts_with("/api/resolve-cache/models/")) {
      const size_t query = request.path.find('?');
      const std::vector<std::string> cache_parts(parts.begin() + 3, parts.end());
      std::string last = cache_parts.empty() ? "" : cache_parts.back();
      if (query != std::string::npos && last.find('?') != std::string::npos) last = last.substr(0, last.find('?'));
      const auto repo_it = cache_parts.size() >= 4 ? repos_.find(cache_parts[0] + "/" + cache_parts[1]) : repos_.end();
      std::string path;
      for (size_t i = 3; i < cache_parts.size(); ++i) path += (i > 3 ? "/" : "") + decode(i + 1 == cache_parts.size() ? last : cache_parts[i]);
      if (repo_it == repos_.end() || !repo_it->second.files.count(path)) {
        lock.unlock();
        respond(fd, 404, {{"X-Error-Code", "EntryNotFound"}}, "no such cached entry", head);
        return;
      }
      const File file = repo_it->second.files.at(path);
      const std::string etag = "\"" + file.git_etag + "\"";
      if (query == std::string::npos || request.path.find("etag=" + encode_quotes(etag), query) == std::string::npos) {
        lock.unlock();
        respond(fd, 400, {}, "resolve-cache: the etag query parameter is missing", head);
        return;
      }
      const std::string commit = repo_it->second.commit;
      lock.unlock();
      serve_content(fd, request, path, file, {{"ETag", etag}, {"X-Repo-Commit", commit}});
      return;
    }

    if (parts.size() >= 2) {
      const auto renamed = renamed_.find(parts[0] + "/" + parts[1]);
      if (renamed != renamed_.end()) {
        const std::string location = "/" + renamed->second + request.path.substr(parts[0].size() + parts[1].size() + 2);
        lock.unlock();
        respond(fd, 307, {{"Location", location}}, redirect_body(location), head);
        return;
      }
    }
    if (parts.size() < 5 || parts[2] != "resolve") {
      lock.unlock();
      respond(fd, 404, {}, "not a resolve URL", head);
      return;
    }
    const std::string repo_id = parts[0] + "/" + parts[1];
    const std::string revision = decode(parts[3]);
    std::string path;
    for (size_t i = 4; i < parts.size(); ++i) path += (i > 4 ? "/" : "") + decode(parts[i]);
    const auto repo_it = repos_.find(repo_id);
    if (repo_it == repos_.end()) {
      lock.unlock();
      respond(fd, 401, {{"X-Error-Code", "RepoNotFound"}, {"X-Error-Message", "Repository not found"}}, "", head);
      return;
    }
    if (!token_.empty() && request.header("authorization") != "Bearer " + token_) {
      lock.unlock();
      respond(fd, 401, {{"X-Error-Message", "Invalid credentials in Authorization header"}}, "", head);
      return;
    }
    const Repo& repo = repo_it->second;
    if (revision != "main" && revision != repo.commit) {
      lock.unlock();
      respond(fd, 404, {{"X-Error-Code", "RevisionNotFound"}, {"X-Error-Message", "Invalid rev id: " + revision}}, "", head);
      return;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    const std::string commit = commit_header_ ? *commit_header_ : repo.commit;
    if (!commit.empty()) headers.emplace_back("X-Repo-Commit", commit);
    const auto file_it = repo.files.find(path);
    if (file_it == repo.files.end()) {
      lock.unlock();
      headers.emplace_back("X-Error-Code", "EntryNotFound");
      respond(fd, 404, headers, "Entry not found", head);
      return;
    }
    const File file = file_it->second;
    const auto fault_it = faults_.find(path);
    const std::optional<Fault> fault = fault_it == faults_.end() ? std::nullopt : std::optional<Fault>(fault_it->second);
    const bool other_host = cdn_other_host_;
    const bool resolve_cache = resolve_cache_;
    const std::string linked_etag_name = linked_etag_header_;
    lock.unlock();

    const std::string etag = fault && fault->etag ? *fault->etag : "\"" + (file.lfs ? file.sha256 : file.git_etag) + "\"";
    if (file.lfs) {
      const int64_t delta = fault && fault->size_delta ? *fault->size_delta : 0;
      headers.emplace_back(linked_etag_name, etag);
      headers.emplace_back("X-Linked-Size", std::to_string(static_cast<int64_t>(file.content.size()) + delta));
      headers.emplace_back("ETag", "\"pointer-" + file.git_etag + "\"");
      // A signed storage URL: long, with a query the storage checks.
      std::string signature;
      for (int i = 0; i < 24; ++i) signature += file.sha256.substr(0, 40);
      const std::string location = std::string("http://") + (other_host ? "localhost" : "127.0.0.1") + ":" +
                                   std::to_string(port_) + "/cdn/" + file.sha256 +
                                   "?response-content-disposition=inline%3B+filename%3D%22model.onnx%22&Expires=1781098782"
                                   "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + signature;
      headers.emplace_back("Location", location);
      respond(fd, 302, headers, redirect_body(location), head);
      return;
    }
    if (resolve_cache && (fault == std::nullopt || !fault->etag)) {
      const std::string location = "/api/resolve-cache/models/" + repo_id + "/" + repo.commit + "/" + parts[4];
      std::string full = location;
      for (size_t i = 5; i < parts.size(); ++i) full += "/" + parts[i];
      full += "?" + encode_slashes(request.path) + "=&etag=" + encode_quotes(etag);
      headers.emplace_back("ETag", etag);
      headers.emplace_back("Location", full);
      respond(fd, 307, headers, redirect_body(full), head);
      return;
    }
    headers.emplace_back("ETag", etag);
    serve_content(fd, request, path, file, headers);
  }

  void serve() {
    while (!stopped_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    }
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, Repo> repos_;
  std::map<std::string, Fault> faults_;
  std::optional<std::string> commit_header_;
  std::string token_;
  bool cdn_other_host_ = false;
  bool resolve_cache_ = false;
  std::string mirror_of_;
  int mirror_status_ = 308;
  std::string linked_etag_header_ = "X-Linked-Etag";
  std::map<std::string, std::string> renamed_;
  std::vector<Scripted> scripted_;
  std::vector<Request> requests_;
};

}  // namespace opusrt::test
