"""Build course/ and solutions/ from source/: ``python3 run.py build``.

For every assignment in source/ (or the ones named), in a temporary course
directory with a temporary gradebook:

1. ``nbgrader generate_assignment`` writes the student release to course/;
2. ``nbgrader generate_solution`` executes the master and writes the answer
   key, with outputs, to solutions/;
3. any error output in an answer key fails the build.

Assignments are built in parallel (one temporary course directory each, one
per core). The answer keys are written in one canonical form: the printed
text of a stream is one output, however the kernel happened to split it.
The results then replace course/ and solutions/ of the output folder (the
repository by default), file by file: a file whose content is unchanged is
left alone, and so is an answer key equal to the new one after
:func:`normalise_notebook` (only timings and the like differ), so that
building an unchanged source/ changes nothing in git. ``--check`` builds into a temporary folder instead and
compares: course/ must be identical byte for byte, solutions/ identical after
:func:`normalise_notebook` has removed what legitimately varies.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("course", "solutions")
VARIES_TAG = "output-varies"  # a cell whose outputs may differ between runs (timings)
WIDGET = "application/vnd.jupyter.widget-view+json"  # an output drawn by a widget: a progress bar
_PROGRESS = "<widget>"


class BuildError(RuntimeError):
    """The build failed; the message says where."""


def assignments(root):
    """The assignment folders of source/, in order (01-..., 02-...)."""
    return sorted(p.name for p in (Path(root) / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def isolated_env(scratch):
    """An environment for nbgrader: this Python's bin/ first on PATH, Jupyter and IPython state in ``scratch``."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(Path(scratch) / name.lower())
    env["PYTHONHASHSEED"] = "0"
    env.pop("MPLBACKEND", None)  # the kernel draws inline, as for students
    env.pop("BACKPROPLAB_GRADING", None)
    env.pop("BACKPROPLAB_LANG", None)
    return env


def nbgrader(args, course, env):
    """Run one nbgrader command in ``course``; raise :class:`BuildError` with its output on failure."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}",
               f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"]
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
    if done.returncode != 0 or "[ERROR]" in done.stderr:
        raise BuildError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def error_outputs(notebook_path):
    """(cell index, grade_id, error name, error value) of every error output in a notebook."""
    nb = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                found.append((index, grade_id, output.get("ename"), output.get("evalue")))
    return found


def _empty_gradebook(path, source_root):
    """An empty gradebook at ``path`` for the course in ``source_root``, stamped with nbgrader's migration head
    read in this process. Each assignment's course directory starts from a copy: nbgrader, making a new one,
    asks a new ``alembic heads`` process for the stamp (about 3 s of CPU each)."""
    import warnings

    from nbgrader.api import Gradebook

    from .grade import _alembic_in_process, gradebook

    course_id = gradebook(source_root).course_id
    with warnings.catch_warnings(), _alembic_in_process(), Gradebook(f"sqlite:///{path}", course_id=course_id):
        warnings.simplefilter("ignore")
    return path


def _build_one(name, source_root, scratch, log, empty_gradebook):
    """Release and answer key of one assignment, in its own course directory; returns that directory."""
    course = Path(scratch) / name
    course.mkdir()
    shutil.copy2(Path(source_root) / "nbgrader_config.py", course)
    shutil.copy2(empty_gradebook, course / "gradebook.db")
    shutil.copytree(Path(source_root) / "source" / name, course / "source" / name)
    env = isolated_env(Path(scratch) / f"{name}.state")
    log(f"build {name}: release")
    nbgrader(["generate_assignment", name, "--force"], course, env)
    log(f"build {name}: answer key (executing)")
    nbgrader(["generate_solution", name, "--force"], course, env)
    for notebook in sorted((course / "solutions" / name).glob("*.ipynb")):
        errors = error_outputs(notebook)
        if errors:
            lines = [f"  cell {i} {gid or ''}: {ename}: {evalue}" for i, gid, ename, evalue in errors]
            raise BuildError(f"error output in the answer key {notebook.name}:\n" + "\n".join(lines))
        canonical_streams(notebook)
    return course


def canonical_streams(path):
    """Rewrite an executed notebook with each run of one stream's outputs merged into one output."""
    import nbformat

    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    changed = False
    for cell in nb.cells:
        if cell.get("outputs"):
            merged = _merge_streams(cell.outputs)
            changed |= len(merged) != len(cell.outputs)
            cell.outputs = merged
    if changed:
        nbformat.write(nb, str(path))


