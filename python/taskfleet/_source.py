# SPDX-License-Identifier: MIT
"""What a job ships to the workers: the source of the user's functions and classes (pp's way), or,
for code that has no source (lambdas, closures, partials, notebook and `python3 -c` code), the code
itself by value with cloudpickle.

The job's source is a small generated module. Each piece of the user's file is compiled at its own
line numbers under the file's own name, and put in the worker's linecache, so that a remote
traceback names the user's file and line, as a local one would.
"""

import base64
import functools
import inspect
import pickle
import textwrap
import types
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from ._frames import Pickled, pickle_value

try:  # Debian: python3-cloudpickle (a Recommends of the .deb)
    import cloudpickle
except ImportError:  # pragma: no cover - tested by hiding it
    cloudpickle = None

__all__ = ["JobCode", "SourceError", "build_code", "build_call_code", "user_classes", "needs_value",
           "import_lines", "cloudpickle_available", "MAIN", "CALLS"]

MAIN = "__main__"
CALLS = "_taskfleet_calls"     # the function an Executor's, a Pool's or joblib's tasks run
_TARGET = "_taskfleet_target"  # what CALLS calls when the job has one function

INSTALL_CLOUDPICKLE = ("install cloudpickle (Debian: apt-get install python3-cloudpickle; elsewhere: "
                       "pip install cloudpickle) on this computer and on the nodes")

# Runs one piece of the user's file at its own line numbers, and lets linecache show its lines.
_DEFINE = '''import linecache as _taskfleet_linecache
def _taskfleet_define(_tf_text, _tf_path, _tf_line):
    _tf_entry = _taskfleet_linecache.cache.get(_tf_path)
    if _tf_entry is None or len(_tf_entry) != 4 or _tf_entry[1] is None:
        _tf_lines = list(_tf_entry[2]) if _tf_entry is not None and len(_tf_entry) == 4 else []
        _tf_piece = _tf_text.splitlines(True)
        _tf_end = _tf_line - 1 + len(_tf_piece)
        if len(_tf_lines) < _tf_end:
            _tf_lines += ["\\n"] * (_tf_end - len(_tf_lines))
        _tf_lines[_tf_line - 1:_tf_end] = _tf_piece
        _taskfleet_linecache.cache[_tf_path] = (sum(map(len, _tf_lines)), None, _tf_lines, _tf_path)
    exec(compile("\\n" * (_tf_line - 1) + _tf_text, _tf_path, "exec"), globals())
'''


# Argument types that never hold a buffer worth sending out of band (bytes are pickled in band anyway).
_SCALARS = frozenset((int, float, bool, str, type(None), complex, bytes))

# The job function of an Executor's, a Pool's tasks: the arguments of each call, and their keyword
# arguments only when some call has any (an empty dict per call costs as much to pickle as a tiny call).
_CALLS_SOURCE = """def %(calls)s(_tf_args, _tf_kwargs=None):
    if _tf_kwargs is None:
        return [%(target)s(*a) for a in _tf_args]
    return [%(target)s(*a, **k) for a, k in zip(_tf_args, _tf_kwargs)]
"""


def cloudpickle_available() -> bool:
    return cloudpickle is not None


class SourceError(TypeError):
    """A function or class whose code cannot be shipped to the workers."""


def _is_main(obj: Any) -> bool:
    return getattr(obj, "__module__", None) == MAIN


def needs_value(func: Any) -> bool:
    """True for code that source shipping cannot carry: it travels by value (cloudpickle)."""
    if isinstance(func, functools.partial):
        return True
    if isinstance(func, types.MethodType):
        return needs_value(func.__func__)
    if not isinstance(func, types.FunctionType):
        return False
    if func.__name__ == "<lambda>" or "<locals>" in func.__qualname__ or func.__closure__:
        return True
    if _is_main(func) or "." in func.__qualname__:
        try:
            inspect.getsourcelines(func)
        except (OSError, TypeError):
            return True  # the REPL, python3 -c, exec(): no file to read it from
    return False


def _piece(obj: Any) -> Tuple[str, str, int]:
    """(source text, file, first line) of obj, as the user's file has it."""
    try:
        lines, first = inspect.getsourcelines(obj)
        path = inspect.getsourcefile(obj) or inspect.getfile(obj)
    except (OSError, TypeError) as e:
        hint = (" (or " + INSTALL_CLOUDPICKLE + ", so that code without source travels by value)"
                if cloudpickle is None else "")
        raise SourceError("taskfleet: cannot ship %r to the workers: its source is not available (%s); "
                          "define it with def/class in a file%s" % (obj, e, hint)) from None
    return textwrap.dedent("".join(lines)), path, max(first, 1)


