#pragma once

// A directory that disappears with everything in it unless released: where `opusrt quantize` and
// `opusrt prepare` write their files before they move them into place.
//
//   StagingDir staging(dir / ".name.opusrt-quantize-1234");  // created; throws if it exists
//   ... write into staging.path(), rename out of it ...
//   staging.release();  // only to keep it (renamed as a whole)
#include <filesystem>
#include <string>

#include "opusrt/error.h"

namespace opusrt::quantize {

class StagingDir {
 public:
  explicit StagingDir(std::filesystem::path path) : path_(std::move(path)) {
    std::error_code ec;
    if (!std::filesystem::create_directory(path_, ec) || ec)
      throw Error(path_.string() + ": cannot create a temporary directory" + (ec ? ": " + ec.message() : std::string()));
  }
  ~StagingDir() {
    if (!released_) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void release() { released_ = true; }

 private:
  std::filesystem::path path_;
  bool released_ = false;
};

}  // namespace opusrt::quantize
