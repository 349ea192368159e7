# Demand-response benchmark (issue 6). Included from bench/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/dr.cmake)
# Builds dr_bench, a table-printing binary: time to the certified optimum and peak memory for
# 100 / 10k / 1M (/ 10M) prosumers x 5 appliances x 24 slots. Run: build/release/bench/dr_bench
# (about a minute; --max-prosumers 1000000 for a shorter run).
if(TARGET wattline_meter)
  add_executable(dr_bench ${CMAKE_CURRENT_LIST_DIR}/dr_bench.cpp)
  target_link_libraries(dr_bench PRIVATE wattline_meter)
  wattline_warnings(dr_bench)
endif()
