#pragma once
#include <string>
#include <vector>

namespace rocmforge {

struct RtcResult {
  bool ok = false;
  std::vector<char> binary;
  std::string log;
};

// Compiles `source` for the options' target with NVRTC (backend "cuda") or hipRTC ("hip").
RtcResult compileProgram(const std::string& backend, const std::string& overridePath, const std::string& source,
                         const std::string& programName, const std::vector<std::string>& options,
                         const std::vector<std::string>& headerNames, const std::vector<std::string>& headerSources);

}  // namespace rocmforge
