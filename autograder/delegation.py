"""Answers that hand the exercise to a function that already does it.

An exercise asks the student to write something the course's library, SciPy
or numpy already has (a central difference, a numerical gradient, a backward
pass). Calling that function instead is not an answer. A check names what
its exercise must not call in ``Check.delegation``: dotted paths such as
``"backproplab.numeric.central_difference"`` or ``"numpy.gradient"``.

Delegation is caught twice:

- in the kernel, :func:`trapped` swaps the code of each named function for a
  trap while the check calls the student's object; a call to it is recorded
  as evidence (an error of type :data:`DELEGATED`), whatever name or alias
  the student reached it by;
- out of the kernel, :func:`scan` reads the source of the cells the student
  wrote for the exercise (the grader's recomputation does this, so a student
  cell cannot hide it) and finds the named functions used there: imported
  by name, called through an imported module, or through a name that
  another cell imported.

Deliberate obfuscation (``getattr`` with a computed string, ``exec``) is out
of scope; docs/grading.md's threat model says so.
"""

import ast
import contextlib
import functools
import importlib
import types

DELEGATED = "DelegationError"
_TRAP_GLOBAL = "__backproplab_delegation_trap__"


class DelegationError(Exception):
    """A student's object called a function its exercise asks the student to write."""


def _lookup(path):
    """(parent, name, object) for a dotted path: the object and where it is stored."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            parent = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            parent = getattr(parent, name)
        return parent, parts[-1], getattr(parent, parts[-1])
    raise ValueError(f"cannot resolve {path!r}")  # pragma: no cover - a course bug


def _resolve(path):
    """The Python function whose code runs when the object ``path`` names is called, or None."""
    function = _lookup(path)[2]
    function = getattr(function, "_implementation", function)  # numpy's array-function dispatchers
    function = getattr(function, "__func__", function)
    return function if hasattr(function, "__code__") else None


def _trap_code(function, path):
    """A code object for ``function`` that reports ``path`` and raises, with the same free variables."""
    return _trap_code_for(function.__code__, path)


@functools.lru_cache(maxsize=None)
def _trap_code_for(original, path):
    """The trap's code for a function whose code is ``original`` (compiled once per function and path)."""
    function = types.SimpleNamespace(__code__=original)
    source = (
        f"def {function.__code__.co_name}(*args, **kwargs):\n"
        f"    return {_TRAP_GLOBAL}({path!r})\n"
    )
    namespace = {}
    exec(compile(source, f"<trap of {path}>", "exec"), namespace)
    code = namespace[function.__code__.co_name].__code__
    free = function.__code__.co_freevars
    if free:
        # keep the closure's shape: the trap reads none of its cells
        wrapper = "def _outer():\n" + "".join(f"    {v} = None\n" for v in free)
        wrapper += f"    def {function.__code__.co_name}(*args, **kwargs):\n"
        wrapper += "".join(f"        {v}\n" for v in free)
        wrapper += f"        return {_TRAP_GLOBAL}({path!r})\n"
        wrapper += f"    return {function.__code__.co_name}\n"
        exec(compile(wrapper, f"<trap of {path}>", "exec"), namespace)
        code = namespace["_outer"]().__code__
    return code


@contextlib.contextmanager
def trapped(paths, log):
    """Within the block, calling any function of ``paths`` appends its path to ``log`` and raises.

    The functions' own code objects are swapped, so every alias of them is
    caught; an object with no Python code (a numpy ufunc such as
    ``scipy.special.expit``) is replaced where it lives, which catches every
    use through its module. Everything is put back on leaving the block.
    """
    swapped = []

    def report(path):
        log.append(path)
        raise DelegationError(path)

    def stand_in(path):
        def delegated(*args, **kwargs):
            return report(path)
        return delegated

    replaced = []  # (parent, name, original): objects with no code of their own (ufuncs), swapped where they live
    try:
        for path in paths:
            function = _resolve(path)
            if function is None:
                parent, name, original = _lookup(path)
                replaced.append((parent, name, original))
                setattr(parent, name, stand_in(path))
                continue
            module_globals = function.__globals__
            swapped.append((function, function.__code__, module_globals, module_globals.get(_TRAP_GLOBAL)))
            module_globals[_TRAP_GLOBAL] = report
            function.__code__ = _trap_code(function, path)
        yield log
    finally:
        for parent, name, original in reversed(replaced):
            setattr(parent, name, original)
        for function, code, module_globals, previous in reversed(swapped):
            function.__code__ = code
            if previous is None:
                module_globals.pop(_TRAP_GLOBAL, None)
            else:
                module_globals[_TRAP_GLOBAL] = previous


# -- reading the student's cells ----------------------------------------------------


def _imports(tree):
    """{local name: dotted path} bound by the import statements of ``tree``."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


@functools.lru_cache(maxsize=512)
def _imports_of(source):
    """The (local name, dotted path) pairs that the imports of the cell ``source`` bind."""
    tree = _parse(source)
    return () if tree is None else tuple(_imports(tree).items())


def _dotted(node, bound):
    """The dotted path an expression names through imported names, or None."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return ".".join([bound[node.id], *reversed(attrs)])
    return None


def _defined(tree):
    """Names that ``tree`` binds by def, class or assignment (the student's own)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


@functools.lru_cache(maxsize=512)  # one notebook's cells are read again for each of its checks
def _parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        # IPython magics and shell escapes: drop those lines and try again
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError:
            return None


def _is_class(found):
    try:
        return isinstance(_lookup(found)[2], type)
    except (ValueError, AttributeError, ImportError):
        return False


def _same(found, path):
    """True when the dotted path ``found`` names ``path``, re-exports it, or is the class it belongs to."""
    if found == path:
        return True
    f, p = found.split("."), path.split(".")
    # backproplab.central_difference re-exported from backproplab.numeric, say
    if f[0] == p[0] and f[-1] == p[-1] and len(f) < len(p):
        return True
    # backproplab.scalar_mlp.MLP, the class whose method backproplab.scalar_mlp.MLP.__call__ is
    return path.startswith(found + ".") and _is_class(found)


def scan(cells, paths, context=()):
    """The paths of ``paths`` that the sources ``cells`` use, sorted.

    cells: the sources of the cells the student wrote for the exercise;
    context: sources of other cells of the notebook (the setup cell, say),
    read only for the names their imports bind.
    """
    bound = {}
    for source in [*context, *cells]:
        bound.update(_imports_of(source))
    found = set()
    for source in cells:
        tree = _parse(source)
        if tree is None:
            continue
        local = dict(bound)
        imported = dict(_imports_of(source))
        local.update(imported)
        for name in _defined(tree) - set(imported):
            local.pop(name, None)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, (ast.Attribute, ast.Name)):
                names.append(_dotted(node, local))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names += [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                if name:
                    found.update(p for p in paths if _same(name, p))
    return sorted(found)


def describe(path):
    """How messages name a delegated function: its last two components."""
    return ".".join(path.split(".")[-2:])
