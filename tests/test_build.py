"""course/ and solutions/ are exactly what the build makes from source/; the build refuses broken keys."""

import json
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
