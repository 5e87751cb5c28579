// dlopen helpers shared by the two driver backends.
#pragma once

#include <dlfcn.h>

// The prebuilt addons (ROCMFORGE_PORTABLE_GLIBC) are built on a current Debian but must load
// on the older glibc that Node 20 and the GPU stacks still run on (RHEL 8, Ubuntu 20.04).
// glibc 2.34 moved dlopen, dlsym and dlerror from libdl into libc under a new symbol version
// and kept the old versions for compatibility: binding to the old ones (CMakeLists.txt links
// libdl.so.2, which defines them on older glibc) keeps the requirement at glibc 2.17.
#if defined(ROCMFORGE_PORTABLE_GLIBC) && defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
#elif defined(ROCMFORGE_PORTABLE_GLIBC) && defined(__GLIBC__) && defined(__aarch64__)
__asm__(".symver dlopen,dlopen@GLIBC_2.17");
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver dlerror,dlerror@GLIBC_2.17");
#endif

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
