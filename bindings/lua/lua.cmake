# lua.cmake: the Lua 5.4 binding, included by bindings/CMakeLists.txt when
# WEFT_BUILD_LUA is ON (SWIG and Lua 5.4's headers found).
#
# Builds ${CMAKE_BINARY_DIR}/bindings/lua/weft.so, loaded by `require "weft"`
# (luaopen_weft). From the build tree:
#   LUA_CPATH="$PWD/build/bindings/lua/?.so;;" lua5.4 script.lua
# Installed into WEFT_LUA_CMOD_DIR (default lib/lua/5.4 under the prefix,
# which is on Debian's default package.cpath for /usr/local).
#
# The module is not linked against liblua: the interpreter that loads it
# provides the Lua API (Debian's lua5.4 exports it), and a second copy of
# the Lua core in one process would break Lua's own checks.

set(WEFT_LUA_SRC ${CMAKE_CURRENT_SOURCE_DIR}/lua)
set(WEFT_LUA_OUT ${CMAKE_BINARY_DIR}/bindings/lua)
set(WEFT_LUA_CMOD_DIR ${CMAKE_INSTALL_LIBDIR}/lua/5.4 CACHE STRING
    "Where `cmake --install` puts the Lua module weft.so (relative to the prefix)")

# weft.lua (the idiomatic layer) is compiled into the module as bytes.
add_custom_command(OUTPUT ${WEFT_LUA_OUT}/gen/weft_lua_layer.h
  COMMAND ${CMAKE_COMMAND} -DIN=${WEFT_LUA_SRC}/weft.lua
          -DOUT=${WEFT_LUA_OUT}/gen/weft_lua_layer.h -DNAME=wlua_layer
          -P ${WEFT_LUA_SRC}/embed.cmake
  DEPENDS ${WEFT_LUA_SRC}/weft.lua ${WEFT_LUA_SRC}/embed.cmake
  COMMENT "Embedding bindings/lua/weft.lua"
  VERBATIM)

# regenerate the wrapper when an interface file or a header it reads changes
# (weft.i expands WEFT_ERRNO_MAP from weft/common.h: a new code regenerates it)
set(SWIG_MODULE_weft_lua_EXTRA_DEPS
  ${CMAKE_CURRENT_SOURCE_DIR}/weft.i ${WEFT_LUA_SRC}/weft_lua.i ${WEFT_LUA_SRC}/wlua.h
  ${CMAKE_CURRENT_SOURCE_DIR}/weft_stats.h ${CMAKE_SOURCE_DIR}/runtime/include/weft/common.h)
# Remote tasks (weft.cluster, g:add_remote, the weftd plugin) need the
# distribution layer; without it the module has none of them.
set(WEFT_LUA_REMOTE_SRC)
if(WEFT_BUILD_DIST)
  set(WEFT_LUA_REMOTE_SRC ${WEFT_LUA_SRC}/wlua_remote.c ${WEFT_LUA_SRC}/wlua_cluster.c)
endif()
swig_add_library(weft_lua
  TYPE MODULE
  LANGUAGE lua
  OUTPUT_DIR ${WEFT_LUA_OUT}/swig
  OUTFILE_DIR ${WEFT_LUA_OUT}/swig
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/weft.i
          ${WEFT_LUA_SRC}/wlua_codec.c
          ${WEFT_LUA_SRC}/wlua_code.c
          ${WEFT_LUA_SRC}/wlua_worker.c
          ${WEFT_LUA_REMOTE_SRC}
          ${WEFT_LUA_SRC}/wlua_core.c
          ${WEFT_LUA_OUT}/gen/weft_lua_layer.h)

set_target_properties(weft_lua PROPERTIES
  OUTPUT_NAME weft
  PREFIX ""
  LIBRARY_OUTPUT_DIRECTORY ${WEFT_LUA_OUT}
  C_VISIBILITY_PRESET hidden      # only luaopen_weft is exported
  INSTALL_RPATH "$ORIGIN/../..;${CMAKE_INSTALL_FULL_LIBDIR}"
  # swig -I: weft.i finds lua/weft_lua.i, the wrapper finds wlua.h and weft.h
  SWIG_USE_TARGET_INCLUDE_DIRECTORIES ON
  # SWIG's generated wrapper is not ours to fix: SWIG 4.1 defines
  # SWIG_init_user without a prototype, and another SWIG may warn about
  # more, so warnings never fail the build there. Our own C (wlua_*.c) stays
  # -Werror clean under weft_options' full set.
  SWIG_GENERATED_COMPILE_OPTIONS "-Wno-error;-Wno-missing-prototypes")
target_include_directories(weft_lua PRIVATE
  ${LUA_INCLUDE_DIR}
  ${CMAKE_CURRENT_SOURCE_DIR}
  ${WEFT_LUA_SRC}
  ${WEFT_LUA_OUT}/gen)
target_link_libraries(weft_lua PRIVATE weft weft_options Threads::Threads ${CMAKE_DL_LIBS})

install(TARGETS weft_lua LIBRARY DESTINATION ${WEFT_LUA_CMOD_DIR})

