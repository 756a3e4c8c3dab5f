# SPDX-License-Identifier: MIT
"""Parallel Python's API on Taskfleet's engine: ``import taskfleet as pp``.

Server, submit, job objects, wait, get_ncpus, set_ncpus, get_active_nodes, get_stats,
print_stats, destroy and Template, with pp's names, arguments and defaults. See docs/python.md.
"""

from ._server import (DestroyedServerError, Server, TaskError, TaskfleetError, Template,
                      DEFAULT_PORT)

__version__ = "0.1.0"
version = __version__

__all__ = ["Server", "Template", "TaskError", "TaskfleetError", "DestroyedServerError",
           "DEFAULT_PORT", "__version__", "version"]
