// The `cuda` backend: NVIDIA's driver API (libcuda.so.1), the role HIP's NVIDIA platform plays.
#include <cstring>
#include <type_traits>
#include <mutex>
#include <vector>

#include "driver.h"
#include "library.h"

namespace rocmforge {
namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void*;

constexpr int kAttrMaxThreadsPerBlock = 1;
constexpr int kAttrSharedPerBlock = 8;
constexpr int kAttrWarpSize = 10;
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrL2Cache = 38;
constexpr int kAttrMajor = 75;
constexpr int kAttrMinor = 76;
constexpr int kAttrSharedPerBlockOptin = 97;

// One list of the driver symbols (versioned names first) expands into the table and the loader.
#define ROCMFORGE_CUDA_FUNCTIONS(X)                                                                   \
  X(cuInit, CUresult (*)(unsigned), "cuInit")                                                           \
  X(cuDriverGetVersion, CUresult (*)(int*), "cuDriverGetVersion")                                       \
  X(cuGetErrorName, CUresult (*)(CUresult, const char**), "cuGetErrorName")                             \
  X(cuDeviceGetCount, CUresult (*)(int*), "cuDeviceGetCount")                                           \
  X(cuDeviceGet, CUresult (*)(CUdevice*, int), "cuDeviceGet")                                           \
  X(cuDeviceGetName, CUresult (*)(char*, int, CUdevice), "cuDeviceGetName")                             \
  X(cuDeviceGetAttribute, CUresult (*)(int*, int, CUdevice), "cuDeviceGetAttribute")                    \
  X(cuDeviceTotalMem, CUresult (*)(std::size_t*, CUdevice), "cuDeviceTotalMem_v2")                     \
  X(cuPrimaryCtxRetain, CUresult (*)(CUcontext*, CUdevice), "cuDevicePrimaryCtxRetain")                \
  X(cuCtxSetCurrent, CUresult (*)(CUcontext), "cuCtxSetCurrent")                                        \
  X(cuMemGetInfo, CUresult (*)(std::size_t*, std::size_t*), "cuMemGetInfo_v2")                         \
  X(cuMemAlloc, CUresult (*)(CUdeviceptr*, std::size_t), "cuMemAlloc_v2")                              \
  X(cuMemFree, CUresult (*)(CUdeviceptr), "cuMemFree_v2")                                               \
  X(cuMemcpyHtoDAsync, CUresult (*)(CUdeviceptr, const void*, std::size_t, void*), "cuMemcpyHtoDAsync_v2") \
  X(cuMemcpyDtoHAsync, CUresult (*)(void*, CUdeviceptr, std::size_t, void*), "cuMemcpyDtoHAsync_v2")   \
  X(cuMemcpyDtoDAsync, CUresult (*)(CUdeviceptr, CUdeviceptr, std::size_t, void*), "cuMemcpyDtoDAsync_v2") \
  X(cuMemsetD8Async, CUresult (*)(CUdeviceptr, unsigned char, std::size_t, void*), "cuMemsetD8Async")  \
  X(cuMemHostRegister, CUresult (*)(void*, std::size_t, unsigned), "cuMemHostRegister_v2")            \
  X(cuMemHostUnregister, CUresult (*)(void*), "cuMemHostUnregister")                                    \
  X(cuMemHostGetDevicePointer, CUresult (*)(CUdeviceptr*, void*, unsigned), "cuMemHostGetDevicePointer_v2") \
  X(cuStreamCreate, CUresult (*)(void**, unsigned), "cuStreamCreate")                                   \
  X(cuStreamDestroy, CUresult (*)(void*), "cuStreamDestroy_v2")                                         \
  X(cuStreamSynchronize, CUresult (*)(void*), "cuStreamSynchronize")                                    \
  X(cuStreamQuery, CUresult (*)(void*), "cuStreamQuery")                                                \
  X(cuEventCreate, CUresult (*)(void**, unsigned), "cuEventCreate")                                     \
  X(cuEventDestroy, CUresult (*)(void*), "cuEventDestroy_v2")                                           \
  X(cuEventRecord, CUresult (*)(void*, void*), "cuEventRecord")                                         \
  X(cuEventSynchronize, CUresult (*)(void*), "cuEventSynchronize")                                      \
  X(cuStreamWaitEvent, CUresult (*)(void*, void*, unsigned), "cuStreamWaitEvent")                        \
  X(cuEventElapsedTime, CUresult (*)(float*, void*, void*), "cuEventElapsedTime_v2", "cuEventElapsedTime") \
  X(cuModuleLoadData, CUresult (*)(void**, const void*), "cuModuleLoadData")                            \
  X(cuModuleUnload, CUresult (*)(void*), "cuModuleUnload")                                              \
  X(cuModuleGetFunction, CUresult (*)(void**, void*, const char*), "cuModuleGetFunction")               \
  X(cuFuncGetAttribute, CUresult (*)(int*, int, void*), "cuFuncGetAttribute")                           \
  X(cuFuncSetAttribute, CUresult (*)(void*, int, int), "cuFuncSetAttribute")                            \
  X(cuLaunchKernel,                                                                                     \
    CUresult (*)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**), \
    "cuLaunchKernel")

