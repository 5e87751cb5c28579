// The `hip` backend: AMD's HIP runtime (libamdhip64.so), through its module API.
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <mutex>
#include <vector>

#include "driver.h"
#include "library.h"

namespace rocmforge {
namespace {

using hipError_t = int;
using CUresult = hipError_t;
using CUdevice = int;
using CUdeviceptr = unsigned long long;

// hipDeviceAttribute_t values (stable since HIP 5.0; read one at a time, never via hipDeviceProp_t).
constexpr int kAttrMaxThreadsPerBlock = 56;
constexpr int kAttrSharedPerBlock = 74;
constexpr int kAttrWarpSize = 87;
constexpr int kAttrMultiprocessors = 63;
constexpr int kAttrL2Cache = 19;
constexpr int kAttrSharedPerBlockOptin = 75;

#define ROCMFORGE_HIP_FUNCTIONS(X)                                                                    \
  X(hipInit, hipError_t (*)(unsigned), "hipInit")                                                     \
  X(hipDriverGetVersion, hipError_t (*)(int*), "hipDriverGetVersion")                                 \
  X(hipGetErrorName, const char* (*)(hipError_t), "hipGetErrorName")                                  \
  X(hipGetDeviceCount, hipError_t (*)(int*), "hipGetDeviceCount")                                     \
  X(hipDeviceGetName, hipError_t (*)(char*, int, CUdevice), "hipDeviceGetName")                       \
  X(hipDeviceGetAttribute, hipError_t (*)(int*, int, CUdevice), "hipDeviceGetAttribute")              \
  X(hipDeviceTotalMem, hipError_t (*)(std::size_t*, CUdevice), "hipDeviceTotalMem")                   \
  X(hipGetDeviceProperties, hipError_t (*)(void*, int), "hipGetDevicePropertiesR0600", "hipGetDeviceProperties") \
  X(hipSetDevice, hipError_t (*)(int), "hipSetDevice")                                                \
  X(hipMemGetInfo, hipError_t (*)(std::size_t*, std::size_t*), "hipMemGetInfo")                       \
  X(hipMalloc, hipError_t (*)(void**, std::size_t), "hipMalloc")                                      \
  X(hipFree, hipError_t (*)(void*), "hipFree")                                                        \
  X(hipMemcpyHtoDAsync, hipError_t (*)(CUdeviceptr, const void*, std::size_t, void*), "hipMemcpyHtoDAsync") \
  X(hipMemcpyDtoHAsync, hipError_t (*)(void*, CUdeviceptr, std::size_t, void*), "hipMemcpyDtoHAsync") \
  X(hipMemcpyDtoDAsync, hipError_t (*)(CUdeviceptr, CUdeviceptr, std::size_t, void*), "hipMemcpyDtoDAsync") \
  X(hipMemsetD8Async, hipError_t (*)(CUdeviceptr, unsigned char, std::size_t, void*), "hipMemsetD8Async") \
  X(hipHostRegister, hipError_t (*)(void*, std::size_t, unsigned), "hipHostRegister")                 \
  X(hipHostUnregister, hipError_t (*)(void*), "hipHostUnregister")                                    \
  X(hipHostGetDevicePointer, hipError_t (*)(void**, void*, unsigned), "hipHostGetDevicePointer")      \
  X(hipStreamCreate, hipError_t (*)(void**), "hipStreamCreate")                                       \
  X(hipStreamDestroy, hipError_t (*)(void*), "hipStreamDestroy")                                      \
  X(hipStreamSynchronize, hipError_t (*)(void*), "hipStreamSynchronize")                              \
  X(hipStreamQuery, hipError_t (*)(void*), "hipStreamQuery")                                          \
  X(hipEventCreate, hipError_t (*)(void**), "hipEventCreate")                                         \
  X(hipEventDestroy, hipError_t (*)(void*), "hipEventDestroy")                                        \
  X(hipEventRecord, hipError_t (*)(void*, void*), "hipEventRecord")                                   \
  X(hipEventSynchronize, hipError_t (*)(void*), "hipEventSynchronize")                                \
  X(hipStreamWaitEvent, hipError_t (*)(void*, void*, unsigned), "hipStreamWaitEvent")                 \
  X(hipEventElapsedTime, hipError_t (*)(float*, void*, void*), "hipEventElapsedTime")                 \
  X(hipModuleLoadData, hipError_t (*)(void**, const void*), "hipModuleLoadData")                      \
  X(hipModuleUnload, hipError_t (*)(void*), "hipModuleUnload")                                        \
  X(hipModuleGetFunction, hipError_t (*)(void**, void*, const char*), "hipModuleGetFunction")         \
  X(hipFuncGetAttribute, hipError_t (*)(int*, int, void*), "hipFuncGetAttribute")                     \
  X(hipFuncSetAttribute, hipError_t (*)(const void*, int, int), "hipFuncSetAttribute")                \
  X(hipModuleLaunchKernel,                                                                            \
    hipError_t (*)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**), \
    "hipModuleLaunchKernel")

constexpr int kNotReady = 600;  // hipErrorNotReady

class HipDriver final : public Driver {
 public:
#define ROCMFORGE_DECLARE(member, type, ...) std::type_identity_t<type> member = nullptr;
  ROCMFORGE_HIP_FUNCTIONS(ROCMFORGE_DECLARE)
#undef ROCMFORGE_DECLARE

