"""A corpus of hostile and broken submissions of notebook 01, with the outcome each must get.

Each entry makes one student's submission from the master (whose answers
are right) or from a wrong answer, and states what grading must record:

| student | what the submission does | status | central difference | recorded |
|---|---|---|---|---|
| honest | the master's answers | graded | full | |
| wrong | a forward difference for the central one | graded | 0 | |
| infinite_loop | the answer loops forever | graded | 0 | the test cell is interrupted at its time limit, and says so; flag: time limit |
| deaf_loop | a loop that ignores interrupts | graded | 0 | the cells after it did not run (0 too); flag: time limit |
| hangs_after | right answers, then a last cell that loops forever | graded | full | flag: time limit |
| deaf_after | right answers, then a last cell that loops and ignores interrupts | graded | full | flag: time limit |
| memory_bomb | allocates 64 GB | graded | full | MemoryError in its own cell only |
| sys_exit | calls sys.exit() in a cell | graded | full | flag: process exit |
| os_exit | calls os._exit(0) | not graded | 0 | the kernel died; flag: process exit |
| edited_tests | test cell replaced by `assert True`, wrong answer | graded | 0 | |
| deleted_tests | test cell removed, wrong answer | graded | 0 | |
| stripped_metadata | all nbgrader metadata removed | not graded | 0 | nbgrader metadata missing |
| patched_checks | replaces the check by a no-op, wrong answer | graded | 0 | flag: patched checks |
| patched_numpy | patches numpy and the error score, wrong answer | graded | 0 | flag: patched numpy |
| input_transformer | blanks every later cell, wrong answer | graded | 0 | flag: input transformer |
| delegates | calls the library's central difference, with the kernel's trap disabled | graded | 0 | the grader reads the cell |
| exception_handler | swallows AssertionError, wrong answer | graded | 0 | flag: custom exception handler |
| reads_outside | reads source/, solutions/ and the gradebook | graded | full | every read fails |
| looks_around | lists every file its kernel can see | graded | full | none of the course, of the grader or of other submissions |
| fresh_state | lists its matplotlib folder before anything else runs, then loads matplotlib's fonts | graded | full | the machine's font list alone, loaded as it is |
| writes_gradebook | overwrites the course's gradebook | graded | full | the gradebook is untouched |
| huge_output | prints 100 MB | not graded | 0 | the output exceeded the file-size limit |
| fork_children | forks 300 children that exit at once | graded | full | |
| network | opens a connection to a port on the grader's loopback | graded | full | the connection fails |
| broken_json | the file is not JSON | not graded | 0 | not valid JSON |
| wrong_name | the notebook has another name | not graded | 0 | no notebook named ... |
| empty | an empty folder | not graded | 0 | no notebook named ... |

And one submission of notebook 03 (`FD_BACKWARD`): a `backward` that nudges
every input and re-evaluates the graph (a central difference) instead of
propagating gradients. It matches finite differences to about 1e-10, so only
the comparison with the exact derivative, far below that accuracy, tells it
apart: graded, the backward exercise scores 0, the other exercises keep
their points (except the trained network's, which the notebook trains with
the student's own backward: a finite-difference one cannot train it within
the cell's time limit).

The other exercises of the notebook keep their (right) answers and earn their
points wherever the submission is graded, except behind the input
transformer, which blanks them too. "Graded" means a score was computed from the evidence; "not graded" means no
score could be, and the record and the CSV say why. Whatever a submission
does, the batch finishes and the other students' grades are unaffected.
"""

import ast
import inspect
import json
from dataclasses import dataclass, field
from typing import Callable, Optional

import harness

ASSIGNMENT = "01-gradient-intuition"
WRONG_BODY = "    return (f(x + h) - f(x)) / h\n"


@dataclass
class Case:
    student: str
    make: Callable  # (master notebook dict, context) -> notebook dict, bytes, or None (no file)
    status: str
    central: bool  # central_difference_test earns its points
    flags: list = field(default_factory=list)
    reason: str = ""
    output: Optional[str] = None  # text the graded notebook must show
    file_name: Optional[str] = None
    others: Optional[bool] = None  # the other exercises earn theirs (default: when graded, yes)
    why: Optional[str] = None  # words the central difference's failure reasons contain
    loops: bool = False  # it runs until a time limit stops it (graded in a batch of its own, shorter limits)

    def earns(self, grade_id):
        if self.status != "graded":
            return False
        if grade_id == "central_difference_test":
            return self.central
        return True if self.others is None else self.others


QUICK = 'import matplotlib.pyplot as plt\nplt.switch_backend("agg")  # no figures drawn: a quicker run\n'


def quick(nb):
    """The notebook with a cell after the setup that draws no figures (the plots are most of its run)."""
    nb["cells"].insert(2, {"cell_type": "code", "id": "quick", "metadata": {}, "source": QUICK, "outputs": [],
                           "execution_count": None})
    return nb


