# SPDX-License-Identifier: MIT
# The Debian package (CPack) and the man pages.
#
#   cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
#         -DTASKFLEET_BUILD_TESTS=OFF -DTASKFLEET_BUILD_BENCH=OFF
#   cmake --build build-deb
#   cd build-deb && cpack -G DEB          # -> taskfleet_<version>_amd64.deb
#
# The package installs below /usr, so configure with -DCMAKE_INSTALL_PREFIX=/usr: GNUInstallDirs
# then puts the plugins in /usr/lib/<multiarch>/taskfleet/plugins, which the installed programs
# search (core/exec/pluginregistry.cpp: ../lib/<multiarch>/taskfleet/plugins beside the program),
# and the systemd unit in /usr/lib/systemd/system, whose ExecStart= is /usr/bin/taskfleet-agent.
# The maintainer scripts in resources/debian/ create the `taskfleet` system user and start nothing.

# ---- man pages: one per program, made from its --help by help2man --------------------------
# They run each program at build time, so not in a sanitizer build (a leak report at exit would
# fail the build) and not when switched off with -DTASKFLEET_BUILD_MAN=OFF.
option(TASKFLEET_BUILD_MAN "Build man pages from each program's --help (needs help2man)" ON)
find_program(TASKFLEET_HELP2MAN help2man)
find_program(TASKFLEET_GZIP gzip)
if(NOT TASKFLEET_BUILD_MAN OR TASKFLEET_SANITIZE)
    message(STATUS "Man pages: off (TASKFLEET_BUILD_MAN=${TASKFLEET_BUILD_MAN}, TASKFLEET_SANITIZE=${TASKFLEET_SANITIZE})")
elseif(TASKFLEET_HELP2MAN AND TASKFLEET_GZIP)
    set(tf_man_programs
        "taskfleet-run|run Taskfleet job files without a window"
        "taskfleet-agent|the Taskfleet node agent: runs tasks for Taskfleet controllers"
        "taskfleet-worker|the worker process that runs Taskfleet task plugins")
    if(TASKFLEET_BUILD_GUI)
        list(APPEND tf_man_programs "taskfleet|the Taskfleet desktop app: run many small computations in parallel")
    endif()
    set(tf_man_dir ${PROJECT_BINARY_DIR}/man)
    set(tf_man_files)
    foreach(entry IN LISTS tf_man_programs)
        string(REPLACE "|" ";" entry "${entry}")
        list(GET entry 0 prog)
        list(GET entry 1 summary)
        # The program is run by its bare name from PATH, so its usage line says "taskfleet-run",
        # not the build folder. The version comes from CMake: taskfleet-worker has no --version.
        # QT_QPA_PLATFORM=offscreen: the desktop app prints its help without a display.
        add_custom_command(
            OUTPUT ${tf_man_dir}/${prog}.1.gz
            COMMAND ${CMAKE_COMMAND} -E make_directory ${tf_man_dir}
            COMMAND ${CMAKE_COMMAND} -E env
                    "PATH=$<TARGET_FILE_DIR:${prog}>:$ENV{PATH}" QT_QPA_PLATFORM=offscreen
                    XDG_RUNTIME_DIR=${tf_man_dir}/runtime
                    ${TASKFLEET_HELP2MAN} --no-info --version-string=${PROJECT_VERSION}
                    --section=1 --source=Taskfleet "--name=${summary}"
                    --output=${tf_man_dir}/${prog}.1 ${prog}
            COMMAND ${TASKFLEET_GZIP} -9nf ${tf_man_dir}/${prog}.1
            DEPENDS ${prog}
            COMMENT "Man page ${prog}.1 (help2man)"
            VERBATIM)
        list(APPEND tf_man_files ${tf_man_dir}/${prog}.1.gz)
    endforeach()
    add_custom_target(tf_man_pages ALL DEPENDS ${tf_man_files})
    install(FILES ${tf_man_files} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
    message(STATUS "help2man (or gzip) not found: no man pages (apt-get install help2man)")
endif()

# ---- the systemd unit where systemd looks for it --------------------------------------------
# Only for the /usr prefix: the unit's ExecStart= is /usr/bin/taskfleet-agent. The copy in
# share/taskfleet/systemd (TaskfleetInstall.cmake) stays for other prefixes and for docs/deploy.md.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    install(FILES ${PROJECT_SOURCE_DIR}/resources/systemd/taskfleet-agent.service
            DESTINATION lib/systemd/system)
endif()

# ---- CPack: the Debian package --------------------------------------------------------------
set(CPACK_PACKAGE_NAME taskfleet)
set(CPACK_PACKAGE_VENDOR "Taskfleet")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Taskfleet maintainers <maintainers@users.noreply.h-seed-5d6d9ba4.example>")
if(NOT CPACK_DEBIAN_PACKAGE_MAINTAINER)
    set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "run many small computations in parallel on one computer and a LAN")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"Taskfleet is Parallel Python (pp) rebuilt in C++ on Qt 6 and OpenSSL: jobs of
many tasks run in worker processes (a crashing task kills only its worker),
with load balancing, retries, fault tolerance, and connections between
machines that are authenticated and encrypted with a cluster secret.

This package has the desktop app (taskfleet), the command-line runner
(taskfleet-run), the node agent (taskfleet-agent) with a systemd unit that is
installed but neither enabled nor started, the worker program, the shipped
task plugins, the plugin SDK (header and CMake package), example
jobs and man pages.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # taskfleet_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)             # Depends: computed by dpkg-shlibdeps
# Code without source (lambdas, closures, notebook code) travels by value with cloudpickle; numpy for pp's
# typical programs; joblib for the joblib backend (taskfleet.joblib).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, python3-cloudpickle, python3-numpy") # python3: pp programs
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-joblib, python3-sklearn")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)      # no public shared library inside
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/resources/debian/postinst
    ${PROJECT_SOURCE_DIR}/resources/debian/prerm
    ${PROJECT_SOURCE_DIR}/resources/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)   # 0755 scripts whatever the checkout's modes
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(STATUS "cpack -G DEB: configure with -DCMAKE_INSTALL_PREFIX=/usr for a package "
                   "(this build's prefix is ${CMAKE_INSTALL_PREFIX})")
endif()
include(CPack)
