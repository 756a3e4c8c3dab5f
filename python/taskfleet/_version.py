# SPDX-License-Identifier: MIT
"""Taskfleet's version: the one place it is written (build_backend.py, __init__.py and CMakeLists.txt read it)."""

__version__ = "0.2.0"
