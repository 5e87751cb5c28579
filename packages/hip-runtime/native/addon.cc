// The Node-API skin over Driver: argument conversion and error translation, nothing else.
// Handles cross into JavaScript as BigInts; the JS layer wraps them in disposable classes.
#include <napi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "driver.h"
#include "rtc.h"

namespace rocmforge {
namespace {

std::unique_ptr<Driver> gDriver;

Napi::Error toJsError(Napi::Env env, const DriverError& error) {
  Napi::Error js = Napi::Error::New(env, error.call + " failed: " + error.name + " (" + std::to_string(error.code) + ")");
  js.Set("code", Napi::String::New(env, "ERR_HIP_DRIVER"));
  js.Set("driverCode", Napi::Number::New(env, error.code));
  js.Set("driverName", Napi::String::New(env, error.name));
  js.Set("call", Napi::String::New(env, error.call));
  return js;
}

Driver& driver(Napi::Env env) {
  if (!gDriver) {
    Napi::Error error = Napi::Error::New(env, "No GPU driver has been opened");
    error.Set("code", Napi::String::New(env, "ERR_HIP_NO_DRIVER"));
    throw error;
  }
  return *gDriver;
}

std::uint64_t u64(const Napi::Value& value) {
  bool lossless = true;
  if (value.IsBigInt()) return value.As<Napi::BigInt>().Uint64Value(&lossless);
  return static_cast<std::uint64_t>(value.As<Napi::Number>().Int64Value());
}
Handle handle(const Napi::Value& value) { return reinterpret_cast<Handle>(u64(value)); }
Napi::BigInt big(Napi::Env env, std::uint64_t value) { return Napi::BigInt::New(env, value); }
Napi::BigInt big(Napi::Env env, Handle value) { return Napi::BigInt::New(env, reinterpret_cast<std::uint64_t>(value)); }

// Bytes of a TypedArray, DataView, Buffer or ArrayBuffer argument.
void bytesOf(const Napi::Value& value, void** data, std::size_t* length) {
  if (value.IsArrayBuffer()) {
    auto buffer = value.As<Napi::ArrayBuffer>();
    *data = buffer.Data();
    *length = buffer.ByteLength();
    return;
  }
  if (value.IsTypedArray()) {
    auto array = value.As<Napi::TypedArray>();
    *data = static_cast<std::uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    *length = array.ByteLength();
    return;
  }
  if (value.IsDataView()) {
    auto view = value.As<Napi::DataView>();
    *data = static_cast<std::uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    *length = view.ByteLength();
    return;
  }
  throw Napi::TypeError::New(value.Env(), "Expected an ArrayBuffer, TypedArray or DataView");
}

// Wraps a call so that driver failures become JS errors carrying the driver's code.
template <typename Fn>
Napi::Value guarded(const Napi::CallbackInfo& info, Fn fn) {
  try {
    return fn(info.Env());
  } catch (const DriverError& error) {
    throw toJsError(info.Env(), error);
  }
}

#define ROCMFORGE_FUNCTION(name) Napi::Value name(const Napi::CallbackInfo& info)

ROCMFORGE_FUNCTION(Open) {
  Napi::Env env = info.Env();
  std::string preference = info[0].As<Napi::String>();
  std::string path = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  std::vector<LoadAttempt> attempts;
  gDriver.reset(openDriver(preference, path, &attempts));
  Napi::Object result = Napi::Object::New(env);
  Napi::Array tried = Napi::Array::New(env, attempts.size());
  for (std::size_t i = 0; i < attempts.size(); i++) {
    Napi::Object attempt = Napi::Object::New(env);
    attempt.Set("path", attempts[i].path);
    attempt.Set("outcome", attempts[i].outcome);
    tried.Set(static_cast<uint32_t>(i), attempt);
  }
  result.Set("attempts", tried);
  if (gDriver) {
    result.Set("backend", gDriver->backend());
    try {
      result.Set("version", gDriver->version());
    } catch (const DriverError& error) {
      throw toJsError(env, error);
    }
  }
  return result;
}

ROCMFORGE_FUNCTION(DeviceCount) {
  return guarded(info, [&](Napi::Env env) { return Napi::Number::New(env, driver(env).deviceCount()); });
}

ROCMFORGE_FUNCTION(DeviceInfo_) {
  return guarded(info, [&](Napi::Env env) {
    DeviceInfo d = driver(env).deviceInfo(info[0].As<Napi::Number>().Int32Value());
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", d.name);
    o.Set("architecture", d.architecture);
    o.Set("totalMemory", static_cast<double>(d.totalMemory));
    o.Set("multiprocessors", d.multiprocessors);
    o.Set("maxThreadsPerBlock", d.maxThreadsPerBlock);
    o.Set("sharedMemoryPerBlock", d.sharedMemoryPerBlock);
    o.Set("sharedMemoryPerBlockOptin", d.sharedMemoryPerBlockOptin);
    o.Set("warpSize", d.warpSize);
    o.Set("l2CacheBytes", d.l2CacheBytes);
    return o;
  });
}

ROCMFORGE_FUNCTION(MakeCurrent) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).makeCurrent(info[0].As<Napi::Number>().Int32Value());
    return env.Undefined();
  });
}

