# Warning flags for dtf's own targets, and the sanitizer build.
function(dtf_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<BOOL:${DTF_WERROR}>:-Werror>)
endfunction()

if(DTF_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(DTF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