  bool load(void* library, std::string* missing) {
#define ROCMFORGE_RESOLVE(member, type, ...) \
  if (!resolve(library, &member, {__VA_ARGS__})) { *missing = #member; return false; }
    ROCMFORGE_HIP_FUNCTIONS(ROCMFORGE_RESOLVE)
#undef ROCMFORGE_RESOLVE
    return true;
  }

  const char* backend() const override { return "hip"; }

  void check(hipError_t result, const char* call) {
    if (result == 0) return;
    const char* name = hipGetErrorName != nullptr ? hipGetErrorName(result) : nullptr;
    throw DriverError{result, name != nullptr ? name : "hipErrorUnknown", call};
  }

  int version() override {
    int v = 0;
    check(hipDriverGetVersion(&v), "hipDriverGetVersion");
    return v;
  }
  int deviceCount() override {
    int count = 0;
    check(hipGetDeviceCount(&count), "hipGetDeviceCount");
    return count;
  }
  int attribute(int attr, int d) {
    int value = 0;
    check(hipDeviceGetAttribute(&value, attr, d), "hipDeviceGetAttribute");
    return value;
  }
  DeviceInfo deviceInfo(int d) override {
    DeviceInfo info;
    char name[256] = {0};
    check(hipDeviceGetName(name, sizeof(name) - 1, d), "hipDeviceGetName");
    info.name = name;
    // The architecture name (gcnArchName, e.g. "gfx90a:sramecc+:xnack-") lives only in
    // hipDeviceProp_t, whose layout changed in HIP 6: find the "gfx" string in a generously
    // sized buffer instead of trusting an offset.
    std::vector<char> props(16384, 0);
    check(hipGetDeviceProperties(props.data(), d), "hipGetDeviceProperties");
    for (std::size_t i = 0; i + 4 < props.size(); i++) {
      if (props[i] == 'g' && props[i + 1] == 'f' && props[i + 2] == 'x' && (i == 0 || props[i - 1] == 0)) {
        std::string arch(&props[i], strnlen(&props[i], props.size() - i));
        info.architecture = arch.substr(0, arch.find(':'));
        break;
      }
    }
    check(hipDeviceTotalMem(&info.totalMemory, d), "hipDeviceTotalMem");
    info.multiprocessors = attribute(kAttrMultiprocessors, d);
    info.maxThreadsPerBlock = attribute(kAttrMaxThreadsPerBlock, d);
    info.sharedMemoryPerBlock = attribute(kAttrSharedPerBlock, d);
    info.sharedMemoryPerBlockOptin = attribute(kAttrSharedPerBlockOptin, d);
    info.warpSize = attribute(kAttrWarpSize, d);
    info.l2CacheBytes = attribute(kAttrL2Cache, d);
    return info;
  }
  void makeCurrent(int d) override { check(hipSetDevice(d), "hipSetDevice"); }
  void memoryInfo(std::size_t* freeBytes, std::size_t* totalBytes) override {
    check(hipMemGetInfo(freeBytes, totalBytes), "hipMemGetInfo");
  }
  DevicePtr malloc(std::size_t bytes) override {
    void* ptr = nullptr;
    check(hipMalloc(&ptr, bytes), "hipMalloc");
    return reinterpret_cast<DevicePtr>(ptr);
  }
  void free(DevicePtr ptr) override { check(hipFree(reinterpret_cast<void*>(ptr)), "hipFree"); }
  void copyHostToDevice(DevicePtr dst, const void* src, std::size_t bytes, Handle stream) override {
    check(hipMemcpyHtoDAsync(dst, src, bytes, stream), "hipMemcpyHtoDAsync");
  }
  void copyDeviceToHost(void* dst, DevicePtr src, std::size_t bytes, Handle stream) override {
    check(hipMemcpyDtoHAsync(dst, src, bytes, stream), "hipMemcpyDtoHAsync");
  }
  void copyDeviceToDevice(DevicePtr dst, DevicePtr src, std::size_t bytes, Handle stream) override {
    check(hipMemcpyDtoDAsync(dst, src, bytes, stream), "hipMemcpyDtoDAsync");
  }
  void memset8(DevicePtr dst, unsigned char value, std::size_t bytes, Handle stream) override {
    check(hipMemsetD8Async(dst, value, bytes, stream), "hipMemsetD8Async");
  }
  void hostRegister(void* ptr, std::size_t bytes, bool mapped) override {
    constexpr unsigned kPortable = 0x1;  // hipHostRegisterPortable: page-locked for every device
    constexpr unsigned kMapped = 0x2;    // hipHostRegisterMapped: kernels reach it (hipHostGetDevicePointer)
    check(hipHostRegister(ptr, bytes, mapped ? kPortable | kMapped : kPortable), "hipHostRegister");
  }
  DevicePtr hostDevicePointer(void* ptr) override {
    void* address = nullptr;
    check(hipHostGetDevicePointer(&address, ptr, 0), "hipHostGetDevicePointer");
    return reinterpret_cast<DevicePtr>(address);
  }
  void hostUnregister(void* ptr) override { check(hipHostUnregister(ptr), "hipHostUnregister"); }
  Handle streamCreate() override {
    void* stream = nullptr;
    check(hipStreamCreate(&stream), "hipStreamCreate");
    return stream;
  }
  void streamDestroy(Handle stream) override { check(hipStreamDestroy(stream), "hipStreamDestroy"); }
  void streamSynchronize(Handle stream) override { check(hipStreamSynchronize(stream), "hipStreamSynchronize"); }
  bool streamQuery(Handle stream) override {
    hipError_t result = hipStreamQuery(stream);
    if (result == kNotReady) return false;
    check(result, "hipStreamQuery");
    return true;
  }
  Handle eventCreate() override {
    void* event = nullptr;
    check(hipEventCreate(&event), "hipEventCreate");
    return event;
  }
  void eventDestroy(Handle event) override { check(hipEventDestroy(event), "hipEventDestroy"); }
  void eventRecord(Handle event, Handle stream) override { check(hipEventRecord(event, stream), "hipEventRecord"); }
  void eventSynchronize(Handle event) override { check(hipEventSynchronize(event), "hipEventSynchronize"); }
  void streamWaitEvent(Handle stream, Handle event) override {
    check(hipStreamWaitEvent(stream, event, 0), "hipStreamWaitEvent");
  }
  float eventElapsed(Handle start, Handle end) override {
    float ms = 0;
    check(hipEventElapsedTime(&ms, start, end), "hipEventElapsedTime");
    return ms;
  }
  Handle moduleLoad(const void* image) override {
    void* module = nullptr;
    check(hipModuleLoadData(&module, image), "hipModuleLoadData");
    return module;
  }
  void moduleUnload(Handle module) override { check(hipModuleUnload(module), "hipModuleUnload"); }
  Handle moduleFunction(Handle module, const char* name) override {
    void* function = nullptr;
    check(hipModuleGetFunction(&function, module, name), "hipModuleGetFunction");
    return function;
  }
  int functionAttribute(Handle function, FunctionAttribute attribute) override {
    int value = 0;
    check(hipFuncGetAttribute(&value, attribute, function), "hipFuncGetAttribute");
    return value;
  }
  void setFunctionAttribute(Handle function, FunctionAttribute attribute, int value) override {
    check(hipFuncSetAttribute(function, attribute, value), "hipFuncSetAttribute");
  }
  void launch(Handle function, const unsigned grid[3], const unsigned block[3], unsigned sharedBytes, Handle stream,
              void** params) override {
    check(hipModuleLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, stream,
                                params, nullptr),
          "hipModuleLaunchKernel");
  }
};

}  // namespace

Driver* openHipDriver(const std::string& path, std::vector<LoadAttempt>* attempts) {
  std::vector<std::string> candidates;
  if (!path.empty()) {
    candidates.push_back(path);
  } else {
    candidates = {"libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so.5", "libamdhip64.so"};
    const char* rocm = getenv("ROCM_PATH");
    candidates.push_back(std::string(rocm != nullptr ? rocm : "/opt/rocm") + "/lib/libamdhip64.so");
  }
  void* library = openLibrary(candidates, attempts);
  if (library == nullptr) return nullptr;
  auto* driver = new HipDriver();
  std::string missing;
  if (!driver->load(library, &missing)) {
    attempts->back().outcome = "missing symbol " + missing;
    delete driver;
    return nullptr;
  }
  hipError_t result = driver->hipInit(0);
  if (result != 0) {
    const char* name = driver->hipGetErrorName(result);
    attempts->back().outcome = std::string("hipInit failed: ") + (name != nullptr ? name : "unknown") + " (" +
                               std::to_string(result) + ")";
    delete driver;
    return nullptr;
  }
  return driver;
}

}  // namespace rocmforge
