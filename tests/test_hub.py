"""A class on the course's JupyterHub, rehearsed end to end on this machine.

One hub for the whole module, started with the course's own command
(``python3 run.py hub``, jupyter/hub/jupyterhub_config.py) on 127.0.0.1, with
Linux users made for the run (an instructor and students, see tests/hubclass.py).
The instructor registers and releases notebook 01 with the course's commands;
each student, through the hub's REST API with a token of their own and their
JupyterLab's nbgrader API, fetches it, fills in the answer key (ana), half of
it (ben) or nothing (eve), and submits: ana twice, ben after fetching again
an updated release, eve after the due date; gus, who never fetched, tries to
submit. The instructor collects, grades with ``run.py grade autograde``,
writes and releases feedback and exports the grades; each student fetches
their feedback. fay does fetch, Validate and submit in Chromium, in
JupyterLab's Assignments panel. Last, the hub is stopped, and nothing of the
class may still run.

Needs Linux, root (it creates users; CI runs as root), npm (Debian's, installed
with apt-get where missing) and, for the browser, Chromium. Under CI=true a
missing one fails the tests; elsewhere they are skipped with the reason.
"""

import csv
import datetime
import io
import json
import os
import re
import shutil
import sys
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

import harness
import hubclass
import test_browser
from test_browser import CHROMIUM_ARGS, IMAGES, TIMEOUT_MS, expect, skip_or_fail, sync_playwright

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                    reason="the hub's users are Linux accounts")]

ROOT = harness.ROOT
ASSIGNMENT = "01-gradient-intuition"
NOTEBOOK = f"{ASSIGNMENT}/gradient_intuition.ipynb"
STUDENTS = ["ana", "ben", "eve", "gus", "fay"]  # ana full, ben half, eve nothing and late, gus never fetches, fay browser
ERRATUM = "Erratum (updated release): the step sizes of section 3 are h = 1e-1 ... 1e-12."


