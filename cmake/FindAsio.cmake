# Finds standalone Asio (Debian: libasio-dev) and defines the imported target Asio::asio.
# Asio 1.22 does not detect C++20 coroutines under clang with libstdc++; the
# definitions below make `asio::awaitable` available there too (g++ detects it itself).
find_path(ASIO_INCLUDE_DIR NAMES asio.hpp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Asio REQUIRED_VARS ASIO_INCLUDE_DIR)
if(Asio_FOUND AND NOT TARGET Asio::asio)
  find_package(Threads REQUIRED)
  add_library(Asio::asio INTERFACE IMPORTED)
  set_target_properties(Asio::asio PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${ASIO_INCLUDE_DIR}")
  # ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 decides between aligned_alloc/free
  # and operator new/delete by whether a libstdc++ header was included before
  # it, so translation units that include <asio/...> first disagree with the
  # others (an ODR violation ASan reports as alloc-dealloc-mismatch on
  # coroutine frames). One fixed choice for every translation unit.
  target_compile_definitions(Asio::asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED ASIO_DISABLE_STD_ALIGNED_ALLOC
                             $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1>)
  target_link_libraries(Asio::asio INTERFACE Threads::Threads)
endif()
mark_as_advanced(ASIO_INCLUDE_DIR)
