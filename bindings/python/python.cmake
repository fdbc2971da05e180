# Python binding: the package `weft` (pure Python, weft/__init__.py) around
# the extension module weft._core, built by SWIG from weft.i (module
# weft.core: the proxy core.py plus _core*.so) and the C of this folder.
#
# Build tree: ${CMAKE_BINARY_DIR}/bindings/python/weft/ holds __init__.py,
# core.py and _core<SOABI>.so, so that
#   PYTHONPATH=<build>/bindings/python python3 -c "import weft"
# works without installing.
#
# Install: the package goes to ${CMAKE_INSTALL_PREFIX}/${WEFT_PYTHON_INSTALL_DIR}
# (default lib/pythonX.Y/site-packages, the layout of a CPython installed
# in that prefix), or, with -DWEFT_PYTHON_INSTALL_SITEARCH=ON, straight into
# the site-packages of the interpreter CMake found (Python3_SITEARCH,
# whatever the prefix).
#
# Included by bindings/CMakeLists.txt when WEFT_BUILD_PYTHON is ON.

set(WEFT_PY_SRC ${CMAKE_CURRENT_SOURCE_DIR}/python)
set(WEFT_PY_ROOT ${CMAKE_BINARY_DIR}/bindings/python)   # goes on PYTHONPATH
set(WEFT_PY_PKG ${WEFT_PY_ROOT}/weft)                    # the package

if(NOT Python3_Development.Module_FOUND)
  message(STATUS "weft: Python headers not found (python3-dev): no Python binding")
  return()
endif()

# SWIG reads weft.i through weft_core.i (see there); its properties:
set(weft_py_i ${WEFT_PY_SRC}/weft_core.i)
set_property(SOURCE ${weft_py_i} PROPERTY SWIG_MODULE_NAME core)
set_property(SOURCE ${weft_py_i} PROPERTY USE_TARGET_INCLUDE_DIRECTORIES TRUE)
# regenerate the wrapper when any interface file or the header it includes changes
# (weft.i expands WEFT_ERRNO_MAP from weft/common.h: a new code regenerates it)
set(SWIG_MODULE_weft_python_EXTRA_DEPS
  ${CMAKE_CURRENT_SOURCE_DIR}/weft.i ${WEFT_PY_SRC}/weft_python.i ${WEFT_PY_SRC}/wpy.h
  ${CMAKE_CURRENT_SOURCE_DIR}/weft_stats.h ${CMAKE_SOURCE_DIR}/runtime/include/weft/common.h)

swig_add_library(weft_python
  TYPE MODULE
  LANGUAGE python
  OUTPUT_DIR ${WEFT_PY_PKG}                          # core.py
  OUTFILE_DIR ${CMAKE_CURRENT_BINARY_DIR}/python     # the generated wrapper .c
  SOURCES ${weft_py_i} ${WEFT_PY_SRC}/wpy_common.c ${WEFT_PY_SRC}/wpy_jobs.c
          ${WEFT_PY_SRC}/wpy_graph.c ${WEFT_PY_SRC}/wpy_module.c ${WEFT_PY_SRC}/wpy_procs.c
          ${WEFT_PY_SRC}/wpy_gnode.c
          ${WEFT_PY_SRC}/wpy.h)

if(Python3_SOABI)
  set(weft_py_suffix ".${Python3_SOABI}.so")
else()
  set(weft_py_suffix ".so")
endif()
set_target_properties(weft_python PROPERTIES
  OUTPUT_NAME core                     # PREFIX "_" comes from UseSWIG: _core
  SUFFIX "${weft_py_suffix}"
  LIBRARY_OUTPUT_DIRECTORY ${WEFT_PY_PKG}
  SWIG_USE_TARGET_INCLUDE_DIRECTORIES TRUE
  C_VISIBILITY_PRESET hidden)
target_include_directories(weft_python PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${WEFT_PY_SRC})
target_link_libraries(weft_python PRIVATE weft weft_options Python3::Module Threads::Threads)
# SWIG's generated wrapper is not written to the project's warning rules
# (missing prototypes, unused parameters, casts between function types):
# relax them on that one file; our own C keeps -Wall -Wextra (-Werror).
set_property(TARGET weft_python PROPERTY SWIG_GENERATED_COMPILE_OPTIONS
  -Wno-missing-prototypes -Wno-strict-prototypes -Wno-unused-parameter -Wno-shadow
  -Wno-cast-function-type -Wno-missing-field-initializers -Wno-unused-function
  -Wno-error)

