#pragma once

// Runs the `opusrt` CLI as a user does: a real process, stdin from a string, stdout, stderr and
// the exit code captured.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_env.h"

namespace opusrt::test {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out, err;
  std::vector<std::string> lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted.append("'\\''");
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('\'');
  return quoted;
}

inline Result run_cli(const std::vector<std::string>& args, const std::string& input = "") {
  const fs::path base = fs::temp_directory_path() / ("opusrt-cli-" + std::to_string(::getpid()));
  const fs::path in = base.string() + ".in", out = base.string() + ".out", err = base.string() + ".err";
  std::ofstream(in, std::ios::binary) << input;
  std::string command = quote(env_path("OPUSRT_CLI").string());
  for (const std::string& arg : args) command.append(" ").append(quote(arg));
  command.append(" < ").append(quote(in.string())).append(" > ").append(quote(out.string()));
  command.append(" 2> ").append(quote(err.string()));
  const int status = std::system(command.c_str());
  Result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  fs::remove(in);
  fs::remove(out);
  fs::remove(err);
  return result;
}

}  // namespace opusrt::test
