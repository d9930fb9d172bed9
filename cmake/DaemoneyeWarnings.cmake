# daemoneye_warnings(target): the project's warning set, errors when DAEMONEYE_WERROR is on.
function(daemoneye_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual)
  if(DAEMONEYE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
