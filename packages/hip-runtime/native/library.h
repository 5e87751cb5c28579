// dlopen helpers shared by the two driver backends.
#pragma once

#include <dlfcn.h>

#include <string>
#include <vector>

#include "driver.h"

namespace rocmforge {

// Tries an already-loaded copy first (RTLD_NOLOAD), then dlopen, for each candidate path;
// records one line per attempt so that "no driver" says what was tried.
inline void* openLibrary(const std::vector<std::string>& candidates, std::vector<LoadAttempt>* attempts) {
  for (const auto& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (handle == nullptr) handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      attempts->push_back({path, "loaded"});
      return handle;
    }
    const char* why = dlerror();
    attempts->push_back({path, why != nullptr ? why : "not found"});
  }
  return nullptr;
}

// Resolves `name` into `slot`; the first name found wins, so versioned symbols go first.
template <typename Fn>
bool resolve(void* library, Fn* slot, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    void* symbol = dlsym(library, name);
    if (symbol != nullptr) {
      *slot = reinterpret_cast<Fn>(symbol);
      return true;
    }
  }
  return false;
}

}  // namespace rocmforge