def user_classes(cls: type) -> List[type]:
    """The classes of cls's hierarchy defined in the user's script, bases first."""
    return [c for c in reversed(cls.__mro__) if _is_main(c)]


class JobCode:
    """The python plugin's parameters for one function with its dependencies."""

    __slots__ = ("params", "key", "name", "sent", "by_value")

    def __init__(self, params: Dict[str, Any], key: str, name: str, by_value: bool = False) -> None:
        self.params = params
        self.key = key
        self.name = name
        self.sent = False
        self.by_value = by_value  # arguments travel with cloudpickle too


def _code_names(code: types.CodeType, names: set) -> None:
    names.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, names)


def _referenced(obj: Any) -> List[Tuple[str, Any]]:
    """Modules, functions and classes of the user's script that obj's code names as globals."""
    funcs = []
    if isinstance(obj, types.FunctionType):
        funcs = [obj]
    elif isinstance(obj, type):
        for member in vars(obj).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                funcs += [f for f in (member.fget, member.fset, member.fdel) if isinstance(f, types.FunctionType)]
            elif isinstance(member, types.FunctionType):
                funcs.append(member)
    found = []
    for f in funcs:
        names: set = set()
        _code_names(f.__code__, names)
        g = f.__globals__
        for name in sorted(names):
            value = g.get(name)
            if isinstance(value, types.ModuleType):
                found.append((name, value))
            elif isinstance(value, (types.FunctionType, type)) and _is_main(value) and value is not obj:
                found.append((name, value))
    return found


def import_lines(modules: Iterable[Any]) -> List[str]:
    """pp's `modules` entries as ppft reads them: each is an import statement, "import " added unless it
    starts with import or from ("numpy", "numpy as np", "import numpy as np", "from os import path");
    (name, alias) pairs come from globals=."""
    lines = []
    for m in modules:
        if isinstance(m, tuple):
            line = "import %s as %s" % m
        else:
            text = " ".join(m.split())
            if not text:
                continue
            line = text if text.startswith(("import ", "from ")) else "import " + text
        if line not in lines:
            lines.append(line)
    return lines


class _Builder:
    """Collects the imports and the pieces of source one job needs."""

    def __init__(self) -> None:
        self.imports: List[str] = []
        self.pieces: List[Tuple[str, str, int]] = []
        self.lines: List[str] = []  # generated statements after the pieces
        self.seen: set = set()

    def add_import(self, line: str) -> None:
        if line not in self.imports:
            self.imports.append(line)

    def entry(self, obj: Any) -> None:
        """Adds what makes obj available as a global in the job's __main__ (and what its code uses)."""
        if id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        if _is_main(obj) and isinstance(obj, (types.FunctionType, type)):
            # Beyond pp: globals the code uses travel too (modules imported, script functions and classes
            # shipped), so depfuncs and modules may be left out.
            for name, value in _referenced(obj):
                if isinstance(value, types.ModuleType):
                    line = ("import %s" % value.__name__ if value.__name__ == name
                            else "import %s as %s" % (value.__name__, name))
                    if value.__name__ != name and "." in value.__name__ and value.__name__.rsplit(".", 1)[1] == name:
                        line = "from %s import %s" % tuple(value.__name__.rsplit(".", 1))
                    self.add_import(line)
                elif getattr(value, "__name__", None) == name:
                    self.entry(value)
        name = getattr(obj, "__name__", None)
        if isinstance(obj, types.BuiltinFunctionType):
            module = getattr(obj, "__module__", None)
            if module and module != "builtins":
                self.add_import("from %s import %s" % (module, name))
            return
        if not isinstance(obj, (types.FunctionType, type)):
            raise SourceError("taskfleet: depfuncs holds %r, which is neither a function nor a class" % (obj,))
        if name == "<lambda>":
            raise SourceError("taskfleet: a lambda in depfuncs cannot be shipped by source: use def, or pass "
                              "it as the function itself (it then travels by value with cloudpickle)")
        if _is_main(obj):
            if isinstance(obj, type):
                for base in user_classes(obj)[:-1]:
                    self.entry(base)
            self.pieces.append(_piece(obj))
        else:
            # Defined in an importable module: import it there (the module must be installed on every node).
            qual = getattr(obj, "__qualname__", name)
            if "." in qual or "<" in qual:
                self.pieces.append(_piece(obj))
            else:
                self.add_import("from %s import %s" % (obj.__module__, name))

    def by_value(self, name: str, obj: Any) -> None:
        """name = obj, unpickled on the worker from cloudpickle's bytes (code without source)."""
        if cloudpickle is None:
            raise SourceError("taskfleet: %r has no source to ship (a lambda, a closure, a partial, or code "
                              "from a notebook, the REPL or python3 -c): %s, and it travels by value"
                              % (obj, INSTALL_CLOUDPICKLE))
        try:
            data = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            raise pickle.PicklingError("taskfleet: cannot pickle %r by value: %s: %s"
                                       % (obj, type(e).__name__, e)) from e
        self.lines.append("%s = __import__('pickle').loads(__import__('base64').b64decode(%r))"
                          % (name, base64.b64encode(data).decode("ascii")))

    def source(self) -> str:
        out = list(self.imports)
        if self.pieces:
            out.append(_DEFINE)
            for text, path, line in self.pieces:
                out.append("_taskfleet_define(%r, %r, %d)" % (text, path, line))
        out += self.lines
        return "\n".join(out) + "\n"


