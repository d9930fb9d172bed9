# Cross-compiles for 64-bit Windows with Debian's MinGW-w64 (posix threads
# flavour, which std::thread and Asio need). Libraries come from the prefix
# scripts/windows-deps.sh builds; programs such as protoc from the host.
#
#   cmake --preset windows-cross   (uses this file)
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

if(NOT DAEMONEYE_WINDOWS_DEPS)
  get_filename_component(DAEMONEYE_WINDOWS_DEPS "${CMAKE_CURRENT_LIST_DIR}/../../build/windows-deps/prefix" ABSOLUTE)
endif()
set(DAEMONEYE_WINDOWS_DEPS "${DAEMONEYE_WINDOWS_DEPS}" CACHE PATH "Prefix of the MinGW builds of the dependencies")

set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 "${DAEMONEYE_WINDOWS_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Windows 10 APIs; no min/max macros; programs that need no MinGW DLLs at run time.
set(CMAKE_C_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN -DNOMINMAX")
set(CMAKE_CXX_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN -DNOMINMAX")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
