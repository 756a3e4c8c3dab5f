# SPDX-License-Identifier: MIT
# Install rules shared by the whole project: the SDK header, the CMake package, desktop integration.
include(CMakePackageConfigHelpers)

set(TASKFLEET_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Taskfleet)

# The SDK: header + imported INTERFACE target Taskfleet::sdk (Taskfleet::sdk also works inside this tree).
add_library(Taskfleet::sdk ALIAS tf_sdk)
set_target_properties(tf_sdk PROPERTIES EXPORT_NAME sdk)
install(TARGETS tf_sdk EXPORT TaskfleetTargets)
install(FILES ${PROJECT_SOURCE_DIR}/core/include/taskfleet/TaskPlugin.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/taskfleet)
install(EXPORT TaskfleetTargets NAMESPACE Taskfleet:: DESTINATION ${TASKFLEET_CMAKE_INSTALL_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/TaskfleetConfig.cmake.in
    ${PROJECT_BINARY_DIR}/TaskfleetConfig.cmake
    INSTALL_DESTINATION ${TASKFLEET_CMAKE_INSTALL_DIR}
    PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/TaskfleetConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/TaskfleetConfig.cmake
              ${PROJECT_BINARY_DIR}/TaskfleetConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/TaskfleetPluginHelpers.cmake
        DESTINATION ${TASKFLEET_CMAKE_INSTALL_DIR})

# Desktop integration beyond what app/gui installs (the .desktop file and the 128 px icon).
if(TASKFLEET_BUILD_GUI)
    install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/taskfleet.svg
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
endif()

# Deployment files, for packagers and for docs/deploy.md.
install(FILES ${PROJECT_SOURCE_DIR}/resources/systemd/taskfleet-agent.service
        DESTINATION ${CMAKE_INSTALL_DATADIR}/taskfleet/systemd)
install(FILES ${PROJECT_SOURCE_DIR}/resources/docker/Dockerfile
              ${PROJECT_SOURCE_DIR}/resources/docker/taskfleet-stack.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/taskfleet/docker)

# Agents as a Slurm job: taskfleet.slurm.SlurmAgents finds it in <prefix>/share/taskfleet/slurm.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/resources/slurm/taskfleet-agents.sbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/taskfleet/slurm)
