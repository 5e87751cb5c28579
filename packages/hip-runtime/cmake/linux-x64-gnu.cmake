# Builds the addon for Linux x64 (glibc) with the x86_64-linux-gnu toolchain: Debian's g++ on
# an x64 machine, g++-x86-64-linux-gnu elsewhere. The addon needs no target libraries beyond
# libc and libstdc++ (Node-API comes from the process, the GPU driver is opened at run time).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_CXX_COMPILER x86_64-linux-gnu-g++)
