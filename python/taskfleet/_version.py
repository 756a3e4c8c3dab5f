# SPDX-License-Identifier: MIT
"""The package's version: the one place it is written (build_backend.py and __init__.py read it)."""

__version__ = "0.2.0"