def _same_content(built, target, folder):
    """Whether ``target`` may stay as it is: same bytes, or an answer key equal after normalising."""
    if not target.is_file():
        return False
    a, b = built.read_bytes(), target.read_bytes()
    if a == b:
        return True
    if folder == "solutions" and built.suffix == ".ipynb":
        try:
            return normalise_notebook(json.loads(a)) == normalise_notebook(json.loads(b))
        except ValueError:
            return False
    return False


def _sync(built_dir, target_dir, folder):
    """Make ``target_dir`` hold what ``built_dir`` holds, touching only the files that changed."""
    built = {p.relative_to(built_dir) for p in built_dir.rglob("*") if p.is_file()}
    built = {rel for rel in built if not {".ipynb_checkpoints", "__pycache__"} & set(rel.parts)}
    if target_dir.is_dir():
        for p in sorted(target_dir.rglob("*"), reverse=True):
            rel = p.relative_to(target_dir)
            if p.is_file() and rel not in built:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    for rel in sorted(built):
        source, target = built_dir / rel, target_dir / rel
        if not _same_content(source, target, folder):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def build(out=ROOT, names=None, source_root=ROOT, log=print, workers=None):
    """Generate course/ and solutions/ for ``names`` (default all) into ``out``."""
    names = names or assignments(source_root)
    workers = workers or max(1, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="backproplab-build-") as scratch:
        empty = _empty_gradebook(Path(scratch) / "empty-gradebook.db", source_root)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {name: pool.submit(_build_one, name, source_root, scratch, log, empty) for name in names}
            courses = {name: future.result() for name, future in futures.items()}
        for folder in GENERATED:
            for name in names:
                _sync(courses[name] / folder / name, Path(out) / folder / name, folder)
        stale = {p.name for f in GENERATED if (Path(out) / f).is_dir() for p in (Path(out) / f).iterdir()
                 if p.is_dir()} - set(assignments(source_root))
        for folder in GENERATED:
            for name in stale:
                shutil.rmtree(Path(out) / folder / name, ignore_errors=True)
    return names


# -- comparison ----------------------------------------------------------------

_VARYING = [
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x<address>"),
    (re.compile(r"/tmp/[^\s'\"]*"), "/tmp/<path>"),
    (re.compile(r"\bpid \d+|\bprocess \d+"), "<pid>"),
    # rounding noise: its last bits differ between processors (numpy picks its SIMD kernels by CPU)
    (re.compile(r"[-+]?\d+(?:\.\d+)?e-(?:1\d|[2-9]\d|\d{3})\b"), "<rounding>"),
    (re.compile(r"(error score) \d+(?:\.\d+)?(?:e[-+]?\d+)?"), r"\1 <noise>"),
]


def _normalise_text(value):
    if isinstance(value, list):
        value = "".join(value)
    for pattern, replacement in _VARYING:
        value = pattern.sub(replacement, value)
    return value


