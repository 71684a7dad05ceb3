"""grader.integrity: what a damaged or tampered notebook changed in the release's nbgrader
structure (each kind of damage gets its own flag, an intact notebook none), and the
notebook rebuilt for nbgrader (valid nbformat 4.5, the release's metadata and locked
cells, the student's own cells kept), for every assignment and for random damage."""

import copy
import json

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.course import assignment_ids, load_assignment
from grader.integrity import cells_of, grade_id_of, meta_of, missing_check_cells, notebook_flags, rebuilt, source_of
from grader.variants import typed_in_release

A = "01_neurons"


def release(assignment_id: str, root) -> dict:
    return json.loads((root / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8"))


def cell(notebook: dict, grade_id: str) -> dict:
    return next(c for c in notebook["cells"] if grade_id_of(c) == grade_id)


def demoted(nb):
    meta_of(cell(nb, "test_mcp_neuron"))["grade"] = False


def renamed(nb):
    meta_of(cell(nb, "test_mcp_neuron"))["grade_id"] = "test_mcp"


def points_raised(nb):
    meta_of(cell(nb, "test_mcp_neuron"))["points"] = 50


def check_edited(nb):
    cell(nb, "test_step")["source"] = "print('tudo certo')"


def unlocked(nb):
    meta_of(cell(nb, "setup"))["locked"] = False


def schema_4(nb):
    for c in nb["cells"]:
        if meta_of(c):
            meta_of(c)["schema_version"] = 4


def duplicated(nb):
    nb["cells"].insert(3, dict(copy.deepcopy(cell(nb, "test_step")), id="copia"))


def check_deleted(nb):
    nb["cells"].remove(cell(nb, "test_sigmoid"))


def answer_deleted(nb):
    nb["cells"].remove(cell(nb, "sigmoid"))


def answer_lost_metadata(nb):
    cell(nb, "relu")["metadata"] = {}


def pasted(nb):
    for c in nb["cells"]:
        c["metadata"] = {}
        c.pop("id", None)
    nb["nbformat_minor"] = 4


def nbformat_40(nb):
    for c in nb["cells"]:
        c.pop("id", None)
    nb["nbformat_minor"] = 0


def extra_grade_cell(nb):
    nb["cells"].append(
        {
            "cell_type": "code",
            "id": "bonus",
            "metadata": {
                "nbgrader": {
                    "grade": True,
                    "grade_id": "bonus",
                    "points": 100,
                    "locked": False,
                    "solution": False,
                    "schema_version": 3,
                }
            },
            "execution_count": None,
            "outputs": [],
            "source": "print(1)",
        }
    )


DAMAGE = {  # damage -> (flag codes, the cell they name)
    demoted: ({"metadata_changed"}, "test_mcp_neuron"),
    renamed: ({"renamed"}, "test_mcp_neuron"),
    points_raised: ({"metadata_changed"}, "test_mcp_neuron"),
    check_edited: ({"locked_edited"}, "test_step"),
    unlocked: ({"metadata_changed"}, "setup"),
    schema_4: ({"schema_version"}, None),
    duplicated: ({"duplicated"}, "test_step"),
    check_deleted: ({"deleted_test"}, "test_sigmoid"),
    answer_deleted: ({"deleted_answer"}, "sigmoid"),
    answer_lost_metadata: ({"lost_metadata"}, "relu"),
    pasted: ({"no_metadata", "old_format"}, None),
    nbformat_40: ({"old_format"}, None),
    extra_grade_cell: ({"unknown_cell"}, "bonus"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda d: d.__name__)
def test_each_damage_gets_its_flag_and_rebuilds_clean(damage, root):
    layout = release(A, root)
    notebook = typed_in_release(A)
    damage(notebook)
    flags = notebook_flags(notebook, load_assignment(A).release_shape)
    codes, named = DAMAGE[damage]
    assert {f.code for f in flags} == codes
    assert all(f.pt and f.en and f.pt != f.en for f in flags)
    assert all(f.review == (f.code != "old_format") for f in flags)  # an older format is only a note
    if named:
        assert any(f.cell == named and named in f.en and named in f.pt for f in flags)
    fixed = rebuilt(notebook, layout)
    nbformat.validate(nbformat.from_dict(fixed))
    assert notebook_flags(fixed, layout) == []
    answers = {grade_id_of(c): source_of(c) for c in cells_of(typed_in_release(A)) if meta_of(c).get("solution")}
    kept = {grade_id_of(c): source_of(c) for c in cells_of(fixed) if meta_of(c).get("solution")}
    lost = {"sigmoid"} if damage is answer_deleted else set()
    assert {g: s for g, s in kept.items() if g not in lost} == {g: s for g, s in answers.items() if g not in lost}


def test_the_messages_say_what_changed(root):
    notebook = typed_in_release(A)
    demoted(notebook)
    points_raised(notebook)
    [flag] = notebook_flags(notebook, load_assignment(A).release_shape)
    assert flag.en == "The cell `test_mcp_neuron` had `grade` changed from true to false."
    notebook = typed_in_release(A)
    points_raised(notebook)
    assert "`points` trocado de 1 para 50" in notebook_flags(notebook, load_assignment(A).release_shape)[0].pt


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_an_intact_submission_has_no_flag(assignment_id, root):
    layout = load_assignment(assignment_id).release_shape
    assert notebook_flags(typed_in_release(assignment_id), layout) == []
    assert notebook_flags(release(assignment_id, root), layout) == []

    def shape(cells):
        return [(c["cell_type"], c["id"], c["metadata"], source_of(c)) for c in cells]

    fixed = rebuilt(typed_in_release(assignment_id), release(assignment_id, root))
    assert shape(fixed["cells"]) == shape(typed_in_release(assignment_id)["cells"])


def test_a_renamed_or_demoted_check_cell_is_not_a_deleted_one(root):
    shape = load_assignment(A).release_shape
    for damage in (renamed, demoted, duplicated):
        notebook = typed_in_release(A)
        damage(notebook)
        assert missing_check_cells(notebook, shape) == set()
    notebook = typed_in_release(A)
    check_deleted(notebook)
    assert missing_check_cells(notebook, shape) == {"test_sigmoid"}
    notebook = typed_in_release(A)
    pasted(notebook)
    assert missing_check_cells(notebook, shape) == set()  # no metadata at all: nothing to hold against it


def test_rebuilding_an_unreadable_notebook_gives_the_release(root):
    layout = release(A, root)
    fixed = rebuilt(None, layout)
    assert [source_of(c) for c in fixed["cells"]] == [source_of(c) for c in layout["cells"]]
    nbformat.validate(nbformat.from_dict(fixed))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_damage_always_rebuilds_into_a_valid_release_shaped_notebook(data):
    """Delete, duplicate, move cells and drop or scramble their metadata at random: the
    rebuilt notebook is valid, has every release cell with its metadata, and keeps every
    code cell the student wrote (a repeated locked cell aside)."""
    from grader.course import course_root

    layout = release(A, course_root())
    notebook = typed_in_release(A)
    cells = notebook["cells"]
    for _ in range(data.draw(st.integers(0, 8))):
        action = data.draw(st.sampled_from(["delete", "duplicate", "move", "strip", "rename", "ids"]))
        index = data.draw(st.integers(0, max(len(cells) - 1, 0)))
        if not cells:
            break
        if action == "delete":
            cells.pop(index)
        elif action == "duplicate":
            cells.insert(index, copy.deepcopy(cells[index]))
        elif action == "move":
            cells.insert(data.draw(st.integers(0, len(cells) - 1)), cells.pop(index))
        elif action == "strip":
            cells[index]["metadata"] = {}
        elif action == "rename" and meta_of(cells[index]):
            meta_of(cells[index])["grade_id"] = data.draw(st.sampled_from(["x", "test_x", "setup", "relu"]))
        elif action == "ids":
            cells[index]["id"] = data.draw(st.sampled_from(["setup", "a b", "", "dup"]))
    fixed = rebuilt(notebook, layout)
    nbformat.validate(nbformat.from_dict(fixed))
    assert notebook_flags(fixed, layout) == []
    sources = [source_of(c) for c in fixed["cells"]]
    locked = {source_of(c) for c in layout["cells"] if meta_of(c).get("locked") and not meta_of(c).get("solution")}
    for original in cells:
        if original.get("cell_type") == "code" and source_of(original) not in locked:
            assert source_of(original) in sources


def test_the_engine_grades_a_damaged_notebook_in_full_and_flags_it(root, tmp_path):
    """`grader grade` needs no metadata: a renamed check cell does not cost its exercise
    (a deleted one does), and results.json, the output and the table say what was found."""
    from grader.grading import GradeOptions, grade_batch
    from grader.results import summary_table

    notebooks = {"intact": typed_in_release(A)}
    for damage in (renamed, pasted, check_deleted):
        notebooks[damage.__name__] = typed_in_release(A)
        damage(notebooks[damage.__name__])
    paths = []
    for name, notebook in notebooks.items():
        paths.append(tmp_path / f"{name}.ipynb")
        paths[-1].write_text(json.dumps(notebook), encoding="utf-8")
    results = dict(zip(notebooks, grade_batch(paths, A, tmp_path / "out", GradeOptions(lang="en"), jobs=1)))
    full = load_assignment(A).max_score
    assert results["intact"]["score"] == results["renamed"]["score"] == results["pasted"]["score"] == full
    assert results["check_deleted"]["score"] == full - load_assignment(A).exercise("sigmoid").points
    assert not results["intact"]["extra_data"]["needs_review"] and results["intact"]["extra_data"]["flags"] == []
    for name in ("renamed", "pasted", "check_deleted"):
        extra = results[name]["extra_data"]
        assert extra["needs_review"] and {f["code"] for f in extra["flags"]} == DAMAGE[globals()[name]][0]
        assert all(f["en"] in results[name]["output"] for f in extra["flags"])
    table = summary_table(load_assignment(A), list(results.values()), "en")
    assert "20/20 !" in table and "needs review" in table and "renamed: The cell `test_mcp_neuron`" in table
