# SPDX-License-Identifier: MIT
"""Parallel Python's API on Taskfleet's engine: ``import taskfleet as pp``; and the interfaces Python
code already uses, on the same engine.

- pp: Server, submit, job objects, wait, get_ncpus, set_ncpus, get_active_nodes, get_stats,
  print_stats, destroy and Template, with pp's names, arguments and defaults.
- Executor: a concurrent.futures.Executor (as_completed, wait, asyncio's run_in_executor).
- Pool: multiprocessing.Pool's map, imap, imap_unordered, starmap, apply and their _async forms.
- taskfleet.joblib: the joblib backend "taskfleet" (scikit-learn's n_jobs) once imported.
- taskfleet.slurm: SlurmAgents, taskfleet-agents as a Slurm job that dial this program's
  Server(listen=...) or Executor(listen=...).

See docs/python.md.
"""

from ._address import format_node_address, parse_node_address
from ._executor import Executor, RemoteTraceback
from ._pool import AsyncResult, Pool
from ._server import DEFAULT_PORT, DestroyedServerError, Server, TaskError, TaskfleetError, Template
from ._shared import Shared
from ._source import SourceError
from ._version import __version__

version = __version__

__all__ = ["Server", "Template", "Executor", "Pool", "AsyncResult", "TaskError", "TaskfleetError",
           "DestroyedServerError", "RemoteTraceback", "SourceError", "Shared", "DEFAULT_PORT", "parse_node_address",
           "format_node_address", "__version__", "version"]
