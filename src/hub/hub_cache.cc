#include "hub/hub_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "opusrt/error.h"

namespace opusrt::hub {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

void create_parent(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(path.parent_path().string() + ": cannot create directory: " + ec.message());
}

// Unique per process and call: concurrent writers (processes or threads) never share one.
std::string temp_name(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

FileLock::FileLock(const fs::path& path) {
  create_parent(path);
  // Group-writable whatever the umask, as huggingface_hub creates its lock files: users sharing a
  // cache through a group must all be able to open (and wait on) each other's locks. fchmod fails
  // harmlessly on a lock file another user created.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd_ < 0) throw Error(path.string() + ": cannot open lock file: " + errno_text());
  (void)::fchmod(fd_, 0664);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string message = path.string() + ": cannot lock: " + errno_text();
    ::close(fd_);
    fd_ = -1;
    throw Error(message);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void write_file_atomically(const fs::path& path, const std::string& content) {
  create_parent(path);
  const fs::path temp = temp_name(path);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw Error(temp.string() + ": cannot write");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(path.string() + ": cannot write: " + ec.message());
  }
}

RepoCache::RepoCache(fs::path cache_root, RepoId repo)
    : root_(std::move(cache_root)), repo_(std::move(repo)), dir_((root_ / repo_.cache_folder()).lexically_normal()) {}

fs::path RepoCache::inside(const fs::path& relative) const {
  const fs::path joined = (dir_ / relative).lexically_normal();
  const fs::path back = joined.lexically_relative(dir_);
  if (relative.is_absolute() || back.empty() || *back.begin() == ".." || back == ".")
    throw Error(relative.string() + ": refused: the path would leave the cache folder " + dir_.string());
  return joined;
}

fs::path RepoCache::blob(const std::string& etag) const {
  if (!is_safe_component(etag)) throw Error("ETag '" + etag + "': refused as a blob name");
  return inside(fs::path("blobs") / etag);
}

fs::path RepoCache::incomplete(const std::string& etag) const {
  return inside(fs::path("blobs") / (blob(etag).filename().string() + ".incomplete"));
}

fs::path RepoCache::snapshot_dir(const std::string& commit) const {
  if (!is_safe_component(commit)) throw Error("commit '" + commit + "': refused as a snapshot folder name");
  return inside(fs::path("snapshots") / commit);
}

fs::path RepoCache::snapshot_file(const std::string& commit, const std::string& repo_path) const {
  if (!is_valid_repo_path(repo_path)) throw Error("file name '" + repo_path + "': refused (must be relative, without '..' or '\\')");
  if (!is_safe_component(commit)) throw Error("commit '" + commit + "': refused as a snapshot folder name");
  return inside(fs::path("snapshots") / commit / repo_path);
}

std::optional<std::string> RepoCache::read_ref(const std::string& revision) const {
  if (!is_valid_revision(revision)) return std::nullopt;
  std::ifstream in(inside(fs::path("refs") / revision), std::ios::binary);
  if (!in) return std::nullopt;
  std::string commit;
  std::getline(in, commit);
  while (!commit.empty() && (commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
  if (!is_safe_component(commit)) return std::nullopt;
  return commit;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (!is_valid_revision(revision)) throw Error("revision '" + revision + "': refused");
  if (!is_safe_component(commit)) throw Error("commit '" + commit + "': refused");
  const fs::path ref = inside(fs::path("refs") / revision);
  if (read_ref(revision) == commit) return;
  write_file_atomically(ref, commit);  // no newline, like huggingface_hub
}

void RepoCache::link_snapshot_file(const std::string& commit, const std::string& repo_path,
                                   const std::string& etag) const {
  const fs::path pointer = snapshot_file(commit, repo_path);
  const fs::path target = blob(etag);
  create_parent(pointer);
  const fs::path temp = temp_name(pointer);
  std::error_code ec;
  fs::remove(temp, ec);
  fs::create_symlink(target.lexically_relative(pointer.parent_path()), temp, ec);
  if (ec) {  // no symlinks on this file system: a copy
    ec.clear();
    fs::copy_file(target, temp, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error(pointer.string() + ": cannot create from " + target.string() + ": " + ec.message());
  }
  fs::rename(temp, pointer, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(pointer.string() + ": cannot create: " + ec.message());
  }
}

void RepoCache::mark_missing(const std::string& commit, const std::string& repo_path) const {
  if (!is_valid_repo_path(repo_path) || !is_safe_component(commit)) return;
  const fs::path marker = inside(fs::path(".no_exist") / commit / repo_path);
  std::error_code ec;
  if (fs::exists(marker, ec)) return;
  fs::create_directories(marker.parent_path(), ec);
  if (ec) return;  // only a hint for later runs
  std::ofstream touch(marker, std::ios::binary);
}

FileLock RepoCache::lock(const std::string& etag) const {
  if (!is_safe_component(etag)) throw Error("ETag '" + etag + "': refused as a lock name");
  return FileLock(root_ / ".locks" / repo_.cache_folder() / (etag + ".lock"));
}

}  // namespace opusrt::hub
