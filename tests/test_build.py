"""course/ and solutions/ are exactly what the build makes from source/; the build refuses broken keys."""

import json
import os
import shutil

import pytest

import harness
from autograder import build


@pytest.mark.slow
def test_course_and_solutions_match_a_fresh_build(tmp_path):
    build.build(tmp_path, log=lambda *_: None)
    assert build.differences(tmp_path, harness.ROOT) == []


def test_release_has_no_solutions_and_no_hidden_tests():
    for path in harness.notebooks(harness.COURSE):
        text = path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path}: {marker}"
        assert "raise NotImplementedError()" in text


def test_answer_keys_are_executed_without_errors():
    for path in harness.notebooks(harness.ROOT / "solutions"):
        assert build.error_outputs(path) == [], path
        nb = harness.load(path)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c["execution_count"] for c in code), f"{path} was not executed"


def _key():
    (path,) = harness.notebooks(harness.ROOT / "solutions" / harness.assignments()[0])
    return harness.load(path)


def test_normalising_masks_what_varies():
    a, b = _key(), _key()
    b["metadata"]["language_info"]["version"] = "3.11.99"
    for cell in b["cells"]:
        cell.setdefault("metadata", {})["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output["data"]["image/png"] = "iVBORw0KGgo="
    assert build.normalise_notebook(a) == build.normalise_notebook(b)


def _with_stream(nb, text):
    cell = next(c for c in nb["cells"] if any(o["output_type"] == "stream" for o in c.get("outputs", [])))
    next(o for o in cell["outputs"] if o["output_type"] == "stream")["text"] = text
    return nb


@pytest.mark.parametrize("a, b, same", [
    ("hand - differences 4.5e-13\n", "hand - differences 4.3e-13\n", True),
    ("largest |delta|: 5.551115123125783e-17", "largest |delta|: 2.220446049250313e-16", True),
    ("OK f: 2 cases agree (largest error score 0.00018; 1 is", "OK f: 2 cases agree (largest error score 6.5e-05; 1 is",
     True),
    ("hand - differences 4.5e-13\n", "hand - differences 4.5e-03\n", False),
    ("accuracy 0.974", "accuracy 0.975", False),
    ("loss 1.2e-09", "loss 1.3e-09", False),
])
def test_normalising_masks_rounding_noise_only(a, b, same):
    first, second = _with_stream(_key(), a), _with_stream(_key(), b)
    assert (build.normalise_notebook(first) == build.normalise_notebook(second)) is same


@pytest.mark.parametrize("change", ["source", "nbgrader", "output", "metadata-key"])
def test_normalising_never_hides_sources_metadata_or_text_outputs(change):
    a, b = _key(), _key()
    code = [c for c in b["cells"] if c["cell_type"] == "code" and c.get("outputs")]
    graded = next(c for c in b["cells"] if harness.nbgrader_meta(c))
    if change == "source":
        code[0]["source"] += "\n# changed"
    elif change == "nbgrader":
        graded["metadata"]["nbgrader"]["points"] = 99
    elif change == "output":
        stream = next(o for c in code for o in c["outputs"] if o["output_type"] == "stream")
        stream["text"] = "different\n"
    else:
        graded["metadata"]["editable"] = True
    assert build.normalise_notebook(a) != build.normalise_notebook(b)


def test_differences_reports_missing_extra_and_changed_files(tmp_path):
    built, committed = tmp_path / "built", tmp_path / "committed"
    for root in (built, committed):
        shutil.copytree(harness.COURSE, root / "course")
        shutil.copytree(harness.ROOT / "solutions", root / "solutions")
    (release,) = harness.notebooks(committed / "course" / harness.assignments()[0])
    release.write_bytes(release.read_bytes().replace(b"\n", b"\r\n", 1))
    (committed / "course" / "stray.txt").write_text("x")
    (built / "solutions" / "new.txt").write_text("x")
    found = build.differences(built, committed)
    assert any("bytes" in f for f in found)
    assert any("stray.txt" in f and "not made by the build" in f for f in found)
    assert any("new.txt" in f and "missing from the repository" in f for f in found)


@pytest.mark.slow
def test_an_error_in_an_answer_key_fails_the_build(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(harness.ROOT / "nbgrader_config.py", root)
    assignment = harness.assignments()[0]
    target = root / "source" / assignment
    target.mkdir(parents=True)
    nb = harness.load(harness.master(assignment))
    nb["cells"].append({"cell_type": "code", "id": "broken", "metadata": {}, "source": "1 / 0",
                        "outputs": [], "execution_count": None})
    (target / harness.master(assignment).name).write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(build.BuildError, match="error output in the answer key"):
        build.build(tmp_path / "out", source_root=root, log=lambda *_: None)


def test_normalising_joins_a_stream_split_in_two_but_keeps_its_text():
    a, b = _key(), _key()
    cell = next(c for c in b["cells"] if any(o["output_type"] == "stream" for o in c.get("outputs", [])))
    i = next(i for i, o in enumerate(cell["outputs"]) if o["output_type"] == "stream")
    text = "".join(cell["outputs"][i]["text"]) if isinstance(cell["outputs"][i]["text"], list) else cell["outputs"][i]["text"]
    cut = len(text) // 2
    first = dict(cell["outputs"][i], text=text[:cut])
    second = dict(cell["outputs"][i], text=text[cut:])
    cell["outputs"][i:i + 1] = [first, second]
    assert build.normalise_notebook(a) == build.normalise_notebook(b)
    second["text"] = text[cut:] + "more"
    assert build.normalise_notebook(a) != build.normalise_notebook(b)


def _copy_generated(root):
    for folder in build.GENERATED:
        shutil.copytree(harness.ROOT / folder, root / folder)
    return root


def test_an_answer_key_that_differs_only_in_what_varies_is_left_alone(tmp_path):
    assignment = harness.assignments()[0]
    built, committed = _copy_generated(tmp_path / "built"), _copy_generated(tmp_path / "committed")
    (key,) = harness.notebooks(built / "solutions" / assignment)
    nb = harness.load(key)
    cell = next(c for c in nb["cells"] if any(o["output_type"] == "stream" for o in c.get("outputs", [])))
    i = next(i for i, o in enumerate(cell["outputs"]) if o["output_type"] == "stream")
    text = "".join(cell["outputs"][i]["text"]) if isinstance(cell["outputs"][i]["text"], list) else cell["outputs"][i]["text"]
    cell["outputs"][i:i + 1] = [dict(cell["outputs"][i], text=text[:3]), dict(cell["outputs"][i], text=text[3:])]
    nb["metadata"]["language_info"]["version"] = "3.11.99"
    key.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (release,) = harness.notebooks(built / "course" / assignment)
    release.write_bytes(release.read_bytes() + b"\n")
    (built / "course" / assignment / "new.txt").write_text("x")
    (committed / "course" / assignment / "stray.txt").write_text("x")
    before = {p: p.read_bytes() for p in (committed / "solutions").rglob("*") if p.is_file()}
    for folder in build.GENERATED:
        build._sync(built / folder / assignment, committed / folder / assignment, folder)
    assert {p: p.read_bytes() for p in (committed / "solutions").rglob("*") if p.is_file()} == before
    committed_release = committed / "course" / assignment / release.name
    assert committed_release.read_bytes() == release.read_bytes(), "a changed release is written"
    assert (committed / "course" / assignment / "new.txt").is_file()
    assert not (committed / "course" / assignment / "stray.txt").exists()

    cell["outputs"][i]["text"] = "a real change\n"
    key.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    build._sync(built / "solutions" / assignment, committed / "solutions" / assignment, "solutions")
    assert "a real change" in (committed / "solutions" / assignment / key.name).read_text(encoding="utf-8")


def test_answer_keys_are_written_with_each_stream_in_one_output(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="2\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="w\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    nb.cells.append(cell)
    path = tmp_path / "key.ipynb"
    nbformat.write(nb, str(path))
    build.canonical_streams(path)
    outputs = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert [(o.name, o.text) for o in outputs] == [("stdout", "1\n2\n"), ("stderr", "w\n"), ("stdout", "3\n")]


@pytest.mark.slow
def test_building_an_unchanged_source_changes_no_file_and_starts_no_alembic(tmp_path, monkeypatch):
    assignment = harness.assignments()[0]
    # an `alembic` that fails, first on nbgrader's PATH: the build stamps its gradebooks itself
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "alembic").write_text("#!/bin/sh\necho 'alembic was run' >&2\nexit 1\n")
    (fake / "alembic").chmod(0o755)
    real_env = build.isolated_env
    monkeypatch.setattr(build, "isolated_env", lambda scratch: {
        **real_env(scratch), "PATH": f"{fake}{os.pathsep}{real_env(scratch)['PATH']}"})
    root = _copy_generated(tmp_path / "repo")
    shutil.copy2(harness.ROOT / "nbgrader_config.py", root)
    shutil.copytree(harness.SOURCE, root / "source")
    before = {p: p.read_bytes() for f in build.GENERATED for p in (root / f).rglob("*") if p.is_file()}
    build.build(root, [assignment], source_root=root, log=lambda *_: None)
    after = {p: p.read_bytes() for f in build.GENERATED for p in (root / f).rglob("*") if p.is_file()}
    assert after == before
