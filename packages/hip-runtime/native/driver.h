// The GPU driver as a table of functions resolved at run time with dlopen: the HIP runtime
// (libamdhip64.so, AMD) or the CUDA driver (libcuda.so.1, NVIDIA). No SDK header is needed
// to build: the few types and constants used are declared here. Everything above this
// header speaks one vocabulary (Driver); each backend file maps it to its vendor's calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rocmforge {

using DevicePtr = std::uint64_t;
using Handle = void*;

// Device facts read one attribute at a time (never through version-sensitive structs).
struct DeviceInfo {
  std::string name;
  std::string architecture;  // gfx90a, sm_90, …
  std::size_t totalMemory = 0;
  int multiprocessors = 0;
  int maxThreadsPerBlock = 0;
  int sharedMemoryPerBlock = 0;
  int sharedMemoryPerBlockOptin = 0;
  int warpSize = 0;
  int l2CacheBytes = 0;
};

// A failed driver call: its numeric code, the driver's name for it, and the call.
struct DriverError {
  int code;
  std::string name;
  std::string call;
};

struct LoadAttempt {
  std::string path;
  std::string outcome;
};

// Function attributes, numbered as CUDA and HIP both number them.
enum FunctionAttribute : int {
  kMaxThreadsPerBlock = 0,
  kSharedSizeBytes = 1,
  kConstSizeBytes = 2,
  kLocalSizeBytes = 3,
  kNumRegisters = 4,
  kMaxDynamicSharedSizeBytes = 8,
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual const char* backend() const = 0;
  virtual int version() = 0;
  virtual int deviceCount() = 0;
  virtual DeviceInfo deviceInfo(int device) = 0;
  // Makes `device` current on the calling thread (CUDA: its primary context).
  virtual void makeCurrent(int device) = 0;
  virtual void memoryInfo(std::size_t* freeBytes, std::size_t* totalBytes) = 0;
  virtual DevicePtr malloc(std::size_t bytes) = 0;
  virtual void free(DevicePtr ptr) = 0;
  virtual void copyHostToDevice(DevicePtr dst, const void* src, std::size_t bytes, Handle stream) = 0;
  virtual void copyDeviceToHost(void* dst, DevicePtr src, std::size_t bytes, Handle stream) = 0;
  virtual void copyDeviceToDevice(DevicePtr dst, DevicePtr src, std::size_t bytes, Handle stream) = 0;
  virtual void memset8(DevicePtr dst, unsigned char value, std::size_t bytes, Handle stream) = 0;
  // Page-locks [ptr, ptr + bytes) for every device (portable); `mapped` also maps it into the
  // devices' address space, so that kernels read and write it in place (hostDevicePointer).
  virtual void hostRegister(void* ptr, std::size_t bytes, bool mapped) = 0;
  // The device address of `ptr`, host memory registered mapped, for the current device.
  virtual DevicePtr hostDevicePointer(void* ptr) = 0;
  virtual void hostUnregister(void* ptr) = 0;
  virtual Handle streamCreate() = 0;
  virtual void streamDestroy(Handle stream) = 0;
  virtual void streamSynchronize(Handle stream) = 0;
  virtual bool streamQuery(Handle stream) = 0;  // true when all work is done
  virtual Handle eventCreate() = 0;
  virtual void eventDestroy(Handle event) = 0;
  virtual void eventRecord(Handle event, Handle stream) = 0;
  virtual void eventSynchronize(Handle event) = 0;
  virtual float eventElapsed(Handle start, Handle end) = 0;
  // Work queued on `stream` after this call waits for `event` (recorded on any stream, any
  // context or device) on the device, without blocking the host.
  virtual void streamWaitEvent(Handle stream, Handle event) = 0;
  virtual Handle moduleLoad(const void* image) = 0;
  virtual void moduleUnload(Handle module) = 0;
  virtual Handle moduleFunction(Handle module, const char* name) = 0;
  virtual int functionAttribute(Handle function, FunctionAttribute attribute) = 0;
  virtual void setFunctionAttribute(Handle function, FunctionAttribute attribute, int value) = 0;
  // `params` holds one pointer per kernel parameter, pointing at its value.
  virtual void launch(Handle function, const unsigned grid[3], const unsigned block[3], unsigned sharedBytes,
                      Handle stream, void** params) = 0;
};

// Opens a driver: `preference` is "hip", "cuda" or "auto"; `overridePath` a library to try
// instead of the usual sonames. Returns null and fills `attempts` when none loads.
Driver* openDriver(const std::string& preference, const std::string& overridePath, std::vector<LoadAttempt>* attempts);

Driver* openCudaDriver(const std::string& path, std::vector<LoadAttempt>* attempts);
Driver* openHipDriver(const std::string& path, std::vector<LoadAttempt>* attempts);

}  // namespace rocmforge
