# weft-dot: draws graph files (and run files) as dot, SVG or PNG.
# Included by tools/CMakeLists.txt.

add_executable(weft-dot ${CMAKE_CURRENT_SOURCE_DIR}/weft-dot.c ${CMAKE_CURRENT_SOURCE_DIR}/draw.c)
target_link_libraries(weft-dot PRIVATE weft weft_options)
install(TARGETS weft-dot RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(NOT BUILD_TESTING)
  return()
endif()

# Smoke tests on the files in tests/data. Exit codes are checked by running
# the tool under sh and printing "exit=N" after its output, since ctest's
# PASS_REGULAR_EXPRESSION otherwise ignores the exit code. (No ';' in the
# script: CMake would split the list there.)
set(weft_dot_data ${PROJECT_SOURCE_DIR}/tests/data)
set(weft_dot_sh sh -c "\"$0\" \"$@\" 2>&1 && echo exit=0 || echo \"exit=$?\"" $<TARGET_FILE:weft-dot>)

add_test(NAME weft_dot_help COMMAND weft-dot --help)
set_tests_properties(weft_dot_help PROPERTIES
  PASS_REGULAR_EXPRESSION "usage: weft-dot \\[options\\] GRAPH-FILE \\[RUN-FILE\\].*-T, --format.*Exit status.*Examples")

add_test(NAME weft_dot_graph COMMAND ${weft_dot_sh} ${weft_dot_data}/pipeline.wg)
set_tests_properties(weft_dot_graph PROPERTIES
  PASS_REGULAR_EXPRESSION "^digraph \"pipeline\" {.*n2 \\[label=\"count words\".*n5 \\[label=\"report\".*n0 -> n1;.*n4 -> n5;\n}\nexit=0\n$")

add_test(NAME weft_dot_run COMMAND ${weft_dot_sh} -T dot ${weft_dot_data}/pipeline.wg ${weft_dot_data}/pipeline.run)
set_tests_properties(weft_dot_run PROPERTIES
  PASS_REGULAR_EXPRESSION "3 done, 1 failed, 2 skipped of 6 in 12.5 ms.*label=\"count bytes\\\\n2.1 ms, w0\\\\nreturned 3\".*fillcolor=\"#ef9a9a\".*exit=0")

# Nested subgraphs (a shared one used twice): clusters inside clusters.
add_test(NAME weft_dot_nested COMMAND ${weft_dot_sh} ${weft_dot_data}/nested.wg)
set_tests_properties(weft_dot_nested PROPERTIES
  PASS_REGULAR_EXPRESSION "^digraph \"release\" {.*\n    subgraph \"cluster_n1_0\" {.*label=\"compile sources\\\\n\\(graph compile\\)\".*n1_0_0 \\[label=\"parse\".*\n    subgraph \"cluster_n2_2\" {.*n2_2_1 \\[label=\"lint\".*\n}\nexit=0\n$")

# A run of it (tests/data/nested.run) with sub-runs: the nodes inside the
# clusters take their colours from the 'subrun' blocks; the failure deep
# inside x86 is red, the clusters of x86 pale red, arm's inner nodes (its
# node was skipped: no sub-run) plain. ('.' stands for ';' in the regex.)
add_test(NAME weft_dot_nested_run COMMAND ${weft_dot_sh} ${weft_dot_data}/nested.wg ${weft_dot_data}/nested.run)
set_tests_properties(weft_dot_nested_run PROPERTIES
  PASS_REGULAR_EXPRESSION "1 done, 1 failed, 2 skipped of 4 in 31.0 ms.*\n  subgraph \"cluster_n1\" {\n    label=\"x86\\\\n\\(graph target\\)\\\\n27.9 ms, w1\\\\nreturned -5\".\n    style=\"rounded,filled\". fillcolor=\"#ffebee\".*n1_0_1 \\[label=\"codegen\\\\n10.7 ms, w1\", [^\n]*fillcolor=\"#a5d6a7\".*n1_2_1 \\[label=\"lint\\\\n3.0 ms, w1\\\\nreturned 1\", tooltip=\"task lint, failed\", fillcolor=\"#ef9a9a\".*n2_2_1 \\[label=\"lint\", tooltip=\"task lint\"\\]..*exit=0\n$")

add_test(NAME weft_dot_bad_graph COMMAND ${weft_dot_sh} ${weft_dot_data}/bad_edge.wg)
set_tests_properties(weft_dot_bad_graph PROPERTIES
  PASS_REGULAR_EXPRESSION "bad_edge.wg: line 6: edge to unknown node 'merge'\nexit=1")

add_test(NAME weft_dot_bad_run COMMAND ${weft_dot_sh} ${weft_dot_data}/pipeline.wg ${weft_dot_data}/bad_node.run)
set_tests_properties(weft_dot_bad_run PROPERTIES
  PASS_REGULAR_EXPRESSION "bad_node.run: line 5: node 1 is called 'split' in the graph, not 'spilt'\nexit=1")

add_test(NAME weft_dot_usage COMMAND ${weft_dot_sh} -T gif ${weft_dot_data}/pipeline.wg)
set_tests_properties(weft_dot_usage PROPERTIES
  PASS_REGULAR_EXPRESSION "unknown format 'gif'.*exit=2")

add_test(NAME weft_dot_no_graphviz
  COMMAND ${weft_dot_sh} --dot-program ${CMAKE_CURRENT_BINARY_DIR}/no-such-dot -T svg ${weft_dot_data}/pipeline.wg)
set_tests_properties(weft_dot_no_graphviz PROPERTIES
  PASS_REGULAR_EXPRESSION "cannot run graphviz's.*no-such-dot.*exit=3")

find_program(WEFT_GRAPHVIZ_DOT dot)
if(WEFT_GRAPHVIZ_DOT)
  add_test(NAME weft_dot_svg
    COMMAND ${weft_dot_sh} --dot-program ${WEFT_GRAPHVIZ_DOT} -T svg
            ${weft_dot_data}/pipeline.wg ${weft_dot_data}/pipeline.run)
  set_tests_properties(weft_dot_svg PROPERTIES
    PASS_REGULAR_EXPRESSION "<svg .*<title>pipeline</title>.*count words.*</svg>\nexit=0")
  add_test(NAME weft_dot_nested_svg
    COMMAND ${weft_dot_sh} --dot-program ${WEFT_GRAPHVIZ_DOT} -T svg ${weft_dot_data}/nested.wg)
  set_tests_properties(weft_dot_nested_svg PROPERTIES
    PASS_REGULAR_EXPRESSION "<svg .*<title>cluster_n1_0</title>.*<title>cluster_n2_2</title>.*</svg>\nexit=0")
endif()

set_tests_properties(weft_dot_help weft_dot_graph weft_dot_run weft_dot_nested weft_dot_nested_run
  weft_dot_bad_graph weft_dot_bad_run weft_dot_usage weft_dot_no_graphviz PROPERTIES LABELS "unit" TIMEOUT 60)
if(WEFT_GRAPHVIZ_DOT)
  set_tests_properties(weft_dot_svg weft_dot_nested_svg PROPERTIES LABELS "unit" TIMEOUT 60)
endif()
