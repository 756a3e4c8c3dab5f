# SPDX-License-Identifier: MIT
# Shared compile options, and the helpers that register plugins and tests.

add_library(tf_options INTERFACE)
target_compile_features(tf_options INTERFACE cxx_std_17)
target_compile_definitions(tf_options INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_URL_CAST_FROM_STRING
    QT_NO_CAST_FROM_BYTEARRAY
    QT_NO_CONTEXTLESS_CONNECT
    QT_NO_FOREACH
    QT_USE_QSTRINGBUILDER
)
target_compile_options(tf_options INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter
    # clang's -Wpedantic flags Qt's own logging macros (qCWarning(cat) with no further arguments).
    $<$<CXX_COMPILER_ID:Clang>:-Wno-gnu-zero-variadic-macro-arguments>)
if(TASKFLEET_BUILD_FUZZ)
    # Coverage instrumentation for everything the fuzz targets link; the targets add the fuzzer main.
    target_compile_options(tf_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(TASKFLEET_SANITIZE)
    # float-cast-overflow: GCC leaves it out of "undefined", and a double from a peer cast to an
    # integer is exactly what must be caught (QCborValue::toInteger() does such a cast).
    target_compile_options(tf_options INTERFACE -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined,float-cast-overflow)
    target_link_options(tf_options INTERFACE -fsanitize=address,undefined)
endif()

# tf_add_plugin(NAME SOURCES ...): a task plugin built as a Qt plugin into build/plugins.
function(tf_add_plugin name)
    cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
    qt_add_plugin(tf_plugin_${name} SHARED CLASS_NAME ${name})
    target_sources(tf_plugin_${name} PRIVATE ${ARG_SOURCES})
    target_link_libraries(tf_plugin_${name} PRIVATE tf_sdk tf_options)
    set_target_properties(tf_plugin_${name} PROPERTIES
        OUTPUT_NAME taskfleet_${name}
        PREFIX "lib"
        LIBRARY_OUTPUT_DIRECTORY ${TASKFLEET_PLUGIN_OUTPUT_DIR})
    if(TASKFLEET_SPLIT_PLUGIN_DEBUG AND CMAKE_OBJCOPY) # plugins/CMakeLists.txt says why
        add_custom_command(TARGET tf_plugin_${name} POST_BUILD
            COMMAND ${CMAKE_OBJCOPY} --only-keep-debug $<TARGET_FILE:tf_plugin_${name}>
                    $<TARGET_FILE:tf_plugin_${name}>.debug
            COMMAND ${CMAKE_OBJCOPY} --strip-debug --add-gnu-debuglink=$<TARGET_FILE:tf_plugin_${name}>.debug
                    $<TARGET_FILE:tf_plugin_${name}>
            VERBATIM)
    endif()
    install(TARGETS tf_plugin_${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/taskfleet/plugins)
endfunction()

# tf_add_test(NAME SOURCES ... [LIBS ...] [LABELS ...] [TIMEOUT s] [SERIAL]): one Qt Test executable, one ctest
# entry. CI runs ctest with -j (the suites mostly wait on processes and sockets); SERIAL runs a suite alone,
# for one that asserts wall-clock times another suite's load could stretch.
function(tf_add_test name)
    cmake_parse_arguments(ARG "GUI;SERIAL" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(tst_${name} ${ARG_SOURCES})
    target_link_libraries(tst_${name} PRIVATE tf_testsupport tf_options ${ARG_LIBS})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    if(NOT ARG_LABELS)
        set(ARG_LABELS unit)
    endif()
    add_test(NAME ${name} COMMAND tst_${name})
    set_tests_properties(${name} PROPERTIES
        TIMEOUT ${ARG_TIMEOUT}
        LABELS "${ARG_LABELS}"
        # A suite that skips in initTestCase (for example: no network namespaces) ran nothing: report it as
        # skipped, not passed. A skip of one function among others still counts as a pass.
        SKIP_REGULAR_EXPRESSION "SKIP   : [A-Za-z_0-9]+::initTestCase\\(\\)"
        ENVIRONMENT "QT_QPA_PLATFORM=offscreen;TASKFLEET_PLUGIN_PATH=${TASKFLEET_PLUGIN_OUTPUT_DIR};ASAN_OPTIONS=detect_leaks=0")
    if(ARG_SERIAL)
        set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
    endif()
endfunction()
