#pragma once

#include <stdexcept>
#include <string>

namespace opusrt {

// The one exception type the library throws. Messages name the file, field or tensor at fault
// so that a user can act on them without reading the code.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace opusrt
