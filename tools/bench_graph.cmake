# bench_graph: weft's task graphs against oneTBB's flow graph and OpenMP
# task dependences (wavefront, chain, tree, random layered graph). Included
# by tools/CMakeLists.txt when WEFT_BUILD_BENCH is ON, before that file looks
# for oneTBB and OpenMP itself, so it looks for them here.

find_package(TBB REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)

add_executable(bench_graph ${CMAKE_CURRENT_LIST_DIR}/bench_graph.cpp)
target_compile_features(bench_graph PRIVATE cxx_std_17)
# tbbmalloc: bench_graph --in-process hands its cached memory back between runs
target_link_libraries(bench_graph PRIVATE weft weft_options TBB::tbb TBB::tbbmalloc
                      OpenMP::OpenMP_CXX)
if(WEFT_SANITIZE STREQUAL "address")
  # oneTBB 2021's flow graph casts a task to its derived type after running
  # its destructor (graph_task::destruct_and_deallocate in
  # detail/_flow_graph_impl.h), which UBSan's vptr check reports: that
  # code is TBB's, compiled into this program from TBB's headers.
  # (a source property, so that it comes after weft_options' -fsanitize)
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/bench_graph.cpp
    PROPERTIES COMPILE_OPTIONS -fno-sanitize=vptr)
endif()

# Smoke test: tiny graphs, every library, one and two threads; bench_graph
# exits nonzero when any node ran twice, not at all, or before one of its
# predecessors. oneTBB and libgomp are not built with ThreadSanitizer, which
# then reports their internal synchronisation as races: under
# WEFT_SANITIZE=thread only weft runs.
set(bench_graph_libs weft,tbb,omp)
if(WEFT_SANITIZE STREQUAL "thread")
  set(bench_graph_libs weft)
endif()
add_test(NAME bench_graph_smoke
  COMMAND bench_graph --threads 1,2 --reps 1 --wavefront 40 --chain 2000
          --tree-depth 11 --layers 10 --width 300 --libs ${bench_graph_libs})
set_tests_properties(bench_graph_smoke PROPERTIES
  TIMEOUT 300
  LABELS "bench"
  PASS_REGULAR_EXPRESSION "bench=wavefront n=1600 edges=3120 threads=1 .*bench=build graph=wavefront .*bench=chain n=2000 .*bench=tree n=2048 .*bench=layered n=3000 .*threads=2"
  FAIL_REGULAR_EXPRESSION "error:|Sanitizer|runtime error")
add_test(NAME bench_graph_help COMMAND bench_graph --help)
set_tests_properties(bench_graph_help PROPERTIES
  TIMEOUT 60
  LABELS "bench"
  PASS_REGULAR_EXPRESSION "usage: bench_graph.*--threads LIST.*--reps N")