ROCMFORGE_FUNCTION(MemoryInfo) {
  return guarded(info, [&](Napi::Env env) {
    std::size_t freeBytes = 0, totalBytes = 0;
    driver(env).memoryInfo(&freeBytes, &totalBytes);
    Napi::Object o = Napi::Object::New(env);
    o.Set("free", static_cast<double>(freeBytes));
    o.Set("total", static_cast<double>(totalBytes));
    return o;
  });
}

ROCMFORGE_FUNCTION(Malloc) {
  return guarded(info, [&](Napi::Env env) {
    return big(env, driver(env).malloc(static_cast<std::size_t>(info[0].As<Napi::Number>().Int64Value())));
  });
}

ROCMFORGE_FUNCTION(Free) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).free(u64(info[0]));
    return env.Undefined();
  });
}

// copyHostToDevice(dst, host, stream)
ROCMFORGE_FUNCTION(CopyHostToDevice) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[1], &data, &length);
    driver(env).copyHostToDevice(u64(info[0]), data, length, handle(info[2]));
    return env.Undefined();
  });
}

// copyDeviceToHost(host, src, stream)
ROCMFORGE_FUNCTION(CopyDeviceToHost) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[0], &data, &length);
    driver(env).copyDeviceToHost(data, u64(info[1]), length, handle(info[2]));
    return env.Undefined();
  });
}

// copyDeviceToDevice(dst, src, bytes, stream)
ROCMFORGE_FUNCTION(CopyDeviceToDevice) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).copyDeviceToDevice(u64(info[0]), u64(info[1]), static_cast<std::size_t>(info[2].As<Napi::Number>().Int64Value()),
                                   handle(info[3]));
    return env.Undefined();
  });
}

// memset(dst, value, bytes, stream)
ROCMFORGE_FUNCTION(Memset) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).memset8(u64(info[0]), static_cast<unsigned char>(info[1].As<Napi::Number>().Uint32Value()),
                        static_cast<std::size_t>(info[2].As<Napi::Number>().Int64Value()), handle(info[3]));
    return env.Undefined();
  });
}

// hostRegister(memory, mapped?): page-locks the bytes of `memory`; `mapped` maps them for kernels too.
ROCMFORGE_FUNCTION(HostRegister) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[0], &data, &length);
    driver(env).hostRegister(data, length, info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value());
    return env.Undefined();
  });
}

// hostDevicePointer(memory) → the device address of the first byte of `memory` (registered mapped),
// for the current device.
ROCMFORGE_FUNCTION(HostDevicePointer) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[0], &data, &length);
    return big(env, driver(env).hostDevicePointer(data));
  });
}

ROCMFORGE_FUNCTION(HostUnregister) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[0], &data, &length);
    driver(env).hostUnregister(data);
    return env.Undefined();
  });
}

