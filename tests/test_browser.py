"""The course in a real browser: JupyterLab as a student and as an instructor sees it.

Playwright drives Debian's Chromium (installed with apt-get where missing, see
``harness.require_binary``), headless and kept off the network, against a
JupyterLab that each test starts on 127.0.0.1 with a profile of jupyter/.
They take the screenshots that the README shows; with BACKPROPLAB_UPDATE_IMAGES=1
they save them to docs/img/ (otherwise to a temporary folder, so that a test run
leaves the checkout as it was). Each step prints its time.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

import harness

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as error:  # the test extra is not installed
    expect = sync_playwright = None
    MISSING = f"playwright is not installed ({error}); `python3 run.py test` installs it"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name == "nt", reason="the servers are stopped by process group")]

ROOT = harness.ROOT
NOTEBOOK_01 = "01-gradient-intuition/gradient_intuition.ipynb"
TOKEN = "browser-test-token"
IMAGES = ROOT / "docs" / "img"  # rewritten only with BACKPROPLAB_UPDATE_IMAGES=1
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 120_000  # generous: two cores, a kernel start, nbgrader validating
URLS = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never a proxy


def timed(label, started):
    print(f"[browser] {label}: {time.monotonic() - started:.1f} s", flush=True)


# -- a JupyterLab of its own ------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jupyter_environ(tmp, profile=None):
    """os.environ with Jupyter's state in ``tmp`` and ``profile`` (jupyter/NAME) in force."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp / name.lower())
    if profile:
        env["JUPYTER_CONFIG_PATH"] = str(ROOT / "jupyter" / profile)
    # No question about Jupyter news over the page (nothing is fetched either way), and
    # every cell laid out at once, so that a cell scrolled to the top stays there.
    settings = tmp / "jupyterlab_settings_dir" / "@jupyterlab"
    for plugin, value in [("apputils-extension/notification", {"fetchNews": "false"}),
                          ("notebook-extension/tracker", {"windowingMode": "none"})]:
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return env


def get(url, timeout=10):
    with URLS.open(url, timeout=timeout) as response:
        return response.status, response.geturl(), response.read().decode("utf-8", "replace")


def wait_until_serving(url, process, log, timeout=120):
    """Poll ``url`` until it answers; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            return get(url)
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {url} in {timeout} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.3)


def stop(process):
    """End the server's whole process group (it and its kernels), politely first."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # kernels left behind, if any
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


@contextmanager
def serving(command, *, cwd, env, log, token):
    """Run a server command in its own process group; yield its base URL; stop it."""
    port = free_port()
    command = [*command, "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/api/status?token={token}", process, log)
        timed("server up", started)
        yield base
    finally:
        stop(process)


def lab(root_dir, tmp, profile, token=TOKEN):
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return serving(command, cwd=root_dir, env=jupyter_environ(tmp, profile),
                   log=tmp / "server.log", token=token)


# -- the browser ----------------------------------------------------------------------

