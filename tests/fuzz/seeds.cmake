# SPDX-License-Identifier: MIT
# The fuzz seed corpora, made with the project's encoders (fuzzseeds.h). Included by tests/ (the unit
# test that every seed decodes) and by tests/fuzz/ (the generator .ci/fuzz.sh runs before fuzzing).
if(NOT TARGET tf_fuzzseeds)
    add_library(tf_fuzzseeds STATIC ${CMAKE_CURRENT_LIST_DIR}/fuzzseeds.h ${CMAKE_CURRENT_LIST_DIR}/fuzzseeds.cpp)
    target_include_directories(tf_fuzzseeds PUBLIC ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(tf_fuzzseeds PUBLIC tf_core PRIVATE tf_options)
    add_executable(make_fuzz_seeds ${CMAKE_CURRENT_LIST_DIR}/make_fuzz_seeds.cpp)
    target_link_libraries(make_fuzz_seeds PRIVATE tf_fuzzseeds tf_options)
endif()
