# SPDX-License-Identifier: MIT
# Python 3 for the python task plugin (Debian: python3-dev), found once for every directory below.
#
# Prefer the system interpreter, whose libpython the plugin then links, over whatever python3 comes
# first on PATH (pyenv, a virtualenv).
if(NOT DEFINED Python3_EXECUTABLE AND NOT DEFINED Python3_ROOT_DIR AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python 3 the python task plugin embeds")
endif()
find_package(Python3 3.9 COMPONENTS Interpreter Development.Embed)

# The interpreter the python plugin runs in is the worker's. Debian's shared libpython3.X.so is built
# -fPIC with semantic interposition: every call between its own functions goes through the PLT and
# little is inlined, so pure Python runs ~15-20 % slower in it than in /usr/bin/python3, which links
# the non-PIC, optimised libpython3.X.a statically (docs/benchmarks.md measures it). So taskfleet-worker
# links that same static library, exports its symbols as /usr/bin/python3 does (LINKFORSHARED:
# lib-dynload's extension modules and the plugin resolve Py* there), and the plugin's own libpython.so
# reference is then interposed by the worker's copy. Other hosts (tst_pythonplugin) use the shared one.
option(TASKFLEET_WORKER_STATIC_PYTHON
    "Link Python's static library into taskfleet-worker, as /usr/bin/python3 does (faster Python tasks)" ON)
set(TASKFLEET_WORKER_PYTHON_LINK "")      # link options of taskfleet-worker
set(TASKFLEET_WORKER_PYTHON_LIBS "")      # and what it links, in this order
if(Python3_Development.Embed_FOUND AND TASKFLEET_WORKER_STATIC_PYTHON)
    execute_process(
        COMMAND "${Python3_EXECUTABLE}" -c
            "import sysconfig as s; v = s.get_config_var; print(';'.join([v('LIBPL') or '', v('LIBRARY') or '', ' '.join(v(k) or '' for k in ('LIBS', 'SYSLIBS', 'MODLIBS')), v('LINKFORSHARED') or '']))"
        OUTPUT_VARIABLE tf_py_config OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE tf_py_result)
    list(LENGTH tf_py_config tf_py_fields)
    if(tf_py_result EQUAL 0 AND tf_py_fields EQUAL 4)
        list(GET tf_py_config 0 tf_py_libpl)
        list(GET tf_py_config 1 tf_py_library)
        list(GET tf_py_config 2 tf_py_libs)
        list(GET tf_py_config 3 tf_py_linkforshared)
        set(tf_py_archive "${tf_py_libpl}/${tf_py_library}")
        if(tf_py_library MATCHES "\\.a$" AND EXISTS "${tf_py_archive}")
            separate_arguments(tf_py_libs UNIX_COMMAND "${tf_py_libs}")
            separate_arguments(tf_py_linkforshared UNIX_COMMAND "${tf_py_linkforshared}")
            list(REMOVE_DUPLICATES tf_py_libs)
            # The archive's objects are not position independent: the worker links -no-pie, as python3 does.
            set(TASKFLEET_WORKER_PYTHON_LINK -no-pie ${tf_py_linkforshared})
            set(TASKFLEET_WORKER_PYTHON_LIBS -Wl,--whole-archive "${tf_py_archive}" -Wl,--no-whole-archive ${tf_py_libs})
            message(STATUS "taskfleet-worker: links Python statically (${tf_py_archive})")
        endif()
    endif()
    if(NOT TASKFLEET_WORKER_PYTHON_LINK)
        message(STATUS "taskfleet-worker: no static libpython found; Python tasks use the shared libpython")
    endif()
endif()