def skip_or_fail(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    print(f"skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    started = time.monotonic()
    chromium = harness.require_binary("chromium", "chromium")
    if sync_playwright is None:
        skip_or_fail(MISSING)
    timed("chromium ready", started)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def picture(page, name, tmp):
    """Screenshot to docs/img/NAME when BACKPROPLAB_UPDATE_IMAGES=1, else into tmp."""
    folder = IMAGES if os.environ.get("BACKPROPLAB_UPDATE_IMAGES") == "1" else tmp
    page.screenshot(path=str(folder / name))


def open_lab(page, url):
    page.goto(url)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible()


def menu(page, name, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{name}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).click()


def solutions(assignment):
    """{grade_id: text} of the master's solution cells, without the BEGIN/END SOLUTION lines."""
    found = {}
    for cell in harness.load(harness.master(assignment))["cells"]:
        meta = harness.nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("solution"):
            lines = [line for line in harness.source_text(cell).splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            found[meta["grade_id"]] = "\n".join(lines)
    return found


def code_cell(page, first_line):
    return page.locator(".jp-CodeCell").filter(has=page.locator(".cm-line", has_text=first_line)).first


def replace_cell_text(page, cell, text):
    """Click into the cell's editor, select all and insert ``text`` as it is (no auto-indent)."""
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def validate(page, outcome):
    """Press Validate and wait for nbgrader's dialog; ``outcome`` is "success" or "failed"."""
    page.locator("jp-button.validate-button").click()
    message = page.locator("#validation-message")
    expect(message).to_be_visible(timeout=300_000)
    expect(message).to_have_class(re.compile(rf"\bvalidation-{outcome}\b"))
    return message


def close_dialog(page):
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)


# -- the tests ------------------------------------------------------------------------

def test_student_solves_notebook_01_runs_it_and_validates(page, tmp_path):
    started = time.monotonic()
    root = tmp_path / "course"
    shutil.copytree(ROOT / "course", root)
    answers = solutions("01-gradient-intuition")
    with lab(root, tmp_path, "student") as base:
        open_lab(page, f"{base}/lab/tree/{NOTEBOOK_01}?token={TOKEN}")
        expect(page.locator("jp-button.validate-button")).to_be_visible()
        expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_have_count(0)
        page.keyboard.press("ControlOrMeta+b")  # hide the file browser
        timed("student: notebook open", started)

        message = validate(page, "failed")
        assert "NotImplementedError" in message.inner_text()
        close_dialog(page)
        timed("student: the untouched notebook fails validation", started)

        for text in answers.values():
            replace_cell_text(page, code_cell(page, text.splitlines()[0]), text)
        menu(page, "Run", "Run All Cells")
        passed = page.locator(".jp-OutputArea-output", has_text=re.compile(r"^OK "))
        expect(passed).to_have_count(len(harness.graded_test_cells(harness.load(root / NOTEBOOK_01))))
        expect(page.locator(".jp-InputPrompt", has_text="[*]")).to_have_count(0)
        expect(page.locator(".jp-OutputArea-output", has_text="Traceback")).to_have_count(0)
        timed("student: solved and run", started)
        first = code_cell(page, next(iter(answers.values())).splitlines()[0])
        first.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        picture(page, "student-notebook.png", tmp_path)

        message = validate(page, "success")
        assert "Success! Your notebook passes all the tests." in message.inner_text()
        picture(page, "student-validate.png", tmp_path)
        timed("student: validated", started)


def graded_course(tmp):
    """A course directory with notebook 01 generated and one submission autograded."""
    course = tmp / "course-dir"
    (course / "source").mkdir(parents=True)
    shutil.copytree(harness.SOURCE / "01-gradient-intuition", course / "source" / "01-gradient-intuition")
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (course / "nbgrader_config.py").write_text(config + f"\nc.Exchange.root = {str(tmp / 'exchange')!r}\n")
    env = jupyter_environ(tmp)
    harness.nbgrader(["generate_assignment", "01-gradient-intuition", "--force"], course, env=env)
    harness.submit(course, "alice", "01-gradient-intuition", harness.master("01-gradient-intuition"))
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student("alice", first_name="Alice", last_name="Moreira")
    from autograder import grade  # the instructor's own command: sandboxed, scores recomputed from evidence

    (result,) = grade.autograde(course, "01-gradient-intuition", log=lambda *_: None)
    assert result["status"] == "graded", result["reason"]
    return course


def test_instructor_sees_the_autograded_score_in_the_formgrader(page, tmp_path):
    started = time.monotonic()
    course = graded_course(tmp_path)
    ((score, max_score),) = harness.scores(course, "01-gradient-intuition").values()
    assert score == max_score > 0
    timed("instructor: course generated and autograded", started)
    with lab(course, tmp_path, "instructor") as base:
        open_lab(page, f"{base}/lab?token={TOKEN}")
        page.keyboard.press("ControlOrMeta+b")  # hide the file browser
        menu(page, "Nbgrader", "Formgrader")
        formgrader = page.frame_locator("#formgrader-iframe iframe")
        row = formgrader.locator("tr", has_text="01-gradient-intuition")
        expect(row).to_be_visible()
        row.locator("a", has_text=re.compile(r"^1$")).click()  # the number of submissions
        student = formgrader.locator("tr", has_text="alice")
        expect(student).to_be_visible()
        expect(student.get_by_role("gridcell", name=f"{score:g} / {max_score:g}", exact=True)).to_be_visible()
        picture(page, "instructor-formgrader.png", tmp_path)
        timed("instructor: formgrader shows the score", started)


def test_the_readme_command_serves_notebook_01_with_the_student_profile(tmp_path):
    """`python3 run.py lab --no-browser --port P` on the environment that exists: no reinstall."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 run.py lab --no-browser --port" in readme
    from test_environment import run

    if run.read_stamp().get("hash") != run.install_hash():
        skip_or_fail("the environment in .venv/ is not current; `python3 run.py env` updates it")
    had_work = (ROOT / "work").exists()
    started = time.monotonic()
    log = tmp_path / "run-py.log"
    try:
        command = [sys.executable, str(ROOT / "run.py"), "lab"]
        with serving(command, cwd=ROOT, env=jupyter_environ(tmp_path), log=log, token=TOKEN) as base:
            status, url, _ = get(f"{base}/?token={TOKEN}")
            assert status == 200 and urllib.parse.urlsplit(url).path == f"/lab/tree/{NOTEBOOK_01}", url
            status, _, body = get(f"{base}/api/contents/{NOTEBOOK_01}?token={TOKEN}&content=0")
            assert status == 200 and json.loads(body)["type"] == "notebook"
            _, _, page = get(f"{base}/lab?token={TOKEN}")
            config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])
            assert "@jupyter/nbgrader:formgrader" in config["disabledExtensions"]
            with pytest.raises(urllib.error.HTTPError, match="404"):
                get(f"{base}/formgrader?token={TOKEN}")
            timed("run.py lab: notebook 01 served", started)
    finally:
        if not had_work:
            shutil.rmtree(ROOT / "work", ignore_errors=True)
    assert "installing" not in log.read_text(), log.read_text()


# -- a Binder-like environment ---------------------------------------------------------

def binder_environment(tmp):
    """A venv made as Binder makes it: environment.yml's pip list, then postBuild, for real."""
    import yaml

    spec = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    prefix = tmp / "binder-env"
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True)
    env = dict(os.environ, PATH=str(prefix / "bin") + os.pathsep + os.environ.get("PATH", ""),
               VIRTUAL_ENV=str(prefix), PIP_DISABLE_PIP_VERSION_CHECK="1")
    # --no-compile: writing the bytecode of every package (a minute of CPU) is beside what this test shows
    for step in (["pip", "install", "--quiet", "--no-compile", *pins], ["bash", str(ROOT / "postBuild"), str(prefix)]):
        done = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(step[:3])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return prefix, env


def test_a_binder_environment_opens_notebook_01_with_validate_only(page, tmp_path):
    started = time.monotonic()
    prefix, binder_env = binder_environment(tmp_path)
    timed("binder: environment.yml installed and postBuild run", started)
    root = tmp_path / "repo-copy"
    shutil.copytree(ROOT / "course", root / "course")
    env = jupyter_environ(tmp_path)  # Jupyter's state in tmp_path; no profile: postBuild installed it
    env["PATH"] = binder_env["PATH"]
    env["VIRTUAL_ENV"] = str(prefix)
    command = [str(prefix / "bin" / "python"), "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with serving(command, cwd=root, env=env, log=tmp_path / "binder.log", token=TOKEN) as base:
        with pytest.raises(urllib.error.HTTPError):
            get(f"{base}/formgrader?token={TOKEN}")  # the formgrader is off in the student profile
        open_lab(page, f"{base}/lab/tree/course/{NOTEBOOK_01}?token={TOKEN}")
        expect(page.locator("jp-button.validate-button")).to_be_visible()
        expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_have_count(0)
        message = validate(page, "failed")
        assert "NotImplementedError" in message.inner_text()
        timed("binder: notebook 01 validated (untouched: failures reported)", started)
