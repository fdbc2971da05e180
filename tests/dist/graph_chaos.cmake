# Graphs on clusters under chaos (included by tests/dist/CMakeLists.txt):
# 10,000 graph nodes on 3 weftd processes on loopback with a node killed
# (kill -9, restarted) or frozen (SIGSTOP) every 1-2 s; results identical
# to a local run.
weft_add_check_test(NAME test_dist_graph_chaos SOURCES test_dist_graph_chaos.c TIMEOUT 600
  LABELS dist concurrency chaos)
target_compile_definitions(test_dist_graph_chaos PRIVATE WEFTD_PATH="$<TARGET_FILE:weftd>"
  _GNU_SOURCE PLUGIN_PATH="$<TARGET_FILE:weft_example_plugin>")
add_dependencies(test_dist_graph_chaos weftd weft_example_plugin)

# The same across network namespaces, a host's link taken down mid-run;
# skipped (77) where namespaces are not allowed.
add_test(NAME test_dist_netns_graph_chaos
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/netns/netns_graph_chaos.sh $<TARGET_FILE:weftd>
          $<TARGET_FILE:test_dist_graph_chaos> $<TARGET_FILE:weft_example_plugin>)
math(EXPR netns_graph_timeout "300 * ${WEFT_TEST_TIMEOUT_FACTOR}")
set_tests_properties(test_dist_netns_graph_chaos PROPERTIES TIMEOUT ${netns_graph_timeout}
  SKIP_RETURN_CODE 77 RUN_SERIAL TRUE LABELS "dist;netns;concurrency;chaos")