# The pure-Python part, copied next to the module (re-copied when edited):
# every module of the package (a new file is picked up at the next build).
file(GLOB weft_py_files CONFIGURE_DEPENDS RELATIVE ${WEFT_PY_SRC}/weft ${WEFT_PY_SRC}/weft/*.py)
foreach(f ${weft_py_files})
  configure_file(${WEFT_PY_SRC}/weft/${f} ${WEFT_PY_PKG}/${f} COPYONLY)
endforeach()

# ---- install ----
option(WEFT_PYTHON_INSTALL_SITEARCH
  "Install the Python package into the found interpreter's site-packages" OFF)
set(WEFT_PYTHON_INSTALL_DIR
  "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/site-packages"
  CACHE STRING "Where the Python package goes, relative to CMAKE_INSTALL_PREFIX")
if(WEFT_PYTHON_INSTALL_SITEARCH)
  set(weft_py_dest ${Python3_SITEARCH}/weft)
else()
  set(weft_py_dest ${WEFT_PYTHON_INSTALL_DIR}/weft)
endif()
# The installed module finds libweft relative to itself ($ORIGIN), so the
# prefix can still be chosen at install time (cmake --install --prefix).
if(IS_ABSOLUTE "${weft_py_dest}")
  set(weft_py_rpath "${CMAKE_INSTALL_FULL_LIBDIR}")
else()
  file(RELATIVE_PATH weft_py_rel "/p/${weft_py_dest}" "/p/${CMAKE_INSTALL_LIBDIR}")
  set(weft_py_rpath "$ORIGIN/${weft_py_rel}")
endif()
set_target_properties(weft_python PROPERTIES INSTALL_RPATH "${weft_py_rpath}")
install(TARGETS weft_python LIBRARY DESTINATION ${weft_py_dest})
install(FILES ${WEFT_PY_PKG}/core.py DESTINATION ${weft_py_dest})
foreach(f ${weft_py_files})
  install(FILES ${WEFT_PY_SRC}/weft/${f} DESTINATION ${weft_py_dest})
endforeach()

# ---- tests ----
if(NOT (BUILD_TESTING AND WEFT_BUILD_TESTS))
  return()
endif()

# Environment of every Python test and example. Under AddressSanitizer the
# interpreter itself is not instrumented, so the ASan runtime is preloaded;
# CPython frees little at exit by design, so leak checking is off.
set(weft_py_env "PYTHONPATH=${WEFT_PY_ROOT}" "PYTHONDONTWRITEBYTECODE=1")
set(weft_py_skip "")
if(WEFT_SANITIZE STREQUAL "address")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
    OUTPUT_VARIABLE weft_libasan OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND weft_py_env "LD_PRELOAD=${weft_libasan}"
    "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
    "WEFT_TEST_SCALE=0.1" "WEFT_TEST_SANITIZER=address")
elseif(WEFT_SANITIZE STREQUAL "thread")
  # An uninstrumented interpreter under TSan reports its own GIL hand-offs.
  set(weft_py_skip "ThreadSanitizer build")
endif()

if(weft_py_skip)
  message(STATUS "weft: Python tests are skipped in this build (${weft_py_skip})")
  return()
endif()

# One ctest per test file (tests/python/test_*.py), each run by unittest.
file(GLOB weft_py_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/python/test_*.py)
foreach(t ${weft_py_tests})
  get_filename_component(tname ${t} NAME_WE)
  add_test(NAME python_${tname}
    COMMAND ${Python3_EXECUTABLE} -m unittest -v ${tname}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/python)
  set_tests_properties(python_${tname} PROPERTIES
    ENVIRONMENT "${weft_py_env};WEFT_WEFTD=$<TARGET_FILE:weftd>" LABELS "python" TIMEOUT 600)
endforeach()

# The process runtime once more under the system's own Python (Debian's
# /usr/bin/python3) when it is another interpreter with the same ABI as
# the one the module was built for: workers start with sys.executable.
set(weft_sys_py /usr/bin/python3)
if(EXISTS ${weft_sys_py} AND Python3_SOABI)
  execute_process(COMMAND ${weft_sys_py} -c
    "import sys, sysconfig; print(sysconfig.get_config_var('SOABI'), sys.executable)"
    OUTPUT_VARIABLE weft_sys_py_out OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  separate_arguments(weft_sys_py_out)
  list(LENGTH weft_sys_py_out weft_sys_py_n)
  if(weft_sys_py_n EQUAL 2)
    list(GET weft_sys_py_out 0 weft_sys_soabi)
    list(GET weft_sys_py_out 1 weft_sys_exe)
    get_filename_component(weft_sys_real ${weft_sys_exe} REALPATH)
    get_filename_component(weft_found_real ${Python3_EXECUTABLE} REALPATH)
    if(weft_sys_soabi STREQUAL Python3_SOABI AND NOT weft_sys_real STREQUAL weft_found_real)
      add_test(NAME python_test_processes_system_python
        COMMAND ${weft_sys_py} -m unittest -v test_processes
        WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/python)
      set_tests_properties(python_test_processes_system_python PROPERTIES
        ENVIRONMENT "${weft_py_env};WEFT_WEFTD=$<TARGET_FILE:weftd>" LABELS "python"
        TIMEOUT 600)
    endif()
  endif()
endif()

# The examples, checked by their output.
set(weft_py_sums
  "${WEFT_PRIME_SUMS_RE}"
  ".*Total of the sums \\(callback\\): 3657632172\n"
  ".*weft job statistics: .*jobs submitted: 8, failed: 0"
  ".*sum_primes.py: done")
string(CONCAT weft_py_sums ${weft_py_sums})
add_test(NAME python_example_sum_primes
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/examples/python/sum_primes.py)
add_test(NAME python_example_sum_primes_3_workers
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/examples/python/sum_primes.py 3)
add_test(NAME python_example_sum_primes_processes
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/examples/python/sum_primes.py --processes 2)
set_tests_properties(python_example_sum_primes_processes PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;examples" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "${weft_py_sums}"
  FAIL_REGULAR_EXPRESSION "Traceback|error:|Sanitizer|runtime error")
set_tests_properties(python_example_sum_primes python_example_sum_primes_3_workers PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;examples" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "${weft_py_sums}"
  FAIL_REGULAR_EXPRESSION "Traceback|error:|Sanitizer|runtime error")

# reverse_md5: the secret lies in the 3rd of 64 parts; as_completed sees
# it found and the parts not started yet are cancelled, which the last
# line's count shows (at least one; most of them on 1 or 2 workers).
add_test(NAME python_example_reverse_md5
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/examples/python/reverse_md5.py 2 123456 3200000 64)
set_tests_properties(python_example_reverse_md5 PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;examples" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "Reverse md5 of e10adc3949ba59abbe56e057f20f883e: 123456\nparts: 64, run: [0-9]+, cancelled: [1-9][0-9]*\n.*jobs cancelled: [1-9][0-9]*, .*reverse_md5.py: done"
  FAIL_REGULAR_EXPRESSION "Traceback|Sanitizer|runtime error")

set(weft_py_pipe_out ${CMAKE_CURRENT_BINARY_DIR}/pipeline_test)
add_test(NAME python_example_pipeline
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/examples/python/pipeline.py -o ${weft_py_pipe_out})
set_tests_properties(python_example_pipeline PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;examples" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "sum of primes below 100000 \\(C task\\): 454396537\n.*checked: 6 nodes done, 0 failed\n.*pipeline.py: done"
  FAIL_REGULAR_EXPRESSION "Traceback|Sanitizer|runtime error")

# weft.pp's benchmark (tools/bench_python_pp.py) at a small size: it checks
# that serial, weft processes and multiprocessing.Pool agree (the figures
# need the full size: see bindings/python/README.md). tests/python/test_pp.py
# and test_code.py are registered by the glob above.
add_test(NAME python_bench_pp_smoke
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench_python_pp.py --quick --reps 1)
set_tests_properties(python_bench_pp_smoke PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "ppft=[a-z_]+\n.*bench=pp_sum_primes jobs=8 serial_s=[0-9.]+ weft_s=[0-9.]+ pool_s=[0-9.]+ serial_weft=[0-9.]+ pool_weft=[0-9.]+ total=49015975\ncpu=pp_sum_primes [^\n]*\nbench=pp_callback jobs=16 n=200000 .* sum=0.693149680566"
  FAIL_REGULAR_EXPRESSION "Traceback")

# The benchmark's own check at a small size (the figures need a Release
# build and the full size: see bindings/python/README.md).
add_test(NAME python_bench_smoke
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench_python.py --n 2000 --reps 1 --threads 2)
set_tests_properties(python_bench_smoke PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "bench=python_tiny n=2000 threads=2 weft_s=[0-9.]+ tpe_s=[0-9.]+ tpe_weft=[0-9.]+")

# The process benchmark's own check at a small size (every result is
# summed and compared there).
add_test(NAME python_bench_procs_smoke
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench_python_procs.py --n 2000 --reps 1
          --spin 20000 --spin-tasks 2 --weftd $<TARGET_FILE:weftd>)
set_tests_properties(python_bench_procs_smoke PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;bench" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "bench=py_procs_ratio n=2000 procs=2 weft_vs_pool=[0-9.]+ weft_vs_executor=[0-9.]+\nbench=py_procs_nodes n=2000 nodes=2 reps=1 weft_nodes_s=[0-9.]+ weft_nodes_tasks_per_s=[0-9]+\nbench=py_procs_spin"
  FAIL_REGULAR_EXPRESSION "error:|Traceback")

# Graph nodes on threads, in processes and on weftd nodes
# (tools/bench_python_graph_remote.py) at a small size: the three places'
# results must agree (it exits nonzero otherwise).
add_test(NAME python_bench_graph_remote_smoke
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench_python_graph_remote.py --n 6
          --wide 2 --spin 20000 --reps 1 --weftd $<TARGET_FILE:weftd>)
set_tests_properties(python_bench_graph_remote_smoke PROPERTIES
  ENVIRONMENT "${weft_py_env}" LABELS "python;bench" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "on=threads .*\nbench=py_graph_remote on=processes .*\nbench=py_graph_remote on=nodes workers=2 wavefront=6x6 nodes_per_s=[0-9]+ wide=2"
  FAIL_REGULAR_EXPRESSION "error:|Traceback")
