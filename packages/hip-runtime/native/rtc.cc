// Run-time compilation with NVRTC (NVIDIA) or hipRTC (AMD), opened with dlopen like the
// driver. The two APIs are one-to-one; one table serves both, resolved with the vendor prefix.
#include "rtc.h"

#include <dlfcn.h>

#include <vector>

#include "library.h"

namespace rocmforge {
namespace {

struct RtcTable {
  int (*create)(void** program, const char* source, const char* name, int headers, const char* const* sources,
                const char* const* names) = nullptr;
  int (*compile)(void* program, int count, const char* const* options) = nullptr;
  int (*codeSize)(void* program, std::size_t* size) = nullptr;
  int (*code)(void* program, char* out) = nullptr;
  int (*logSize)(void* program, std::size_t* size) = nullptr;
  int (*log)(void* program, char* out) = nullptr;
  int (*destroy)(void** program) = nullptr;
  const char* (*errorString)(int result) = nullptr;
};

bool loadTable(void* library, const std::string& prefix, RtcTable* t) {
  auto name = [&](const char* suffix) { return prefix + suffix; };
  // NVRTC hands out CUBIN for a real sm_XX target; hipRTC hands out the code object as "code".
  const std::string codeSize = prefix == "nvrtc" ? "nvrtcGetCUBINSize" : "hiprtcGetCodeSize";
  const std::string code = prefix == "nvrtc" ? "nvrtcGetCUBIN" : "hiprtcGetCode";
  return resolve(library, &t->create, {name("CreateProgram").c_str()}) &&
         resolve(library, &t->compile, {name("CompileProgram").c_str()}) &&
         resolve(library, &t->codeSize, {codeSize.c_str()}) && resolve(library, &t->code, {code.c_str()}) &&
         resolve(library, &t->logSize, {name("GetProgramLogSize").c_str()}) &&
         resolve(library, &t->log, {name("GetProgramLog").c_str()}) &&
         resolve(library, &t->destroy, {name("DestroyProgram").c_str()}) &&
         resolve(library, &t->errorString, {name("GetErrorString").c_str()});
}

}  // namespace

RtcResult compileProgram(const std::string& backend, const std::string& overridePath, const std::string& source,
                         const std::string& programName, const std::vector<std::string>& options,
                         const std::vector<std::string>& headerNames, const std::vector<std::string>& headerSources) {
  RtcResult result;
  std::vector<std::string> candidates;
  if (!overridePath.empty()) {
    candidates.push_back(overridePath);
  } else if (backend == "cuda") {
    candidates = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so",
                  "/usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.13",
                  "/usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so"};
  } else {
    candidates = {"libhiprtc.so.7", "libhiprtc.so.6", "libhiprtc.so.5", "libhiprtc.so", "libamdhip64.so.6",
                  "libamdhip64.so.5", "libamdhip64.so"};
  }
  std::vector<LoadAttempt> attempts;
  void* library = openLibrary(candidates, &attempts);
  if (library == nullptr) {
    result.log = "no run-time compiler found (tried";
    for (const auto& a : attempts) result.log += " " + a.path + ": " + a.outcome + ";";
    result.log += ")";
    return result;
  }
  RtcTable t;
  const std::string prefix = backend == "cuda" ? "nvrtc" : "hiprtc";
  if (!loadTable(library, prefix, &t)) {
    result.log = attempts.back().path + " lacks the " + prefix + " functions";
    return result;
  }
  std::vector<const char*> names, sources, opts;
  for (const auto& h : headerNames) names.push_back(h.c_str());
  for (const auto& h : headerSources) sources.push_back(h.c_str());
  for (const auto& o : options) opts.push_back(o.c_str());
  void* program = nullptr;
  int status = t.create(&program, source.c_str(), programName.c_str(), static_cast<int>(names.size()), sources.data(),
                        names.data());
  if (status != 0) {
    result.log = std::string(prefix + "CreateProgram failed: ") + t.errorString(status);
    return result;
  }
  status = t.compile(program, static_cast<int>(opts.size()), opts.data());
  std::size_t logSize = 0;
  if (t.logSize(program, &logSize) == 0 && logSize > 1) {
    std::string log(logSize, '\0');
    if (t.log(program, log.data()) == 0) result.log = log.c_str();
  }
  if (status != 0) {
    result.log = std::string(prefix + "CompileProgram failed: ") + t.errorString(status) + "\n" + result.log;
    t.destroy(&program);
    return result;
  }
  std::size_t size = 0;
  if (t.codeSize(program, &size) != 0 || size == 0) {
    result.log = prefix + ": no code produced\n" + result.log;
    t.destroy(&program);
    return result;
  }
  result.binary.resize(size);
  if (t.code(program, result.binary.data()) != 0) {
    result.binary.clear();
    result.log = prefix + ": reading the code failed\n" + result.log;
  } else {
    result.ok = true;
  }
  t.destroy(&program);
  return result;
}

}  // namespace rocmforge
