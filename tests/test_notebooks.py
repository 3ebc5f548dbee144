"""The masters in source/ follow the course's rules; validation passes on masters and fails on releases."""

import re

import nbformat
import pytest

import harness
from autograder.recompute import expected_calls

MASTERS = harness.notebooks(harness.SOURCE)
GRADE_ID = re.compile(r"^[a-z][a-z0-9_]*(-[a-z0-9_]+)*$")


def ids(paths):
    return [p.parent.name for p in paths]


def test_there_are_masters():
    assert MASTERS


@pytest.mark.parametrize("path", MASTERS, ids=ids(MASTERS))
def test_master_is_named_after_its_folder(path):
    folder = path.parent.name
    assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*", folder), folder
    assert path.stem == folder[3:].replace("-", "_"), f"expected {folder}/{folder[3:].replace('-', '_')}.ipynb"
    assert harness.notebooks(path.parent) == [path], "one notebook per assignment"


@pytest.mark.parametrize("path", MASTERS, ids=ids(MASTERS))
def test_master_is_valid_and_keeps_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        assert cell.get("id"), "every cell has a stable id"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} keeps outputs"
    assert len({c.id for c in nb.cells}) == len(nb.cells), "cell ids are unique"


# a backslash escape lost on writing leaves a control character: \bar becomes backspace + "ar",
# \rVert a carriage return (or a line break) + "Vert"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("path", MASTERS, ids=ids(MASTERS))
def test_master_text_holds_no_control_characters(path):
    for cell in harness.load(path)["cells"]:
        source = harness.source_text(cell)
        found = CONTROL.search(source) or (cell["cell_type"] == "markdown" and re.search("\t", source))
        if found:
            at = found.start()
            pytest.fail(f"cell {cell.get('id')}: {found.group()!r} in {source[max(0, at - 30):at + 30]!r}")


@pytest.mark.parametrize("path", MASTERS, ids=ids(MASTERS))
def test_nbgrader_cells_follow_the_contract(path):
    nb = harness.load(path)
    seen = set()
    for cell in nb["cells"]:
        meta = harness.nbgrader_meta(cell)
        if not meta:
            continue
        gid = meta["grade_id"]
        assert meta["schema_version"] == 3, gid
        assert GRADE_ID.match(gid) and not gid.startswith("cell-"), f"grade_id {gid!r} should name what it grades"
        assert gid not in seen, f"grade_id {gid} is used twice"
        seen.add(gid)
        source = harness.source_text(cell)
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, gid
        if meta["grade"] and cell["cell_type"] == "code":
            assert meta["locked"] and not meta["solution"], f"{gid}: a test cell is locked and holds no solution"
            assert meta["points"] > 0
            visible, _, rest = source.partition("### BEGIN HIDDEN TESTS")
            hidden = rest.partition("### END HIDDEN TESTS")[0]
            shown, secret = expected_calls(visible), expected_calls(hidden)
            assert shown, f"{gid}: the visible test calls no check"
            assert secret, f"{gid}: there are no hidden tests"
            assert not [c for c in secret if c in shown], f"{gid}: hidden tests repeat a visible call"
            assert {c[0] for c in secret} <= {c[0] for c in shown} | {c[0] for c in secret}
            assert all("seed" in params for _, params in shown + secret), f"{gid}: every call names its seed"


@pytest.mark.parametrize("path", MASTERS, ids=ids(MASTERS))
def test_setup_cells_are_locked(path):
    nb = harness.load(path)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and re.search(r"^\s*(import|from) ", harness.source_text(cell), re.M):
            meta = harness.nbgrader_meta(cell)
            if not meta.get("grade"):
                assert meta.get("locked"), f"cell {cell['id']} imports modules; lock it so students keep it"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", harness.assignments())
def test_validate_passes_the_master_and_fails_the_release(assignment):
    from nbgrader.validator import Validator

    assert "failed" not in Validator().validate(str(harness.master(assignment)))
    (release,) = harness.notebooks(harness.COURSE / assignment)
    result = Validator().validate(str(release))
    assert result.get("failed"), result
