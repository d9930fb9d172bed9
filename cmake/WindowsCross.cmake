# Running cross-built Windows programs on this machine: ctest and
# gtest_discover_tests start every .exe under wine64 (not on PATH in Debian),
# in a private prefix under the build tree, without a display and with wine's
# own debug output off, through cmake/wine-run.sh, which starts a program again
# when wine64 failed before it ran. scripts/windows-test.sh boots the prefix,
# keeps one wineserver running for the whole test run and reports the retries.
if(CMAKE_CROSSCOMPILING AND NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(DAEMONEYE_WINE64 wine64 PATHS /usr/lib/wine NO_DEFAULT_PATH)
  if(DAEMONEYE_WINE64)
    set(DAEMONEYE_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix" CACHE PATH "The wine prefix the tests run in")
    set(DAEMONEYE_WINE_RETRY_LOG "${CMAKE_BINARY_DIR}/wine-retries.log")
    set(CMAKE_CROSSCOMPILING_EMULATOR env -u DISPLAY WINEDEBUG=-all "WINEPREFIX=${DAEMONEYE_WINEPREFIX}"
                                      "DAEMONEYE_WINE_RETRY_LOG=${DAEMONEYE_WINE_RETRY_LOG}"
                                      "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh" "${DAEMONEYE_WINE64}")
  else()
    message(STATUS "wine64 not found: the Windows programs build but their tests cannot run here")
  endif()
endif()
