# SPDX-License-Identifier: MIT
"""What a job ships to the workers: the source of the user's functions and classes (as pp does)."""

import inspect
import textwrap
import types

__all__ = ["JobCode", "SourceError", "build_code", "user_classes"]

MAIN = "__main__"


class SourceError(TypeError):
    """A function or class whose code cannot be shipped to the workers."""


def _is_main(obj):
    return getattr(obj, "__module__", None) == MAIN


def _source(obj):
    try:
        src = inspect.getsource(obj)
    except (OSError, TypeError) as e:
        raise SourceError("taskfleet: cannot ship %r to the workers: its source is not available (%s); "
                          "define it with def/class in a file" % (obj, e)) from None
    return textwrap.dedent(src)


def user_classes(cls):
    """The classes of cls's hierarchy defined in the user's script, bases first."""
    return [c for c in reversed(cls.__mro__) if _is_main(c)]


class JobCode:
    """The python plugin's parameters for one function with its dependencies."""

    __slots__ = ("params", "key", "name", "sent")

    def __init__(self, params, key, name):
        self.params = params
        self.key = key
        self.name = name
        self.sent = False


def _code_names(code, names):
    names.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, names)


def _referenced(obj):
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
        names = set()
        _code_names(f.__code__, names)
        g = f.__globals__
        for name in sorted(names):
            value = g.get(name)
            if isinstance(value, types.ModuleType):
                found.append((name, value))
            elif isinstance(value, (types.FunctionType, type)) and _is_main(value) and value is not obj:
                found.append((name, value))
    return found


def _entry(obj, sources, imports, seen):
    """Adds what makes obj available as a global in the job's __main__ (and what its code uses)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if _is_main(obj) and isinstance(obj, (types.FunctionType, type)):
        # Beyond pp: globals the code uses travel too (modules imported, script functions and classes
        # shipped), so depfuncs and modules may be left out.
        for name, value in _referenced(obj):
            if isinstance(value, types.ModuleType):
                line = ("import %s" % value.__name__ if value.__name__ == name
                        else "import %s as %s" % (value.__name__, name))
                if value.__name__ != name and "." in value.__name__ and value.__name__.rsplit(".", 1)[1] == name:
                    line = "from %s import %s" % tuple(value.__name__.rsplit(".", 1))
                if line not in imports:
                    imports.append(line)
            elif getattr(value, "__name__", None) == name:
                _entry(value, sources, imports, seen)
    name = getattr(obj, "__name__", None)
    if isinstance(obj, types.BuiltinFunctionType):
        module = getattr(obj, "__module__", None)
        if module and module != "builtins":
            imports.append("from %s import %s" % (module, name))
        return
    if not isinstance(obj, (types.FunctionType, type)):
        raise SourceError("taskfleet: depfuncs holds %r, which is neither a function nor a class" % (obj,))
    if name == "<lambda>":
        raise SourceError("taskfleet: a lambda cannot be shipped to the workers (as in pp): use def")
    if _is_main(obj):
        if isinstance(obj, type):
            for base in user_classes(obj)[:-1]:
                _entry(base, sources, imports, seen)
        sources.append(_source(obj))
    else:
        # Defined in an importable module: import it there (the module must be installed on every node).
        qual = getattr(obj, "__qualname__", name)
        if "." in qual or "<" in qual:
            sources.append(_source(obj))
        else:
            imports.append("from %s import %s" % (obj.__module__, name))


def build_code(func, depfuncs, modules, extra, filename):
    """Params for func (a function, or a bound method), depfuncs, modules and extra classes/functions."""
    sources = []
    imports = []
    seen = set()
    if isinstance(func, types.MethodType):
        target = func.__func__
        owner = func.__self__
        cls = owner if isinstance(owner, type) else type(owner)
        _entry(cls, sources, imports, seen)
        name = "_taskfleet_method_" + target.__name__
        call = ("def %s(_taskfleet_self, *args):\n    return _taskfleet_self.%s(*args)\n"
                % (name, target.__name__))
    else:
        if not isinstance(func, types.FunctionType):
            if isinstance(func, types.BuiltinFunctionType):
                name = func.__name__
                imports.append("from %s import %s" % (func.__module__ or "builtins", name))
                call = None
            else:
                raise SourceError("taskfleet: submit wants a function or a bound method, not %r" % (func,))
        else:
            _entry(func, sources, imports, seen)
            name = func.__name__
            call = None
    for dep in tuple(depfuncs) + tuple(extra):
        _entry(dep, sources, imports, seen)
    if call:
        sources.append(call)
    mods = []
    for m in modules:
        if isinstance(m, tuple):  # (module name, alias) found in globals=
            imports.append("import %s as %s" % m)
        elif m not in mods:
            mods.append(m)
    source = "\n".join(imports) + ("\n\n" if imports else "") + "\n\n".join(sources)
    return {"source": source, "function": name, "modules": mods, "filename": filename}