constexpr int kNotReady = 600;  // CUDA_ERROR_NOT_READY

class CudaDriver final : public Driver {
 public:
#define ROCMFORGE_DECLARE(member, type, ...) std::type_identity_t<type> member = nullptr;
  ROCMFORGE_CUDA_FUNCTIONS(ROCMFORGE_DECLARE)
#undef ROCMFORGE_DECLARE

  bool load(void* library, std::string* missing) {
#define ROCMFORGE_RESOLVE(member, type, ...) \
  if (!resolve(library, &member, {__VA_ARGS__})) { *missing = #member; return false; }
    ROCMFORGE_CUDA_FUNCTIONS(ROCMFORGE_RESOLVE)
#undef ROCMFORGE_RESOLVE
    return true;
  }

  const char* backend() const override { return "cuda"; }

  void check(CUresult result, const char* call) {
    if (result == 0) return;
    const char* name = nullptr;
    if (cuGetErrorName == nullptr || cuGetErrorName(result, &name) != 0 || name == nullptr) name = "CUDA_ERROR_UNKNOWN";
    throw DriverError{result, name, call};
  }

  int version() override {
    int v = 0;
    check(cuDriverGetVersion(&v), "cuDriverGetVersion");
    return v;
  }

  int deviceCount() override {
    int count = 0;
    check(cuDeviceGetCount(&count), "cuDeviceGetCount");
    return count;
  }

  CUdevice device(int index) {
    CUdevice d = 0;
    check(cuDeviceGet(&d, index), "cuDeviceGet");
    return d;
  }

  int attribute(int attr, CUdevice d) {
    int value = 0;
    check(cuDeviceGetAttribute(&value, attr, d), "cuDeviceGetAttribute");
    return value;
  }

  DeviceInfo deviceInfo(int index) override {
    CUdevice d = device(index);
    DeviceInfo info;
    char name[256] = {0};
    check(cuDeviceGetName(name, sizeof(name) - 1, d), "cuDeviceGetName");
    info.name = name;
    info.architecture = "sm_" + std::to_string(attribute(kAttrMajor, d)) + std::to_string(attribute(kAttrMinor, d));
    check(cuDeviceTotalMem(&info.totalMemory, d), "cuDeviceTotalMem_v2");
    info.multiprocessors = attribute(kAttrMultiprocessors, d);
    info.maxThreadsPerBlock = attribute(kAttrMaxThreadsPerBlock, d);
    info.sharedMemoryPerBlock = attribute(kAttrSharedPerBlock, d);
    info.sharedMemoryPerBlockOptin = attribute(kAttrSharedPerBlockOptin, d);
    info.warpSize = attribute(kAttrWarpSize, d);
    info.l2CacheBytes = attribute(kAttrL2Cache, d);
    return info;
  }

  void makeCurrent(int index) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<std::size_t>(index) >= contexts_.size()) contexts_.resize(index + 1, nullptr);
    if (contexts_[index] == nullptr) {
      CUcontext context = nullptr;
      check(cuPrimaryCtxRetain(&context, device(index)), "cuDevicePrimaryCtxRetain");
      contexts_[index] = context;
    }
    check(cuCtxSetCurrent(contexts_[index]), "cuCtxSetCurrent");
  }

  void memoryInfo(std::size_t* freeBytes, std::size_t* totalBytes) override {
    check(cuMemGetInfo(freeBytes, totalBytes), "cuMemGetInfo_v2");
  }
  DevicePtr malloc(std::size_t bytes) override {
    CUdeviceptr ptr = 0;
    check(cuMemAlloc(&ptr, bytes), "cuMemAlloc_v2");
    return ptr;
  }
  void free(DevicePtr ptr) override { check(cuMemFree(ptr), "cuMemFree_v2"); }
  void copyHostToDevice(DevicePtr dst, const void* src, std::size_t bytes, Handle stream) override {
    check(cuMemcpyHtoDAsync(dst, src, bytes, stream), "cuMemcpyHtoDAsync_v2");
  }
  void copyDeviceToHost(void* dst, DevicePtr src, std::size_t bytes, Handle stream) override {
    check(cuMemcpyDtoHAsync(dst, src, bytes, stream), "cuMemcpyDtoHAsync_v2");
  }
  void copyDeviceToDevice(DevicePtr dst, DevicePtr src, std::size_t bytes, Handle stream) override {
    check(cuMemcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync_v2");
  }
  void memset8(DevicePtr dst, unsigned char value, std::size_t bytes, Handle stream) override {
    check(cuMemsetD8Async(dst, value, bytes, stream), "cuMemsetD8Async");
  }
  void hostRegister(void* ptr, std::size_t bytes, bool mapped) override {
    // Portable: every context (device) treats the range as page-locked, so that one registration
    // serves the copies of a batch sharded over several GPUs. Device-mapped: kernels reach it
    // through cuMemHostGetDevicePointer's address (primary contexts always allow mapping).
    constexpr unsigned kPortable = 0x01;   // CU_MEMHOSTREGISTER_PORTABLE
    constexpr unsigned kDeviceMap = 0x02;  // CU_MEMHOSTREGISTER_DEVICEMAP
    check(cuMemHostRegister(ptr, bytes, mapped ? kPortable | kDeviceMap : kPortable), "cuMemHostRegister_v2");
  }
  DevicePtr hostDevicePointer(void* ptr) override {
    CUdeviceptr address = 0;
    check(cuMemHostGetDevicePointer(&address, ptr, 0), "cuMemHostGetDevicePointer_v2");
    return address;
  }
  void hostUnregister(void* ptr) override { check(cuMemHostUnregister(ptr), "cuMemHostUnregister"); }
  Handle streamCreate() override {
    void* stream = nullptr;
    check(cuStreamCreate(&stream, 0), "cuStreamCreate");
    return stream;
  }
  void streamDestroy(Handle stream) override { check(cuStreamDestroy(stream), "cuStreamDestroy_v2"); }
  void streamSynchronize(Handle stream) override { check(cuStreamSynchronize(stream), "cuStreamSynchronize"); }
  bool streamQuery(Handle stream) override {
    CUresult result = cuStreamQuery(stream);
    if (result == kNotReady) return false;
    check(result, "cuStreamQuery");
    return true;
  }
  Handle eventCreate() override {
    void* event = nullptr;
    check(cuEventCreate(&event, 0), "cuEventCreate");
    return event;
  }
  void eventDestroy(Handle event) override { check(cuEventDestroy(event), "cuEventDestroy_v2"); }
  void eventRecord(Handle event, Handle stream) override { check(cuEventRecord(event, stream), "cuEventRecord"); }
  void eventSynchronize(Handle event) override { check(cuEventSynchronize(event), "cuEventSynchronize"); }
  void streamWaitEvent(Handle stream, Handle event) override {
    check(cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
  }
  float eventElapsed(Handle start, Handle end) override {
    float ms = 0;
    check(cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime");
    return ms;
  }
  Handle moduleLoad(const void* image) override {
    void* module = nullptr;
    check(cuModuleLoadData(&module, image), "cuModuleLoadData");
    return module;
  }
  void moduleUnload(Handle module) override { check(cuModuleUnload(module), "cuModuleUnload"); }
  Handle moduleFunction(Handle module, const char* name) override {
    void* function = nullptr;
    check(cuModuleGetFunction(&function, module, name), "cuModuleGetFunction");
    return function;
  }
  int functionAttribute(Handle function, FunctionAttribute attribute) override {
    int value = 0;
    check(cuFuncGetAttribute(&value, attribute, function), "cuFuncGetAttribute");
    return value;
  }
  void setFunctionAttribute(Handle function, FunctionAttribute attribute, int value) override {
    check(cuFuncSetAttribute(function, attribute, value), "cuFuncSetAttribute");
  }
  void launch(Handle function, const unsigned grid[3], const unsigned block[3], unsigned sharedBytes, Handle stream,
              void** params) override {
    check(cuLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, stream, params,
                         nullptr),
          "cuLaunchKernel");
  }

 private:
  std::mutex mutex_;
  std::vector<CUcontext> contexts_;
};

}  // namespace

Driver* openCudaDriver(const std::string& path, std::vector<LoadAttempt>* attempts) {
  std::vector<std::string> candidates;
  if (!path.empty()) candidates.push_back(path);
  else candidates = {"libcuda.so.1", "libcuda.so"};
  void* library = openLibrary(candidates, attempts);
  if (library == nullptr) return nullptr;
  auto* driver = new CudaDriver();
  std::string missing;
  if (!driver->load(library, &missing)) {
    attempts->back().outcome = "missing symbol " + missing;
    delete driver;
    return nullptr;
  }
  int result = driver->cuInit(0);
  if (result != 0) {
    const char* name = nullptr;
    driver->cuGetErrorName(result, &name);
    attempts->back().outcome = std::string("cuInit failed: ") + (name != nullptr ? name : "unknown") + " (" +
                               std::to_string(result) + ")";
    delete driver;
    return nullptr;
  }
  return driver;
}

}  // namespace rocmforge
