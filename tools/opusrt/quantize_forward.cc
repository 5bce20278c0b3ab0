// `opusrt quantize` and `opusrt prepare` are the program `opusrt-quantize` (the latter as
// `opusrt-quantize prepare ...`), run in place of `opusrt` (exec).
//
// Why a program of its own: quantization reads and writes ONNX models with Debian's libonnx,
// which links the system protobuf (3.21), while Debian's libsentencepiece (the tokenizer)
// carries its own protobuf (3.14) and exports its symbols. One process cannot hold both: the
// tokenizer's protobuf code binds to the other library and aborts on the version check. So
// `opusrt` never links libonnx, and `opusrt-quantize` never loads sentencepiece.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"

namespace opusrt::cli {

int exec_quantize(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path helper = (ec ? fs::path(argv[0]) : self).parent_path() / "opusrt-quantize";
  const std::string command = argv[1];  // quantize or prepare
  std::vector<char*> args;
  std::string name = "opusrt " + command;  // what the helper calls itself in usage and errors
  args.push_back(name.data());
  std::string prepare = "prepare";
  if (command == "prepare") args.push_back(prepare.data());
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(helper.c_str(), args.data());
  std::cerr << "opusrt: " << command << ": cannot run " << helper.string() << " (installed next to opusrt): "
            << std::strerror(errno) << "\n";
  return 1;
}

}  // namespace opusrt::cli
