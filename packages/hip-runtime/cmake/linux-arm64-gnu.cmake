# Cross-compiles the addon for Linux arm64 (glibc) with Debian's cross toolchain
# (apt-get install g++-aarch64-linux-gnu). The addon needs no target libraries beyond libc and
# libstdc++ (Node-API comes from the process, the GPU driver is opened at run time).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