def _merge_streams(outputs):
    """Adjacent outputs of one stream joined: how a kernel splits printed text varies with timing."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = _joined(previous["text"]) + _joined(output["text"])
        else:
            merged.append(output)
    return merged


def _joined(text):
    return "".join(text) if isinstance(text, list) else text


def normalise_notebook(nb):
    """An answer key without what legitimately varies between builds.

    Removed or masked: the Python patch version, execution timings, image
    bytes, memory addresses, temporary paths and process ids in text,
    numbers below 1e-9 written in scientific notation and a passing check's
    error score (rounding noise: their last bits differ between processors), the
    way a stream's text is split into outputs, widgets (tqdm's progress bars:
    their outputs and their state in the notebook's metadata), and all
    outputs of cells tagged ``output-varies``. Kept: every source, every
    nbgrader metadata field, execution counts and all other outputs.
    """
    nb = json.loads(json.dumps(nb))
    nb.get("metadata", {}).get("language_info", {}).pop("version", None)
    nb.get("metadata", {}).pop("widgets", None)  # the state of the progress bars' widgets
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if VARIES_TAG in cell.get("metadata", {}).get("tags", []):
            cell["outputs"] = ["<varies>"]
            continue
        cell["outputs"] = [_PROGRESS if WIDGET in output.get("data", {}) else output
                           for output in _merge_streams(cell.get("outputs", []))]
        for output in cell.get("outputs", []):
            if output is _PROGRESS:
                continue
            if "text" in output:
                output["text"] = _normalise_text(output["text"])
            for mime, value in list(output.get("data", {}).items()):
                if mime.startswith("image/"):
                    output["data"][mime] = "<image>"
                elif isinstance(value, (str, list)):
                    output["data"][mime] = _normalise_text(value)
            if "traceback" in output:
                output["traceback"] = [_normalise_text(line) for line in output["traceback"]]
    return nb


def first_difference(built, committed):
    """Where two normalised notebooks first differ, in words; "" when they are equal."""
    if built == committed:
        return ""
    if built.get("metadata") != committed.get("metadata"):
        return "notebook metadata"
    cells_a, cells_b = built.get("cells", []), committed.get("cells", [])
    for index, (a, b) in enumerate(zip(cells_a, cells_b)):
        if a != b:
            part = next((k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)), "?")
            new, old = json.dumps(a.get(part))[:400], json.dumps(b.get(part))[:400]
            return f"cell {index} ({a.get('id', '?')}), its {part}:\n    built:     {new}\n    committed: {old}"
    return f"{len(cells_a)} cells against {len(cells_b)}"


def differences(built, committed):
    """Differences between a fresh build and the committed course/ and solutions/."""
    found = []
    for folder in GENERATED:
        a_root, b_root = Path(built) / folder, Path(committed) / folder
        a_files = {p.relative_to(a_root) for p in a_root.rglob("*") if p.is_file()} if a_root.exists() else set()
        b_files = {p.relative_to(b_root) for p in b_root.rglob("*") if p.is_file()} if b_root.exists() else set()
        b_files = {p for p in b_files if ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}
        for rel in sorted(a_files - b_files):
            found.append(f"{folder}/{rel}: made by the build, missing from the repository")
        for rel in sorted(b_files - a_files):
            found.append(f"{folder}/{rel}: in the repository, not made by the build")
        for rel in sorted(a_files & b_files):
            a, b = (a_root / rel).read_bytes(), (b_root / rel).read_bytes()
            if a == b:
                continue
            if folder == "solutions" and rel.suffix == ".ipynb":
                detail = first_difference(normalise_notebook(json.loads(a)), normalise_notebook(json.loads(b)))
                if detail:
                    found.append(f"{folder}/{rel}: differs from a fresh build (after normalising): {detail}")
            else:
                found.append(f"{folder}/{rel}: differs from a fresh build (bytes)")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="run.py build", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment folders of source/ (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary folder and compare with course/ and solutions/")
    args = parser.parse_args(argv)
    try:
        if args.check:
            with tempfile.TemporaryDirectory(prefix="backproplab-check-") as out:
                build(Path(out))
                found = differences(out, ROOT)
            if found:
                print("course/ or solutions/ is out of date; run `python3 run.py build`:")
                print("\n".join("  " + line for line in found))
                return 1
            print("course/ and solutions/ match a fresh build of source/.")
            return 0
        built = build(ROOT, args.assignments or None)
        print(f"built {', '.join(built)} into course/ and solutions/")
        return 0
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
