# SPDX-License-Identifier: MIT
# taskfleet_add_plugin(): builds a Taskfleet task plugin against the installed SDK (public mirror of tf_add_plugin).

# taskfleet_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir] [INSTALL]):
# a Qt plugin target taskfleet_<NAME> whose file is libtaskfleet_<NAME>.so, linked to Taskfleet::sdk, with
# AUTOMOC on (Q_PLUGIN_METADATA needs moc). Add the metadata .json file to SOURCES so that edits rebuild it.
# INSTALL installs it into <prefix>/${CMAKE_INSTALL_LIBDIR}/taskfleet/plugins, where taskfleet finds plugins.
function(taskfleet_add_plugin name)
    cmake_parse_arguments(ARG "INSTALL" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "taskfleet_add_plugin(${name}): SOURCES is required")
    endif()
    set(target taskfleet_${name})
    qt_add_plugin(${target} SHARED CLASS_NAME ${name})
    target_sources(${target} PRIVATE ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE Taskfleet::sdk)
    target_compile_features(${target} PRIVATE cxx_std_17)
    set_target_properties(${target} PROPERTIES
        AUTOMOC ON
        OUTPUT_NAME taskfleet_${name}
        PREFIX "lib")
    if(ARG_OUTPUT_DIRECTORY)
        set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
    endif()
    if(ARG_INSTALL)
        include(GNUInstallDirs)
        install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/taskfleet/plugins)
    endif()
endfunction()