def _cells(nb):
    return nb["cells"]


def _index(nb, grade_id):
    return next(i for i, c in enumerate(nb["cells"]) if harness.nbgrader_meta(c).get("grade_id") == grade_id)


def _code(source, cell_id):
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}


def _replace_solution(nb, grade_id, body):
    """Put ``body`` between the solution markers of the cell ``grade_id``."""
    cell = nb["cells"][_index(nb, grade_id)]
    lines = harness.source_text(cell).split("\n")
    start = next(i for i, line in enumerate(lines) if "BEGIN SOLUTION" in line)
    end = next(i for i, line in enumerate(lines) if "END SOLUTION" in line)
    cell["source"] = "\n".join(lines[: start + 1]) + "\n" + body + "\n".join(lines[end:])
    return nb


def _with_wrong_answer(nb):
    return _replace_solution(nb, "central_difference", WRONG_BODY)


def _after_solution(source, cell_id="added", wrong=False, body=None):
    def make(nb, ctx):
        if wrong:
            _with_wrong_answer(nb)
        if body is not None:
            _replace_solution(nb, "central_difference", body)
        nb["cells"].insert(_index(nb, "central_difference") + 1, _code(source.format(**ctx), cell_id))
        return nb
    return make


def _at_the_start(nb, source):
    nb["cells"].insert(0, _code(source, "first"))
    return nb


def _at_the_end(nb, source):
    nb["cells"].append(_code(source, "last"))
    return nb


# Every file the kernel can see beyond the system, the Python environment and its own working copy
# (the packages its notebook imports, autograder/ and backproplab/, are public and read-only)
LOOK_AROUND = """import os, sys
import autograder, backproplab
own = os.path.dirname(os.getcwd())
skip = {{'/proc', '/sys', '/dev', '/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32',
        sys.prefix, sys.base_prefix, own, os.path.dirname(autograder.__file__), os.path.dirname(backproplab.__file__)}}
seen = []
for top, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
    seen += [os.path.join(top, name) for name in files]
here = [name for top, dirs, files in os.walk(own) for name in files
        if name in ('gradebook.db', 'nbgrader_config.py') or name.endswith('.db')]
print('files seen: %d, course files here: %d' % (len(seen), len(here)), seen[:20], here)
"""


# A kernel's matplotlib folder starts with the grader's copy of the machine's font list and nothing else (no
# other submission's files), and matplotlib loads that list instead of scanning the fonts again
FRESH_STATE = """import logging, os
names = [name.split('-v')[0] for name in sorted(os.listdir(os.environ['MPLCONFIGDIR']))]
said = []
handler = logging.Handler()
handler.emit = said.append
logger = logging.getLogger('matplotlib.font_manager')
logger.addHandler(handler)
logger.setLevel(logging.INFO)
import matplotlib.font_manager
rebuilt = any('generated new fontManager' in record.getMessage() for record in said)
print('matplotlib folder at start:', names, 'font list rebuilt:', rebuilt)
"""


def _answer(body):
    return lambda nb, ctx: _replace_solution(nb, "central_difference", body)


def _edit_tests(nb, ctx):
    _with_wrong_answer(nb)
    nb["cells"][_index(nb, "central_difference_test")]["source"] = "assert True"
    return nb


def _delete_tests(nb, ctx):
    _with_wrong_answer(nb)
    del nb["cells"][_index(nb, "central_difference_test")]
    return nb


def _strip_metadata(nb, ctx):
    for cell in nb["cells"]:
        cell["metadata"].pop("nbgrader", None)
    return nb