def timed(label, started):
    print(f"[hub] {label}: {time.monotonic() - started:.1f} s", flush=True)


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def solution_sources(nb):
    return {c["metadata"]["nbgrader"]["grade_id"]: harness.source_text(c) for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


# -- the class, once for the module -----------------------------------------------------------

def requirements():
    """Skip (or, under CI=true, fail) where the class cannot run; install npm where it is missing."""
    if os.geteuid() != 0:
        skip_or_fail("the hub's class needs root: it creates Linux users and starts their servers as them")
    try:
        import jupyterhub  # noqa: F401
    except ImportError as error:
        skip_or_fail(f"jupyterhub is not installed ({error}); `python3 run.py test` installs it")
    from test_environment import run

    if run.read_stamp().get("hash") != run.install_hash():
        skip_or_fail("the environment in .venv/ is not current; `python3 run.py env` updates it")
    harness.require_binary("npm", "npm")  # Debian's npm brings Node.js; run.py hub then runs `npm ci`


class Class:
    """What happened in the rehearsal, for the tests to check."""


@pytest.fixture(scope="module")
def hub():
    """The hub, its users and the instructor's course directory, with notebook 01 released; stopped at the end."""
    requirements()
    started = time.monotonic()
    hub = hubclass.HubClass(STUDENTS)
    try:
        hub.create_users()
        hub.open_checkout()
        hub.make_course_dir()
        timed("users, groups and the instructor's course directory made", started)
        hub.start()
        timed(f"`run.py hub` serving at {hub.url}", started)
        # The instructor: the roster (hub names, with the LMS ids), the assignment in the gradebook, the release.
        hub.lms = {user: str(4711 + i) for i, user in enumerate(hub.students.values())}
        roster = hub.course / "students.csv"
        roster.write_text("id,first_name,last_name,email,lms_user_id\n" + "".join(
            f"{user},{name.title()},Test,{name}@uni.example,{hub.lms[user]}\n" for name, user in hub.students.items()))
        hub.chown_to_instructor(roster)
        hub.nbgrader("db", "student", "import", "students.csv")
        hub.run_py("grade", "register", ASSIGNMENT)
        hub.nbgrader("release_assignment", ASSIGNMENT)
        timed("instructor: roster imported, 01 registered and released", started)
        yield hub
    finally:
        hub.stop()
        hub.remove()


@pytest.fixture(scope="module")
def klass(hub):
    result = Class()
    result.hub, result.started = hub, time.monotonic()
    result.key = hubclass.answer_key(ASSIGNMENT)
    result.lms = hub.lms
    rehearse(hub, result)
    return result


def rehearse(hub, result):
    """The class, step by step; each step's outcome is kept in ``result``."""
    started = result.started
    ana, ben, eve, gus = (hub.students[n] for n in ("ana", "ben", "eve", "gus"))
    key = result.key
    result.all_answers = {grade_id for kind, grade_id, _ in key if kind == "solution"}
    result.half_answers = hubclass.first_half(key)

    # Every student's JupyterLab (and the instructor's), started through the hub with the user's own token.
    users = [*hub.students.values(), hub.instructor]
    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(hub.add_user, users))
        result.servers = dict(zip(users, pool.map(hub.spawn, users)))
    timed(f"{len(users)} servers started through the hub", started)

    result.listed = {user: hub.assignments(user) for user in (ana, ben, eve)}
    result.fetched = {user: hub.action(user, "fetch") for user in (ana, ben, eve)}
    result.gus_submit = hub.action(gus, "submit")  # never fetched
    result.owner = {user: (hub.home_of(user) / NOTEBOOK).stat().st_uid for user in (ana, ben, eve)}
    timed("ana, ben and eve fetched; gus tried to submit", started)

    # ana submits the notebook as released, then fills in the answer key and submits again.
    result.ana_first = hub.action(ana, "submit")
    time.sleep(1.1)  # nbgrader's submission times have a resolution finer than this; keep them clearly apart
    nb = hubclass.fill(hub.read_notebook(ana), key, result.all_answers)
    hub.save_notebook(ana, nb)
    result.ana_second = hub.action(ana, "submit")

    # ben fills in half; the instructor releases an update; ben fetches again and submits.
    nb = hubclass.fill(hub.read_notebook(ben), key, result.half_answers)
    hub.save_notebook(ben, nb)
    result.ben_saved = solution_sources(hub.read_notebook(ben))
    release = hub.course / "course" / ASSIGNMENT
    released = json.loads((release / "gradient_intuition.ipynb").read_text(encoding="utf-8"))
    first_markdown = next(c for c in released["cells"] if c["cell_type"] == "markdown")
    first_markdown["source"] = harness.source_text(first_markdown) + "\n\n" + ERRATUM
    (release / "gradient_intuition.ipynb").write_text(json.dumps(released, indent=1), encoding="utf-8")
    (release / "errata.md").write_text(ERRATUM + "\n", encoding="utf-8")
    hub.chown_to_instructor(release)
    hub.nbgrader("release_assignment", ASSIGNMENT, "--force")
    result.ben_refetch = hub.action(ben, "fetch")
    result.ben_after = hub.read_notebook(ben)
    try:
        result.ben_errata = hub.server(ben, "GET", f"api/contents/{ASSIGNMENT}/errata.md?content=1")["content"]
    except urllib.error.HTTPError as error:  # not fetched: the test below says so
        result.ben_errata = f"errata.md is not in ben's folder ({error})"
    result.ben_submit = hub.action(ben, "submit")
    timed("ana submitted twice, ben after a release update", started)

    # The due date passes; eve submits the notebook as released.
    due = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=1)
    hub.nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
    time.sleep(max(0.0, (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1.0)
    result.eve_submit = hub.action(eve, "submit")
    result.inbound = sorted(p.name for p in (hub.exchange / hubclass.COURSE_ID / "inbound").iterdir())
    timed("eve submitted after the due date", started)

    # The instructor: collect, grade, feedback, export.
    hub.nbgrader("collect", ASSIGNMENT)
    result.collected = {user: json.loads((hub.course / "submitted" / user / NOTEBOOK).read_text(encoding="utf-8"))
                        for user in (ana, ben, eve)}
    step = time.monotonic()
    result.autograde = hub.run_py("grade", "autograde", ASSIGNMENT, check=False)
    timed(f"instructor: collected; autograded in {time.monotonic() - step:.1f} s", started)
    hub.run_py("grade", "feedback", ASSIGNMENT)
    hub.nbgrader("release_feedback", ASSIGNMENT)
    result.exports = {}
    for layout in ("long", "canvas"):  # moodle takes the same ids (tests/test_export.py)
        out = hub.course / f"grades-{layout}.csv"
        hub.run_py("grade", "export", "--out", str(out), "--layout", layout)
        result.exports[layout] = csv_rows(out)
    timed("instructor: feedback released, grades exported", started)

    result.feedback = {}
    for user in (ana, ben, eve):
        hub.action(user, "fetch_feedback")
        (submitted,) = [a for a in hub.assignments(user) if a["status"] == "submitted"]
        local = [s["local_feedback_path"] for s in submitted["submissions"] if s.get("local_feedback_path")]
        result.feedback[user] = [hub.server(user, "GET", f"api/contents/{quote(path)}/gradient_intuition.html"
                                            "?content=1&type=file&format=text")["content"] for path in local]
    timed("ana, ben and eve fetched their feedback", started)


# -- 1. the hub and its profiles --------------------------------------------------------------

def listening_addresses(port):
    """The local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_the_hub_listens_on_127_0_0_1_only(klass):
    port = int(klass.hub.url.rsplit(":", 1)[1])
    assert listening_addresses(port) == ["0100007F"], listening_addresses(port)  # 127.0.0.1, nothing else


def lab_page_config(hub, user):
    page = hub.server(user, "GET", "lab")
    return json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])


def test_students_get_the_assignment_list_and_validate_and_no_formgrader(klass):
    hub = klass.hub
    ana = hub.students["ana"]
    disabled = lab_page_config(hub, ana)["disabledExtensions"]
    assert "@jupyter/nbgrader:formgrader" in disabled and "@jupyter/nbgrader:create-assignment" in disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    with pytest.raises(urllib.error.HTTPError, match="404"):
        hub.server(ana, "GET", "formgrader/manage_assignments")
    assert [a["assignment_id"] for a in klass.listed[ana]] == [ASSIGNMENT]


def test_the_instructor_gets_the_formgrader_on_their_course_directory(klass):
    hub = klass.hub
    assert "@jupyter/nbgrader:formgrader" not in lab_page_config(hub, hub.instructor)["disabledExtensions"]
    page = hub.server(hub.instructor, "GET", "formgrader/manage_assignments")
    assert "<title>nbgrader formgrade</title>" in page
    course = hub.server(hub.instructor, "GET", "formgrader/api/assignments")
    assert [a["name"] for a in course] == [ASSIGNMENT], course


def test_servers_run_as_their_users_and_fetched_files_belong_to_the_student(klass):
    import pwd

    hub = klass.hub
    for user, uid in klass.owner.items():
        assert uid == pwd.getpwnam(user).pw_uid, f"{user}'s fetched notebook belongs to uid {uid}"
    running_as = {pwd.getpwuid(uid).pw_name for uid, _ in hubclass.processes_of(hub.uids()).values()}
    assert set(hub.students.values()) | {hub.instructor} <= running_as


def test_the_exchange_has_the_permissions_nbgrader_documents(klass):
    exchange = klass.hub.exchange
    names = ("", "backprop", "backprop/outbound", f"backprop/outbound/{ASSIGNMENT}", "backprop/inbound",
             "backprop/feedback")
    modes = {name: os.stat(exchange / name).st_mode & 0o7777 for name in names}
    assert modes[""] & 0o777 == 0o777 and modes[""] & 0o1000  # everyone writes; the sticky bit keeps folders
    assert modes["backprop"] == modes["backprop/outbound"] == modes[f"backprop/outbound/{ASSIGNMENT}"] == 0o755
    assert modes["backprop/inbound"] == 0o2733  # students write into it and cannot list it
    assert modes["backprop/feedback"] == 0o711  # a page is found by the hash of one's own submission
    import pwd

    owner = pwd.getpwuid(os.stat(exchange / "backprop").st_uid).pw_name
    assert owner == klass.hub.instructor


# -- 2. the class: scores and feedback --------------------------------------------------------------

def long_rows(klass):
    header, *rows = klass.exports["long"]
    return {row[header.index("student")]: dict(zip(header, row)) for row in rows}


def test_every_student_fetched_the_release(klass):
    for user, reply in klass.fetched.items():
        assert reply["success"], reply
        assert [a["status"] for a in reply["value"] if a["assignment_id"] == ASSIGNMENT] == ["fetched"]


def test_scores_are_full_marks_half_and_zero_as_the_answer_key_says(klass):
    hub, key = klass.hub, klass.key
    assert klass.autograde.returncode == 0, klass.autograde.stdout + klass.autograde.stderr
    rows = long_rows(klass)
    expected = {hub.students["ana"]: hubclass.expected_score(key, klass.all_answers),
                hub.students["ben"]: hubclass.expected_score(key, klass.half_answers),
                hub.students["eve"]: hubclass.expected_score(key, set())}
    full = full_marks(key)
    assert expected[hub.students["ana"]] == full and 0 < expected[hub.students["ben"]] < full
    for user, score in expected.items():
        assert rows[user]["status"] == "graded", rows[user]
        assert float(rows[user]["score"]) == score, (user, rows[user]["score"], score)
        assert float(rows[user]["max_score"]) == full
    exercise = hubclass.tested_by(key)
    for kind, grade_id, points in key:  # ben's score cell by cell: the exercises he answered, nothing else
        if kind == "test":
            earned = float(rows[hub.students["ben"]][f"{ASSIGNMENT}/{grade_id}"])
            assert earned == (points if exercise[grade_id] in klass.half_answers else 0), grade_id


def full_marks(key):
    return sum(points for kind, _, points in key if kind == "test")


def test_each_student_fetches_feedback_that_shows_their_score(klass):
    rows = long_rows(klass)
    full = full_marks(klass.key)
    for user, pages in klass.feedback.items():
        assert len(pages) == 1, f"{user}: {len(pages)} feedback pages"
        score = float(rows[user]["score"])
        assert re.search(rf"Score:\s*{score:g}(\.0+)?\s*/\s*{full:g}(\.0+)?", pages[0]), (user, pages[0][:2000])
        assert "BEGIN HIDDEN TESTS" not in pages[0]


# -- 5. habits and bad input -------------------------------------------------------------------------

def test_a_second_submission_replaces_the_first(klass):
    hub = klass.hub
    ana = hub.students["ana"]
    assert klass.ana_first["success"] and klass.ana_second["success"]
    assert sum(name.startswith(f"{ana}+{ASSIGNMENT}+") for name in klass.inbound) == 2  # both reached the exchange
    collected = solution_sources(klass.collected[ana])
    answers = {grade_id: text for kind, grade_id, text in klass.key if kind == "solution"}
    assert collected == answers  # the latest, filled in; not the first, as released
    assert float(long_rows(klass)[ana]["score"]) == full_marks(klass.key)


def test_a_submission_after_the_due_date_is_late_in_the_export(klass):
    hub = klass.hub
    rows = long_rows(klass)
    assert klass.eve_submit["success"], klass.eve_submit
    assert rows[hub.students["eve"]]["late"] == "yes", rows[hub.students["eve"]]
    assert rows[hub.students["ana"]]["late"] == rows[hub.students["ben"]]["late"] == "no"
    assert rows[hub.students["eve"]]["duedate"] and rows[hub.students["eve"]]["timestamp"]


def test_a_student_who_never_fetched_cannot_submit_and_is_told_to_fetch_first(klass):
    hub = klass.hub
    gus = hub.students["gus"]
    reply = klass.gus_submit
    assert reply["success"] is False
    message = reply["value"].strip().splitlines()[-1]
    assert f"You have not fetched {ASSIGNMENT}, so there is nothing to submit" in message, message
    assert "Fetch it first" in message
    assert not any(name.startswith(f"{gus}+") for name in klass.inbound)
    assert long_rows(klass)[gus]["status"] == "missing"


def test_fetching_again_after_a_release_update_keeps_the_students_work(klass):
    hub = klass.hub
    assert klass.ben_refetch["success"] and klass.ben_submit["success"]
    assert solution_sources(klass.ben_after) == klass.ben_saved  # his answers, as he saved them
    assert ERRATUM not in json.dumps(klass.ben_after)  # his notebook was not replaced by the new release
    assert klass.ben_errata.strip() == ERRATUM  # the file the update added did arrive
    assert solution_sources(klass.collected[hub.students["ben"]]) == klass.ben_saved


def test_hub_user_names_map_to_lms_ids_in_the_exports(klass):
    hub = klass.hub
    graded = [hub.students[n] for n in ("ana", "ben", "eve")]
    rows = long_rows(klass)
    canvas_header, points, *canvas = klass.exports["canvas"]
    by_id = {row[canvas_header.index("ID")]: row for row in canvas}
    for user in graded:
        assert by_id[klass.lms[user]][canvas_header.index(ASSIGNMENT)] == rows[user]["score"]
    assert set(by_id) == set(klass.lms.values())  # every student by the LMS's id, no hub name there
    assert set(rows) == set(hub.students.values())  # the long layout keeps the hub names


# -- 3. in a real browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    path = harness.require_binary("chromium", "chromium")
    if sync_playwright is None:
        skip_or_fail(test_browser.MISSING)
    return path


def test_a_student_fetches_validates_and_submits_in_the_assignments_panel(hub, chromium, tmp_path):
    fay = hub.students["fay"]
    key = hubclass.answer_key(ASSIGNMENT)
    answers = {grade_id: text for kind, grade_id, text in key if kind == "solution"}
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page = context.new_page()
            page.goto(f"{hub.url}/hub/login")
            page.locator("#username_input").fill(fay)
            page.locator("#password_input").fill(hub.passwords[fay])  # PAM: her Linux password
            page.locator("#login_submit").click()
            expect(page.locator("#jp-main-dock-panel")).to_be_visible()
            assert f"/user/{fay}/lab" in page.url, page.url
            timed("fay: logged in with her password, her JupyterLab open", started)

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
            labels = [text for text in page.locator(".lm-Menu-itemLabel").all_inner_texts() if text.strip()]
            assert labels == ["Assignment List"], labels  # no formgrader, no course list for a student
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Assignment List$")).click()
            released = page.locator("#released_assignments_list")
            fetched = page.locator("#fetched_assignments_list")
            expect(released.locator(".list_item .item_name", has_text=ASSIGNMENT)).to_be_visible()
            released.locator(".list_item .item_status button", has_text="Fetch").click()
            expect(fetched.locator(".list_item .item_name", has_text=ASSIGNMENT).first).to_be_visible()
            timed("fay: fetched in the Assignments panel", started)

            hub.add_user(fay)
            nb = hubclass.fill(hub.read_notebook(fay), key, answers)  # her work, saved
            hub.save_notebook(fay, nb)
            fetched.locator("a", has_text=ASSIGNMENT).click()  # unfolds the assignment's notebooks
            notebook = fetched.locator(".collapse.in .list_item", has_text="gradient_intuition")
            notebook.locator(".item_status button", has_text="Validate").click()
            dialog = page.locator(".jp-Dialog")
            expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=300_000)
            dialog.locator(".jp-mod-accept").click()
            timed("fay: validated in the panel", started)

            fetched.locator(".list_item .item_status button", has_text="Submit").click()
            submitted = page.locator("#submitted_assignments_list")
            expect(submitted.locator(".list_item .item_name", has_text=ASSIGNMENT).first).to_be_visible()
            expect(submitted).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC"))  # its time
            news = page.locator(".jp-toast-button", has_text=re.compile(r"^No$"))  # JupyterLab asks about its news
            if news.count():
                news.first.click()
                expect(page.locator(".Toastify__toast")).to_have_count(0)
            if not fetched.locator(".collapse.in").count():
                fetched.locator("a", has_text=ASSIGNMENT).click()
            expect(fetched.locator(".collapse.in .list_item", has_text="gradient_intuition")).to_be_visible()
            folder = IMAGES if os.environ.get("BACKPROPLAB_UPDATE_IMAGES") == "1" else tmp_path
            page.screenshot(path=str(folder / "hub-assignments.png"))
            timed("fay: submitted", started)
        finally:
            browser.close()
    inbound = hub.exchange / hubclass.COURSE_ID / "inbound"
    (mine,) = [p for p in inbound.iterdir() if p.name.startswith(f"{fay}+{ASSIGNMENT}+")]
    import pwd

    assert mine.stat().st_uid == pwd.getpwnam(fay).pw_uid  # written by her own Linux user
    sent = solution_sources(json.loads((mine / "gradient_intuition.ipynb").read_text(encoding="utf-8")))
    assert sent == answers


# -- the end: nothing left running -------------------------------------------------------------------

def test_stopping_the_hub_stops_every_server_and_the_proxy(hub):
    hub.spawn(hub.students["gus"])  # running already after the tests above; started here when run alone
    assert hubclass.processes_of(hub.uids()), "the class's servers should be running before the hub stops"
    assert hub.proxy_pid() and hubclass.alive(hub.proxy_pid())
    leftovers = hub.stop()
    assert hub.process.returncode is not None
    assert leftovers == {}, f"still running after the hub stopped: {leftovers}\n{hub.log_tail()}"


# -- 4. the same class on Kubernetes (Zero to JupyterHub) -----------------------------------------------

def test_the_z2jh_values_carry_the_same_profiles_and_exchange():
    """jupyter/hub/z2jh-values.yaml is not run here (no cluster); it must name what the one-machine hub uses."""
    import types

    import yaml

    values = yaml.safe_load((ROOT / "jupyter" / "hub" / "z2jh-values.yaml").read_text(encoding="utf-8"))
    single = values["singleuser"]
    (mount,) = single["storage"]["extraVolumeMounts"]
    assert mount["mountPath"] == single["extraEnv"]["BACKPROPLAB_EXCHANGE"] == "/srv/nbgrader/exchange"
    for profile in ("hub-student", "hub-instructor"):  # the profiles' default exchange is the mounted one
        assert 'or "/srv/nbgrader/exchange"' in (ROOT / "jupyter" / profile / "nbgrader_config.py").read_text()
    assert single["extraEnv"]["NB_USER"] == "{username}" and single["uid"] == 0

    environment = {}
    c = types.SimpleNamespace(KubeSpawner=types.SimpleNamespace(environment=environment))
    for code in values["hub"]["extraConfig"].values():
        exec(compile(code, "z2jh-values.yaml", "exec"), {"c": c})

    def spawner(user_id, *groups):
        user = types.SimpleNamespace(id=user_id, groups=[types.SimpleNamespace(name=g) for g in groups])
        return types.SimpleNamespace(user=user)

    instructors = values["hub"]["config"]["JupyterHub"]["load_groups"]
    (group,) = instructors
    for who, expected in ((spawner(7), ["hub-student"]), (spawner(8, group), ["hub-instructor", "instructor"])):
        folders = environment["JUPYTER_CONFIG_PATH"](who).split(os.pathsep)
        assert [Path(f).name for f in folders] == expected
        for folder in folders:  # the image holds the repository at /opt/backproplab
            assert (ROOT / Path(folder).relative_to("/opt/backproplab")).is_dir(), folder
    assert environment["NB_UID"](spawner(7)) != environment["NB_UID"](spawner(8)) != "1000"
