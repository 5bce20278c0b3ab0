#pragma once

// One repository's folder in the Hugging Face cache, laid out exactly as huggingface_hub does:
//
//   <cache>/models--owner--name/blobs/<etag>                  contents (<etag>.incomplete while downloading)
//   <cache>/models--owner--name/snapshots/<commit>/<path>     relative symlinks to ../../blobs/<etag>
//   <cache>/models--owner--name/refs/<revision>               the commit a branch/tag points to
//   <cache>/models--owner--name/.no_exist/<commit>/<path>     empty: the file is known not to exist
//   <cache>/.locks/models--owner--name/<etag>.lock            one downloader per blob (mode 0664)
//
// Every path is composed from validated names (hub/names.h) and checked to stay inside the
// repository's folder before anything is written.
#include <filesystem>
#include <optional>
#include <string>

#include "hub/names.h"

namespace opusrt::hub {

// An exclusive flock() held for the object's lifetime; the lock file is created group-writable (0664).
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);  // blocks until acquired
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

class RepoCache {
 public:
  RepoCache(std::filesystem::path cache_root, RepoId repo);

  const std::filesystem::path& dir() const { return dir_; }
  const RepoId& repo() const { return repo_; }
  std::filesystem::path blob(const std::string& etag) const;
  std::filesystem::path incomplete(const std::string& etag) const;
  std::filesystem::path snapshot_dir(const std::string& commit) const;
  std::filesystem::path snapshot_file(const std::string& commit, const std::string& repo_path) const;

  // The commit refs/<revision> records, nullopt when there is none (or it is not a safe name).
  std::optional<std::string> read_ref(const std::string& revision) const;
  void write_ref(const std::string& revision, const std::string& commit) const;

  // snapshots/<commit>/<repo_path> -> blobs/<etag>, replaced atomically; a copy where symlinks fail.
  void link_snapshot_file(const std::string& commit, const std::string& repo_path, const std::string& etag) const;
  void mark_missing(const std::string& commit, const std::string& repo_path) const;

  FileLock lock(const std::string& etag) const;

 private:
  // base / relative, refusing any result outside dir_.
  std::filesystem::path inside(const std::filesystem::path& relative) const;

  std::filesystem::path root_;
  RepoId repo_;
  std::filesystem::path dir_;
};

// Writes `content` to path through a temporary file in the same folder and a rename.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace opusrt::hub