CASES = [
    Case("honest", lambda nb, ctx: nb, "graded", True),
    Case("wrong", lambda nb, ctx: _with_wrong_answer(nb), "graded", False),
    Case("infinite_loop", _answer("    while True:\n        pass\n"), "graded", False, flags=["time limit"],
         why="stopped at its time limit", loops=True),
    Case("deaf_loop", _answer("    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                              "    while True:\n        pass\n"), "graded", False, others=False,
         flags=["ignored the interrupt"], why="stopped at its time limit", loops=True),
    Case("hangs_after", lambda nb, ctx: _at_the_end(nb, "while True:\n    pass\n"), "graded", True,
         flags=["time limit: cell"], loops=True),
    Case("deaf_after", lambda nb, ctx: _at_the_end(
        nb, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"),
         "graded", True, flags=["ignored the interrupt"], loops=True),
    Case("memory_bomb", _after_solution("try:\n    hog = bytearray(64 * 1024**3)\n"
                                        "except MemoryError:\n    print('memory limit reached')\n"),
         "graded", True, output="memory limit reached"),
    Case("sys_exit", _after_solution("import sys\nsys.exit(3)\n"), "graded", True, flags=["process exit"]),
    Case("os_exit", _after_solution("import os\nos._exit(0)\n"), "not graded", False,
         flags=["process exit"], reason="kernel died"),
    Case("edited_tests", _edit_tests, "graded", False),
    Case("deleted_tests", _delete_tests, "graded", False),
    Case("stripped_metadata", _strip_metadata, "not graded", False, reason="nbgrader metadata"),
    Case("patched_checks", _after_solution(
        "import autograder\nautograder.check_central_difference = lambda *args, **kwargs: None\n", wrong=True),
         "graded", False, flags=["patched checks"]),
    Case("patched_numpy", _after_solution(
        "import numpy as np\nimport autograder.diagnose\nnp.max = lambda *a, **k: 0.0\n"
        "autograder.diagnose.error_score = lambda *a, **k: np.zeros(1)\n", wrong=True),
         "graded", False, flags=["patched numpy"]),
    Case("input_transformer", _after_solution(
        'get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])\n', wrong=True),
         "graded", False, flags=["input transformer"], others=False),
    Case("delegates", _after_solution(
        "import contextlib\nimport autograder.delegation\n"
        "autograder.delegation.trapped = lambda paths, log: contextlib.nullcontext()\n",
        body="    from backproplab import numeric\n    return numeric.central_difference(f, x, h)\n"),
         "graded", False, why="numeric.central_difference, which already does"),
    Case("exception_handler", _after_solution(
        "def swallow(shell, etype, value, tb, tb_offset=None):\n    return None\n"
        "get_ipython().set_custom_exc((AssertionError,), swallow)\n", wrong=True),
         "graded", False, flags=["custom exception handler"]),
    Case("reads_outside", _after_solution(
        "import glob, os\nfound = []\nfor pattern in ['{root}/source/*/*.ipynb', '{root}/solutions/*/*.ipynb',"
        " '{root}/gradebook.db', '{root}/submitted/*/*/*.ipynb']:\n"
        "    for path in glob.glob(pattern):\n"
        "        try:\n            open(path, 'rb').read(10)\n            found.append(path)\n"
        "        except OSError:\n            pass\n"
        "print('read outside:', len(found))\n"), "graded", True, output="read outside: 0"),
    Case("looks_around", _after_solution(LOOK_AROUND), "graded", True, output="files seen: 0, course files here: 0"),
    Case("fresh_state", lambda nb, ctx: _at_the_start(nb, FRESH_STATE), "graded", True,
         output="matplotlib folder at start: ['fontlist'] font list rebuilt: False"),
    Case("writes_gradebook", _after_solution(
        "try:\n    open('{root}/gradebook.db', 'wb').write(b'gone')\n    print('gradebook written')\n"
        "except OSError as exc:\n    print('gradebook protected')\n"), "graded", True,
         output="gradebook protected"),
    Case("huge_output", _after_solution("import sys\nchunk = 'x' * (1024 * 1024)\n"
                                        "for _ in range(100):\n    sys.stdout.write(chunk)\n"),
         "not graded", False, reason="file-size limit"),
    Case("fork_children", _after_solution(
        "import os\nborn = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        continue\n    if pid == 0:\n        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n    born += 1\nprint('children', born)\n"), "graded", True,
         flags=["process exit"]),
    Case("network", _after_solution(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
        "    print('network reachable')\nexcept OSError:\n    print('network unreachable')\n"),
         "graded", True, output="network unreachable"),
    Case("broken_json", lambda nb, ctx: json.dumps(nb)[:-200].encode(), "not graded", False, reason="JSON"),
    Case("wrong_name", lambda nb, ctx: nb, "not graded", False, reason="no notebook named",
         file_name="Copy of gradient_intuition.ipynb"),
    Case("empty", lambda nb, ctx: None, "not graded", False, reason="no notebook named"),
]


# -- notebook 03: a backward pass that is really a central difference -------------------------

ASSIGNMENT_03 = "03-computational-graphs"


def fd_backward(nb, ctx):
    """The mutant "finite differences instead of backprop" of tests/exercises/nb03.py, as a student's cells."""
    from exercises import nb03

    module = inspect.getsource(nb03)
    wanted = {"_UNARY", "_BINARY", "_finite_difference_backward"}
    parts = [ast.get_source_segment(module, node) for node in ast.parse(module).body
             if (isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in wanted)
             or (isinstance(node, ast.FunctionDef) and node.name in wanted)]
    assert len(parts) == len(wanted), "the mutant moved"
    nb["cells"].insert(_index(nb, "backward"), _code("\n\n".join(parts), "numerical-helper"))
    return _replace_solution(nb, "backward", "    _finite_difference_backward(self, grad)\n")
