/*
 * A CUDA driver that does nothing (not a test): every function of the driver API that
 * @rocmforge/hip-runtime loads succeeds at once, on one device that looks like an H200, whose
 * work is always done. bench/host-path.mjs --null-driver builds it and points
 * ROCMFORGE_DRIVER_PATH at it, so that the real addon and every wrapper above it run, and what
 * is measured is the host path without the driver's own time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef int CUresult;
static uint64_t next_address = 0x7f0000000000ull;
static uintptr_t next_handle = 0x1000;

CUresult cuInit(unsigned flags) { (void)flags; return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return 0; }
CUresult cuGetErrorName(CUresult e, const char** s) { (void)e; *s = "CUDA_ERROR_NULL_DRIVER"; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int i) { *d = i; return 0; }
CUresult cuDeviceGetName(char* name, int len, int d) { (void)d; strncpy(name, "null driver (H200 facts)", (size_t)len); return 0; }
CUresult cuDeviceGetAttribute(int* v, int attribute, int d) {
  (void)d;
  switch (attribute) {
    case 1: *v = 1024; break;        /* max threads per block */
    case 8: *v = 49152; break;       /* shared per block */
    case 10: *v = 32; break;         /* warp size */
    case 16: *v = 132; break;        /* multiprocessors */
    case 38: *v = 62914560; break;   /* L2 */
    case 75: *v = 9; break;          /* major */
    case 76: *v = 0; break;          /* minor */
    case 97: *v = 232448; break;     /* shared per block, opt-in */
    default: *v = 0;
  }
  return 0;
}
CUresult cuDeviceTotalMem_v2(size_t* b, int d) { (void)d; *b = (size_t)141 << 30; return 0; }
CUresult cuDevicePrimaryCtxRetain(void** c, int d) { (void)d; *c = (void*)next_handle++; return 0; }
CUresult cuCtxSetCurrent(void* c) { (void)c; return 0; }
CUresult cuMemGetInfo_v2(size_t* f, size_t* t) { *f = (size_t)140 << 30; *t = (size_t)141 << 30; return 0; }
CUresult cuMemAlloc_v2(uint64_t* p, size_t b) { *p = next_address; next_address += (b + 4095) & ~(uint64_t)4095; return 0; }
CUresult cuMemFree_v2(uint64_t p) { (void)p; return 0; }
CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void* h, size_t b, void* s) { (void)d; (void)h; (void)b; (void)s; return 0; }
/* Device to host: every byte 1, so that the row statuses read "sampled". */
CUresult cuMemcpyDtoHAsync_v2(void* h, uint64_t d, size_t b, void* s) { (void)d; (void)s; memset(h, 1, b); return 0; }
CUresult cuMemcpyDtoDAsync_v2(uint64_t a, uint64_t b, size_t n, void* s) { (void)a; (void)b; (void)n; (void)s; return 0; }
CUresult cuMemsetD8Async(uint64_t d, unsigned char v, size_t n, void* s) { (void)d; (void)v; (void)n; (void)s; return 0; }
CUresult cuMemHostRegister_v2(void* p, size_t b, unsigned f) { (void)p; (void)b; (void)f; return 0; }
CUresult cuMemHostUnregister(void* p) { (void)p; return 0; }
/* Mapped host memory: the device sees it at its host address (as under unified addressing). */
CUresult cuMemHostGetDevicePointer_v2(uint64_t* d, void* p, unsigned f) { (void)f; *d = (uint64_t)(uintptr_t)p; return 0; }
CUresult cuStreamCreate(void** s, unsigned f) { (void)f; *s = (void*)next_handle++; return 0; }
CUresult cuStreamDestroy_v2(void* s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void* s) { (void)s; return 0; }
CUresult cuStreamQuery(void* s) { (void)s; return 0; }
CUresult cuEventCreate(void** e, unsigned f) { (void)f; *e = (void*)next_handle++; return 0; }
CUresult cuEventDestroy_v2(void* e) { (void)e; return 0; }
CUresult cuEventRecord(void* e, void* s) { (void)e; (void)s; return 0; }
CUresult cuEventSynchronize(void* e) { (void)e; return 0; }
CUresult cuStreamWaitEvent(void* s, void* e, unsigned f) { (void)s; (void)e; (void)f; return 0; }
CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { (void)a; (void)b; *ms = 0.01f; return 0; }
CUresult cuModuleLoadData(void** m, const void* image) { (void)image; *m = (void*)next_handle++; return 0; }
CUresult cuModuleUnload(void* m) { (void)m; return 0; }
CUresult cuModuleGetFunction(void** f, void* m, const char* name) { (void)m; (void)name; *f = (void*)next_handle++; return 0; }
CUresult cuFuncGetAttribute(int* v, int a, void* f) { (void)a; (void)f; *v = 0; return 0; }
CUresult cuFuncSetAttribute(void* f, int a, int v) { (void)f; (void)a; (void)v; return 0; }
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* s, void** params, void** extra) {
  (void)f; (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)shared; (void)s; (void)params; (void)extra;
  return 0;
}