if(WEFT_BUILD_DIST)
  # libcrypto: SHA-256 keys of remote code (wlua_remote.c)
  find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto)
  target_link_libraries(weft_lua PRIVATE OpenSSL::Crypto)

  # The weftd plugin that runs Lua tasks sent as source text (the named
  # task "weft.lua"): weftd --load build/bindings/lua/libweft_lua_plugin.so.
  # It carries the worker side of the binding and links liblua5.4 (weftd
  # has no Lua of its own); only weft_plugin_init is exported. Installed
  # next to libweft.
  add_library(weft_lua_plugin MODULE
    ${WEFT_LUA_SRC}/wlua_remote_plugin.c
    ${WEFT_LUA_SRC}/wlua_remote.c
    ${WEFT_LUA_SRC}/wlua_worker.c
    ${WEFT_LUA_SRC}/wlua_code.c
    ${WEFT_LUA_SRC}/wlua_codec.c)
  target_include_directories(weft_lua_plugin PRIVATE ${LUA_INCLUDE_DIR} ${WEFT_LUA_SRC})
  # its worker states load code in text mode only, load/loadfile/dofile too
  target_compile_definitions(weft_lua_plugin PRIVATE WLUA_TEXT_ONLY)
  target_link_libraries(weft_lua_plugin PRIVATE weft weft_options Threads::Threads
    OpenSSL::Crypto ${LUA_LIBRARIES})
  set_target_properties(weft_lua_plugin PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${WEFT_LUA_OUT}
    C_VISIBILITY_PRESET hidden
    INSTALL_RPATH "$ORIGIN;${CMAKE_INSTALL_FULL_LIBDIR}")
  install(TARGETS weft_lua_plugin LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
else()
  target_compile_definitions(weft_lua PRIVATE WLUA_NO_REMOTE)
endif()

# ---------------------------------------------------------------------------
# Tests: tests/lua/test_*.lua run by the lua5.4 interpreter, each printing
# "N passed, M failed" and exiting nonzero on a failure.

if(NOT (WEFT_BUILD_TESTS AND BUILD_TESTING))
  return()
endif()
find_program(LUA_EXE NAMES lua5.4)
if(NOT LUA_EXE)
  message(STATUS "weft: lua5.4 not found: the Lua tests are skipped")
  return()
endif()

set(WEFT_LUA_TEST_ENV
  "LUA_CPATH=${WEFT_LUA_OUT}/?.so\;\;"
  "LUA_PATH=${CMAKE_SOURCE_DIR}/tests/lua/?.lua\;\;")
set(WEFT_LUA_TIMEOUT 300)
if(WEFT_SANITIZE STREQUAL "address" OR WEFT_SANITIZE STREQUAL "thread")
  # lua5.4 is not built with a sanitizer: the sanitizer's runtime must come
  # first in the process, before the module that needs it is loaded, so it
  # is preloaded. Our C (wlua_*.c) and libweft are instrumented; the Lua core
  # inside the interpreter is not (ThreadSanitizer cannot see its memory
  # accesses, which is sound here: each lua_State is used by one thread).
  # Leak checking stays on under ASan: the interpreter closes its state at
  # exit (the scripts end with os.exit(code, true)), so every worker's
  # lua_State must have been closed by then (the module pins itself, so
  # LeakSanitizer also sees libweft's process-wide registry).
  if(WEFT_SANITIZE STREQUAL "address")
    set(WEFT_LUA_SANLIB libasan.so)
  else()
    set(WEFT_LUA_SANLIB libtsan.so)
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${WEFT_LUA_SANLIB}
    OUTPUT_VARIABLE WEFT_LUA_SANLIB_PATH OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT IS_ABSOLUTE "${WEFT_LUA_SANLIB_PATH}" OR NOT EXISTS "${WEFT_LUA_SANLIB_PATH}")
    message(STATUS "weft: ${WEFT_LUA_SANLIB} not found: the Lua tests are skipped "
                   "under WEFT_SANITIZE=${WEFT_SANITIZE}")
    return()
  endif()
  list(APPEND WEFT_LUA_TEST_ENV
    "LD_PRELOAD=${WEFT_LUA_SANLIB_PATH}"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
    "TSAN_OPTIONS=halt_on_error=1"
    "WEFT_TEST_SCALE=0.2")
  set(WEFT_LUA_TIMEOUT 1200)
endif()

