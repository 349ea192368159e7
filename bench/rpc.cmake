# gRPC API benchmark (bench_rpc.cpp): a real regtest node + RpcServer over TLS in-process,
# called by a C++ gRPC client; next to the node's own and the ledger's rates of the same
# transactions. Included from bench/CMakeLists.txt after wattline_bench_fixture:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/rpc.cmake)
add_executable(wattline-bench-rpc ${CMAKE_CURRENT_LIST_DIR}/bench_rpc.cpp)
target_link_libraries(wattline-bench-rpc PRIVATE wattline_bench_fixture wattline_rpc benchmark::benchmark)