ROCMFORGE_FUNCTION(StreamCreate) {
  return guarded(info, [&](Napi::Env env) { return big(env, driver(env).streamCreate()); });
}
ROCMFORGE_FUNCTION(StreamDestroy) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).streamDestroy(handle(info[0]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(StreamSynchronize) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).streamSynchronize(handle(info[0]));
    return env.Undefined();
  });
}
// streamSynchronizeSpin(stream, spinMicroseconds): polls the stream for up to spinMicroseconds,
// then waits in the driver's synchronize. A small call's work is done within the spin, and its
// wait costs a few queries instead of a wake-up from the driver's wait (which may yield or
// sleep: HIP's default, or CUDA's with more contexts than cores). A failed query ends the spin:
// the synchronize then reports the failure as the plain synchronize does.
ROCMFORGE_FUNCTION(StreamSynchronizeSpin) {
  return guarded(info, [&](Napi::Env env) {
    Driver& d = driver(env);
    Handle stream = handle(info[0]);
    const auto budget = std::chrono::duration<double, std::micro>(info[1].As<Napi::Number>().DoubleValue());
    const auto start = std::chrono::steady_clock::now();
    try {
      while (std::chrono::steady_clock::now() - start < budget) {
        if (d.streamQuery(stream)) return env.Undefined();
      }
    } catch (const DriverError&) {
      // Reported by the synchronize below, under its own name.
    }
    d.streamSynchronize(stream);
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(StreamQuery) {
  return guarded(info, [&](Napi::Env env) { return Napi::Boolean::New(env, driver(env).streamQuery(handle(info[0]))); });
}

// Waits for a stream on a worker thread; the promise settles on the JS thread.
class StreamWaiter final : public Napi::AsyncWorker {
 public:
  StreamWaiter(Napi::Env env, int device, Handle stream)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), device_(device), stream_(stream) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      gDriver->makeCurrent(device_);
      gDriver->streamSynchronize(stream_);
    } catch (const DriverError& error) {
      error_ = std::make_unique<DriverError>(error);
      SetError(error.name);
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error&) override { deferred_.Reject(toJsError(Env(), *error_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int device_;
  Handle stream_;
  std::unique_ptr<DriverError> error_;
};

// streamSynchronizeAsync(device, stream) → Promise<void>
ROCMFORGE_FUNCTION(StreamSynchronizeAsync) {
  Napi::Env env = info.Env();
  driver(env);
  auto* worker = new StreamWaiter(env, info[0].As<Napi::Number>().Int32Value(), handle(info[1]));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

ROCMFORGE_FUNCTION(EventCreate) {
  return guarded(info, [&](Napi::Env env) { return big(env, driver(env).eventCreate()); });
}
ROCMFORGE_FUNCTION(EventDestroy) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).eventDestroy(handle(info[0]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(EventRecord) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).eventRecord(handle(info[0]), handle(info[1]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(StreamWaitEvent) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).streamWaitEvent(handle(info[0]), handle(info[1]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(EventSynchronize) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).eventSynchronize(handle(info[0]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(EventElapsed) {
  return guarded(info, [&](Napi::Env env) {
    return Napi::Number::New(env, driver(env).eventElapsed(handle(info[0]), handle(info[1])));
  });
}

ROCMFORGE_FUNCTION(ModuleLoad) {
  return guarded(info, [&](Napi::Env env) {
    void* data;
    std::size_t length;
    bytesOf(info[0], &data, &length);
    return big(env, driver(env).moduleLoad(data));
  });
}
ROCMFORGE_FUNCTION(ModuleUnload) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).moduleUnload(handle(info[0]));
    return env.Undefined();
  });
}
ROCMFORGE_FUNCTION(ModuleFunction) {
  return guarded(info, [&](Napi::Env env) {
    std::string name = info[1].As<Napi::String>();
    return big(env, driver(env).moduleFunction(handle(info[0]), name.c_str()));
  });
}
ROCMFORGE_FUNCTION(FunctionAttribute_) {
  return guarded(info, [&](Napi::Env env) {
    return Napi::Number::New(
        env, driver(env).functionAttribute(handle(info[0]), static_cast<FunctionAttribute>(info[1].As<Napi::Number>().Int32Value())));
  });
}
ROCMFORGE_FUNCTION(SetFunctionAttribute) {
  return guarded(info, [&](Napi::Env env) {
    driver(env).setFunctionAttribute(handle(info[0]), static_cast<FunctionAttribute>(info[1].As<Napi::Number>().Int32Value()),
                                     info[2].As<Napi::Number>().Int32Value());
    return env.Undefined();
  });
}

// launch(function, dims: Uint32Array[7] = grid xyz, block xyz, shared bytes, stream, args: Uint8Array,
//        offsets: Uint32Array) — the arguments packed in one buffer, one offset per parameter.
ROCMFORGE_FUNCTION(Launch) {
  return guarded(info, [&](Napi::Env env) {
    void* dimsData;
    std::size_t dimsLength;
    bytesOf(info[1], &dimsData, &dimsLength);
    if (dimsLength < 7 * sizeof(std::uint32_t)) throw Napi::TypeError::New(env, "launch dimensions need 7 values");
    const auto* dims = static_cast<const std::uint32_t*>(dimsData);
    void* args;
    std::size_t argBytes;
    bytesOf(info[3], &args, &argBytes);
    void* offsetsData;
    std::size_t offsetsLength;
    bytesOf(info[4], &offsetsData, &offsetsLength);
    const auto* offsets = static_cast<const std::uint32_t*>(offsetsData);
    std::size_t count = offsetsLength / sizeof(std::uint32_t);
    void* stackParams[32];
    std::vector<void*> heapParams;
    void** params = stackParams;
    if (count > 32) {
      heapParams.resize(count);
      params = heapParams.data();
    }
    for (std::size_t i = 0; i < count; i++) {
      if (offsets[i] >= argBytes) throw Napi::RangeError::New(env, "kernel argument offset out of range");
      params[i] = static_cast<std::uint8_t*>(args) + offsets[i];
    }
    driver(env).launch(handle(info[0]), dims, dims + 3, dims[6], handle(info[2]), params);
    return env.Undefined();
  });
}

std::vector<std::string> strings(const Napi::Value& value) {
  std::vector<std::string> out;
  if (!value.IsArray()) return out;
  auto array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// rtcCompile(backend, path, source, name, options[], headerNames[], headerSources[]) → { ok, binary?, log }
ROCMFORGE_FUNCTION(RtcCompile) {
  Napi::Env env = info.Env();
  std::string path = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  RtcResult r = compileProgram(info[0].As<Napi::String>(), path, info[2].As<Napi::String>(), info[3].As<Napi::String>(),
                               strings(info[4]), strings(info[5]), strings(info[6]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", r.ok);
  o.Set("log", r.log);
  if (r.ok) o.Set("binary", Napi::Buffer<char>::Copy(env, r.binary.data(), r.binary.size()));
  return o;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#define ROCMFORGE_EXPORT(jsName, fn) exports.Set(jsName, Napi::Function::New(env, fn, jsName))
  ROCMFORGE_EXPORT("open", Open);
  ROCMFORGE_EXPORT("deviceCount", DeviceCount);
  ROCMFORGE_EXPORT("deviceInfo", DeviceInfo_);
  ROCMFORGE_EXPORT("makeCurrent", MakeCurrent);
  ROCMFORGE_EXPORT("memoryInfo", MemoryInfo);
  ROCMFORGE_EXPORT("malloc", Malloc);
  ROCMFORGE_EXPORT("free", Free);
  ROCMFORGE_EXPORT("copyHostToDevice", CopyHostToDevice);
  ROCMFORGE_EXPORT("copyDeviceToHost", CopyDeviceToHost);
  ROCMFORGE_EXPORT("copyDeviceToDevice", CopyDeviceToDevice);
  ROCMFORGE_EXPORT("memset", Memset);
  ROCMFORGE_EXPORT("hostRegister", HostRegister);
  ROCMFORGE_EXPORT("hostUnregister", HostUnregister);
  ROCMFORGE_EXPORT("hostDevicePointer", HostDevicePointer);
  ROCMFORGE_EXPORT("streamCreate", StreamCreate);
  ROCMFORGE_EXPORT("streamDestroy", StreamDestroy);
  ROCMFORGE_EXPORT("streamSynchronize", StreamSynchronize);
  ROCMFORGE_EXPORT("streamSynchronizeAsync", StreamSynchronizeAsync);
  ROCMFORGE_EXPORT("streamSynchronizeSpin", StreamSynchronizeSpin);
  ROCMFORGE_EXPORT("streamQuery", StreamQuery);
  ROCMFORGE_EXPORT("eventCreate", EventCreate);
  ROCMFORGE_EXPORT("eventDestroy", EventDestroy);
  ROCMFORGE_EXPORT("eventRecord", EventRecord);
  ROCMFORGE_EXPORT("eventSynchronize", EventSynchronize);
  ROCMFORGE_EXPORT("streamWaitEvent", StreamWaitEvent);
  ROCMFORGE_EXPORT("eventElapsed", EventElapsed);
  ROCMFORGE_EXPORT("moduleLoad", ModuleLoad);
  ROCMFORGE_EXPORT("moduleUnload", ModuleUnload);
  ROCMFORGE_EXPORT("moduleFunction", ModuleFunction);
  ROCMFORGE_EXPORT("functionAttribute", FunctionAttribute_);
  ROCMFORGE_EXPORT("setFunctionAttribute", SetFunctionAttribute);
  ROCMFORGE_EXPORT("launch", Launch);
  ROCMFORGE_EXPORT("rtcCompile", RtcCompile);
#undef ROCMFORGE_EXPORT
  return exports;
}

}  // namespace rocmforge

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return rocmforge::Init(env, exports); }

NODE_API_MODULE(rocmforge_hip_runtime, InitModule)