file(GLOB WEFT_LUA_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/lua/test_*.lua)
foreach(test_file ${WEFT_LUA_TESTS})
  get_filename_component(test_name ${test_file} NAME_WE)
  # clusters and remote nodes need the distribution layer
  if(NOT WEFT_BUILD_DIST AND test_name MATCHES "^test_(remote|cluster_local|place)$")
    continue()
  endif()
  # the suites whose tasks meet across worker threads also run under
  # ThreadSanitizer in CI (label concurrency)
  set(labels "lua")
  if(test_name MATCHES "^test_(nested|parallel|cluster_local)$")
    set(labels "lua;concurrency")
  endif()
  set(env "${WEFT_LUA_TEST_ENV}")
  if(test_name STREQUAL "test_remote")
    # Lua tasks on two weftd processes that the test starts and stops.
    # Not under ThreadSanitizer: its runtime, preloaded into lua5.4, makes
    # the shell that starts them crash (test_cluster_local covers the
    # client's threads there).
    if(NOT TARGET weft_lua_plugin OR WEFT_SANITIZE STREQUAL "thread")
      continue()
    endif()
    set(labels "lua;dist")
    list(APPEND env "WEFT_LUA_WEFTD=$<TARGET_FILE:weftd>"
                    "WEFT_LUA_PLUGIN=$<TARGET_FILE:weft_lua_plugin>")
  endif()
  add_test(NAME lua_${test_name} COMMAND ${LUA_EXE} ${test_file}
    WORKING_DIRECTORY ${WEFT_LUA_OUT})
  set_tests_properties(lua_${test_name} PROPERTIES
    ENVIRONMENT "${env}"
    LABELS "${labels}"
    TIMEOUT ${WEFT_LUA_TIMEOUT}
    PASS_REGULAR_EXPRESSION "\n[0-9]+ passed, 0 failed\n"
    FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error")
endforeach()

# The benchmark, at toy sizes: it must run and its results must be right.
add_test(NAME lua_bench_smoke
  COMMAND ${LUA_EXE} ${CMAKE_SOURCE_DIR}/tools/bench_lua.lua
          --threads 1,2 --reps 1 --tasks 4 --base 2000 --step 100 --empty 500 --fib 12)
set_tests_properties(lua_bench_smoke PROPERTIES
  ENVIRONMENT "${WEFT_LUA_TEST_ENV}"
  LABELS "lua"
  TIMEOUT ${WEFT_LUA_TIMEOUT}
  PASS_REGULAR_EXPRESSION "bench=lua_primes tasks=4 threads=2 reps=1 weft_s=[0-9.]+ serial_s=[0-9.]+ speedup=[0-9.]+"
  FAIL_REGULAR_EXPRESSION "error|Sanitizer|runtime error")

# Examples: examples/lua/*.lua, checked like the C ones.
add_test(NAME lua_example_sum_primes
  COMMAND ${LUA_EXE} ${CMAKE_SOURCE_DIR}/examples/lua/sum_primes.lua 2)
set(WEFT_LUA_SUMS_RE "${WEFT_PRIME_SUMS_RE}.*sum_primes.lua: done")
set_tests_properties(lua_example_sum_primes PROPERTIES
  ENVIRONMENT "${WEFT_LUA_TEST_ENV}"
  LABELS "lua;examples"
  TIMEOUT ${WEFT_LUA_TIMEOUT}
  PASS_REGULAR_EXPRESSION "${WEFT_LUA_SUMS_RE}"
  FAIL_REGULAR_EXPRESSION "error|Sanitizer|runtime error")

# The word count: the same top 20 and totals as examples/wordcount (the C
# demo), on the King James text the build makes (target kjv_text).
if(TARGET kjv_text)
  set(WEFT_LUA_KJV ${CMAKE_BINARY_DIR}/examples/kjv.txt)
  string(CONCAT wc_re "${WEFT_WORDCOUNT_RE}"
                      ".*done 33, failed 0, skipped 0, cancelled 0"
                      ".*wordcount.lua: done")
  add_test(NAME lua_example_wordcount
    COMMAND ${LUA_EXE} ${CMAKE_SOURCE_DIR}/examples/lua/wordcount.lua ${WEFT_LUA_KJV})
  set_tests_properties(lua_example_wordcount PROPERTIES
    ENVIRONMENT "${WEFT_LUA_TEST_ENV}"
    LABELS "lua;examples"
    TIMEOUT ${WEFT_LUA_TIMEOUT}
    REQUIRED_FILES ${WEFT_LUA_KJV}
    PASS_REGULAR_EXPRESSION "${wc_re}"
    FAIL_REGULAR_EXPRESSION "error|Sanitizer|runtime error")
  # 7 chunks on 3 workers: the same counts.
  string(REPLACE "done 33" "done 15" wc_re7 "${wc_re}")
  add_test(NAME lua_example_wordcount_7_chunks
    COMMAND ${LUA_EXE} ${CMAKE_SOURCE_DIR}/examples/lua/wordcount.lua -n 7 -t 3 ${WEFT_LUA_KJV})
  set_tests_properties(lua_example_wordcount_7_chunks PROPERTIES
    ENVIRONMENT "${WEFT_LUA_TEST_ENV}"
    LABELS "lua;examples"
    TIMEOUT ${WEFT_LUA_TIMEOUT}
    REQUIRED_FILES ${WEFT_LUA_KJV}
    PASS_REGULAR_EXPRESSION "${wc_re7}"
    FAIL_REGULAR_EXPRESSION "error|Sanitizer|runtime error")
else()
  message(STATUS "weft: no King James text (target kjv_text): the Lua word-count test is skipped")
endif()
