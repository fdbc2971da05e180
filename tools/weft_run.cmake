# weft-run: runs graph files. Included by tools/CMakeLists.txt.

add_executable(weft-run ${CMAKE_CURRENT_SOURCE_DIR}/weft-run.c ${CMAKE_CURRENT_SOURCE_DIR}/draw.c)
target_link_libraries(weft-run PRIVATE weft weft_options)
install(TARGETS weft-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The ssh launcher (dist/LAUNCH.md).
install(PROGRAMS ${CMAKE_CURRENT_SOURCE_DIR}/weft-launch-ssh DESTINATION ${CMAKE_INSTALL_BINDIR})

if(NOT BUILD_TESTING)
  return()
endif()

# The tests' plugin, and one whose init fails.
set(tools_tests ${PROJECT_SOURCE_DIR}/tests/tools)
add_library(weft_test_plugin MODULE ${tools_tests}/test_plugin.c)
target_link_libraries(weft_test_plugin PRIVATE weft weft_options)
add_library(weft_test_plugin_bad MODULE ${tools_tests}/test_plugin.c)
target_compile_definitions(weft_test_plugin_bad PRIVATE TEST_PLUGIN_BAD_INIT)
target_link_libraries(weft_test_plugin_bad PRIVATE weft weft_options)

# Exit codes are checked as weft-dot's tests do: "exit=N" after the output.
set(weft_run_sh sh -c "\"$0\" \"$@\" 2>&1 && echo exit=0 || echo \"exit=$?\"" $<TARGET_FILE:weft-run>)
set(plugin $<TARGET_FILE:weft_test_plugin>)

add_test(NAME weft_run_help COMMAND weft-run --help)
set_tests_properties(weft_run_help PROPERTIES
  PASS_REGULAR_EXPRESSION "usage: weft-run \\[options\\] GRAPH-FILE.*-l, --load PLUGIN.*--run-out FILE.*--trace FILE.*--dot FILE.*Exit status.*4  system failure")

add_test(NAME weft_run_ok COMMAND ${weft_run_sh} -q -w 2 -l ${plugin} ${tools_tests}/ok.wg)
set_tests_properties(weft_run_ok PROPERTIES PASS_REGULAR_EXPRESSION "^exit=0\n$")

add_test(NAME weft_run_summary COMMAND ${weft_run_sh} -w 1 -l ${plugin} ${tools_tests}/fail.wg)
set_tests_properties(weft_run_summary PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: breaks: 2 done, 1 failed, 1 skipped, 0 cancelled of 4 nodes in [0-9.]+ s. first failure: node 'broken' returned 3 \\(unknown error\\)\nexit=1\n$")

add_test(NAME weft_run_unregistered COMMAND ${weft_run_sh} -q ${tools_tests}/unknown.wg)
set_tests_properties(weft_run_unregistered PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: .*unknown.wg: node 'b': task 'no.such.task' is not registered\nexit=3\n$")

add_test(NAME weft_run_bad_plugin COMMAND ${weft_run_sh} -l ${CMAKE_CURRENT_BINARY_DIR}/no-such-plugin.so ${tools_tests}/ok.wg)
set_tests_properties(weft_run_bad_plugin PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: plugin '[^']*no-such-plugin.so': cannot load: [^\n]*No such file or directory\nexit=3\n$")

add_test(NAME weft_run_failing_plugin COMMAND ${weft_run_sh} -l $<TARGET_FILE:weft_test_plugin_bad> ${tools_tests}/ok.wg)
set_tests_properties(weft_run_failing_plugin PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: plugin '[^']*': weft_plugin_init returned -2 \\(out of memory\\)\nexit=3\n$")

add_test(NAME weft_run_no_init COMMAND ${weft_run_sh} -l $<TARGET_FILE:weft> ${tools_tests}/ok.wg)
set_tests_properties(weft_run_no_init PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: plugin '[^']*' has no function weft_plugin_init\nexit=3\n$")

add_test(NAME weft_run_bad_graph COMMAND ${weft_run_sh} ${PROJECT_SOURCE_DIR}/tests/data/bad_edge.wg)
set_tests_properties(weft_run_bad_graph PROPERTIES
  PASS_REGULAR_EXPRESSION "^weft-run: [^\n]*bad_edge.wg: line 6: edge to unknown node 'merge'\nexit=3\n$")

add_test(NAME weft_run_usage COMMAND ${weft_run_sh} -w many ${tools_tests}/ok.wg)
set_tests_properties(weft_run_usage PROPERTIES
  PASS_REGULAR_EXPRESSION "--workers takes 0\\.\\.[0-9]+, not 'many'.*exit=2")

# Outputs: run file, trace and dot of one run, checked by a script (exact
# statuses and results, weft-dot reads the run file back).
add_test(NAME weft_run_outputs
  COMMAND bash ${tools_tests}/weft_run_outputs.sh $<TARGET_FILE:weft-run> $<TARGET_FILE:weft-dot>
          ${plugin} ${tools_tests} ${CMAKE_CURRENT_BINARY_DIR}/weft-run-outputs)
set_tests_properties(weft_run_outputs PROPERTIES PASS_REGULAR_EXPRESSION "weft-run outputs: 9 passed, 0 failed")

set_tests_properties(weft_run_help weft_run_ok weft_run_summary weft_run_unregistered
  weft_run_bad_plugin weft_run_failing_plugin weft_run_no_init weft_run_bad_graph weft_run_usage
  weft_run_outputs PROPERTIES LABELS "unit" TIMEOUT 60)

# weftd --slurm's parsers (dist/slurm.c): hostlists, tasks per node and
# step layouts, exact expansions and messages; no Slurm needed.
add_executable(test_slurm ${tools_tests}/test_slurm.c ${PROJECT_SOURCE_DIR}/dist/slurm.c)
target_include_directories(test_slurm PRIVATE ${PROJECT_SOURCE_DIR}/dist)
target_link_libraries(test_slurm PRIVATE weft weft_options)
add_test(NAME test_slurm COMMAND test_slurm)
set_tests_properties(test_slurm PROPERTIES LABELS "unit" TIMEOUT 60
  PASS_REGULAR_EXPRESSION "test_slurm: [0-9]+ passed, 0 failed")

# Cluster runs: weft-run against weftd processes on loopback (key file made
# by the test, mode 0600; the nodes load the test plugin, weft-run does
# not), exit codes and messages, weftd --slurm with Slurm's variables set
# by the test (a rank started 2 s after the client joins), discovery.
add_test(NAME weft_run_cluster
  COMMAND bash ${tools_tests}/weft_run_cluster.sh $<TARGET_FILE:weft-run> $<TARGET_FILE:weftd>
          ${plugin} ${tools_tests} ${CMAKE_CURRENT_BINARY_DIR}/weft-run-cluster)
set_tests_properties(weft_run_cluster PROPERTIES LABELS "unit;dist" TIMEOUT 120
  PASS_REGULAR_EXPRESSION "weft-run cluster: [0-9]+ passed, 0 failed")

# tools/weft-launch-ssh with a fake ssh on PATH that runs the remote
# command here: launch two weftd "hosts" on loopback, run a graph on them,
# stop them; key copy, failing hosts, usage errors.
add_test(NAME weft_launch_ssh
  COMMAND bash ${tools_tests}/weft_launch_ssh.sh ${CMAKE_CURRENT_SOURCE_DIR}/weft-launch-ssh
          $<TARGET_FILE:weft-run> $<TARGET_FILE:weftd> ${plugin} ${tools_tests}
          ${CMAKE_CURRENT_BINARY_DIR}/weft-launch-ssh)
set_tests_properties(weft_launch_ssh PROPERTIES LABELS "unit;dist" TIMEOUT 120
  PASS_REGULAR_EXPRESSION "weft-launch-ssh: [0-9]+ passed, 0 failed")

# The help documents the cluster options, weftd's the Slurm ones.
add_test(NAME weft_run_help_cluster COMMAND weft-run --help)
set_tests_properties(weft_run_help_cluster PROPERTIES LABELS "unit" TIMEOUT 60
  PASS_REGULAR_EXPRESSION "-n, --nodes LIST.*\\$WEFT_NODES.*--discover ADDR:PORT.*-k, --key-file PATH.*--min-nodes N.*--wait SECONDS.*--local-workers N.*--max-losses N.*--local .*the cluster did not come up")
add_test(NAME weftd_help_slurm COMMAND weftd --help)
set_tests_properties(weftd_help_slurm PROPERTIES LABELS "unit" TIMEOUT 60
  PASS_REGULAR_EXPRESSION "--slurm \\[-- COMMAND ARGS...\\].*SLURM_PROCID.*SLURM_STEP_NODELIST.*WEFT_NODES.*--slurm-linger S")

# The demo's cluster run (tools/demo_cluster.sh, from tools/setup.sh demo):
# the word count on two weftd on loopback, one killed mid-run, the same
# counts as the local run. Needs the examples and the King James text.
if(TARGET wordcount AND TARGET kjv_text)
  set(demo_out ${CMAKE_CURRENT_BINARY_DIR}/demo-cluster)
  add_test(NAME example_wordcount_cluster
    COMMAND bash -c "rm -rf \"$1\" && \"$2\" \"$3\" \"$1\"" bash ${demo_out}
            ${CMAKE_CURRENT_SOURCE_DIR}/demo_cluster.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(example_wordcount_cluster PROPERTIES LABELS "examples;dist" TIMEOUT 120
    PASS_REGULAR_EXPRESSION "== the counts of the cluster run are identical to the local run's\n== Retries: [1-9][0-9]* of the 127 nodes")
endif()