def _params(builder: _Builder, function: str, filename: str, label: str) -> Dict[str, Any]:
    return {"source": builder.source(), "function": function, "modules": [],
            "filename": "<taskfleet job: %s>" % filename, "label": label}


def _label(func: Any) -> str:
    if isinstance(func, functools.partial):
        return "partial(%s)" % _label(func.func)
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__


def build_code(func: Any, depfuncs: Sequence[Any], modules: Sequence[Any], extra: Sequence[Any], filename: str,
               by_value: bool = False, calls: bool = False) -> Dict[str, Any]:
    """Params for func (a function, a bound method, or with by_value any picklable callable), depfuncs,
    modules and extra classes/functions. calls: the job's function is CALLS, which takes a list of
    argument tuples (and a list of keyword dicts, or None) and returns the list of func's results
    (an Executor's, a Pool's tasks)."""
    b = _Builder()
    for line in import_lines(modules):
        b.add_import(line)
    label = _label(func)
    if by_value:
        name = _TARGET
        b.by_value(name, func)
    elif isinstance(func, types.MethodType):
        target = func.__func__
        owner = func.__self__
        cls = owner if isinstance(owner, type) else type(owner)
        b.entry(cls)
        name = "_taskfleet_method_" + target.__name__
        b.lines.append("def %s(_taskfleet_self, *args, **kwargs):\n    return _taskfleet_self.%s(*args, **kwargs)\n"
                       % (name, target.__name__))
    elif isinstance(func, types.BuiltinFunctionType):
        name = func.__name__
        b.add_import("from %s import %s" % (func.__module__ or "builtins", name))
    elif isinstance(func, types.FunctionType):
        b.entry(func)
        name = func.__name__
    else:
        raise SourceError("taskfleet: submit wants a function or a bound method, not %r" % (func,))
    for dep in tuple(depfuncs) + tuple(extra):
        b.entry(dep)
    if calls:
        if name != _TARGET:
            b.lines.append("%s = %s" % (_TARGET, name))
        b.lines.append(_CALLS_SOURCE % {"calls": CALLS, "target": _TARGET})
        name = CALLS
    return _params(b, name, filename, label)


def build_call_code(filename: str, label: str = "call") -> Dict[str, Any]:
    """Params for tasks that carry their callable with them: CALLS takes [(callable, args, kwargs)]
    (joblib's batches, callable objects)."""
    b = _Builder()
    b.lines.append("def %s(_tf_calls):\n    return [f(*a, **k) for f, a, k in _tf_calls]\n" % CALLS)
    return _params(b, CALLS, filename, label)


def dumps(obj: Any, protocol: int, by_value: bool, shared: bool = False) -> "Pickled":
    """Pickles a task's arguments (protocol 5, big buffers out of band): plain pickle, or cloudpickle
    for by-value jobs and for what plain pickle refuses (a lambda or a notebook object among them).
    shared: the arguments hold Shared handles (server.share()), pickled as persistent ids."""
    if shared:
        from ._shared import dumps_with_shared
        use_cloud = cloudpickle is not None and by_value
        return dumps_with_shared(obj, protocol, cloudpickle.Pickler if use_cloud else pickle.Pickler)
    if not by_value:
        if type(obj) is tuple and all(type(a) in _SCALARS for a in obj):
            # The common tiny case (numbers, short strings): no buffer can be out of band.
            return Pickled(pickle.dumps(obj, 5), [])
        try:
            return pickle_value(obj, protocol)
        except Exception:
            if cloudpickle is None:
                raise
    if cloudpickle is None:
        return pickle_value(obj, protocol)
    return pickle_value(obj, protocol, cloudpickle.dumps)
