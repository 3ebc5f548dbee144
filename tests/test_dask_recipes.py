"""The cluster recipes of docs/grading.md, rendered without contacting any cluster.

deploy/dask/cluster.py starts grading workers with dask-jobqueue (Slurm,
settings in deploy/dask/slurm.yaml) or dask-kubernetes (the DaskCluster
resource in deploy/dask/kubernetes.yaml). These tests render what each would
submit: the job script SLURMCluster writes, and the spec dask-kubernetes'
make_cluster_spec builds, with what grading adds to it.
"""

import copy
import re
import subprocess
import sys
from pathlib import Path

import yaml

import harness
from autograder import grade

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "dask"


recipes = harness.load_module(DEPLOY / "cluster.py", "dask_recipes")


def test_the_slurm_job_script_starts_single_threaded_workers_with_the_course_environment():
    settings = yaml.safe_load((DEPLOY / "slurm.yaml").read_text(encoding="utf-8"))["jobqueue"]["slurm"]
    cluster = recipes.slurm_cluster()  # a scheduler here, on this machine; sbatch is never called
    try:
        script = cluster.job_script()
        address = cluster.scheduler_address
    finally:
        cluster.close()
    lines = script.splitlines()
    assert "#SBATCH -J backproplab-grading" in lines
    assert f"#SBATCH --cpus-per-task={settings['cores']}" in lines
    assert "#SBATCH -t 04:00:00" in lines
    assert re.search(r"^#SBATCH --mem=\d+G$", script, re.M)
    (command,) = [line for line in lines if "distributed.cli.dask_worker" in line]
    assert command.startswith(f"{sys.executable} -m distributed.cli.dask_worker {address} ")
    assert "--nthreads 1" in command and f"--nworkers {settings['processes']}" in command
    assert "--local-directory $TMPDIR" in command and "--death-timeout 120" in command
    exported = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export DASK_"))
    assert _quiet(exported), exported


def test_the_kubernetes_resource_is_what_dask_kubernetes_builds_with_the_sandbox_added():
    from dask_kubernetes.operator import make_cluster_spec

    committed = yaml.safe_load((DEPLOY / "kubernetes.yaml").read_text(encoding="utf-8"))
    built = recipes.kubernetes_spec()
    assert committed == yaml.safe_load(recipes.to_yaml(built)), "run: python deploy/dask/cluster.py kubernetes --print"
    assert (committed["apiVersion"], committed["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")

    plain = copy.deepcopy(make_cluster_spec(name=recipes.NAME, image=recipes.IMAGE, n_workers=4,
                                            resources=recipes.RESOURCES, worker_command="dask worker"))
    (worker,) = committed["spec"]["worker"]["spec"]["containers"]
    (plain_worker,) = plain["spec"]["worker"]["spec"]["containers"]
    assert worker["args"][:len(plain_worker["args"])] == plain_worker["args"]
    assert worker["args"][len(plain_worker["args"]):] == ["--nthreads", "1", "--local-directory",
                                                          "/tmp/dask-grading"]
    assert worker["securityContext"]["capabilities"] == {"add": ["SYS_ADMIN"]}
    assert worker["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    # nothing else differs from what dask-kubernetes builds
    del worker["securityContext"], worker["args"], plain_worker["args"]
    assert yaml.safe_load(recipes.to_yaml(committed)) == yaml.safe_load(recipes.to_yaml(plain))
    assert committed["spec"]["worker"]["replicas"] == 4


def test_the_recipe_script_prints_both_without_a_cluster():
    for where, expected in [("kubernetes", "kind: DaskCluster"), ("slurm", "#SBATCH --cpus-per-task=8")]:
        done = subprocess.run([sys.executable, str(DEPLOY / "cluster.py"), where, "--print"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_the_workers_image_has_the_sandbox_and_the_pinned_environment():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "bubblewrap" in dockerfile and "util-linux" in dockerfile  # bwrap, and setpriv
    assert "FROM python:3.11" in dockerfile and "pip install --no-cache-dir ." in dockerfile
    assert recipes.IMAGE in dockerfile
    env = dict(pair.split("=", 1) for pair in re.findall(r"\b(DASK_\w+=\S+)", dockerfile))
    assert _quiet(env), env


def _quiet(env):
    """True when these environment variables give Dask the housekeeping settings of a local batch."""
    import dask
    import distributed  # noqa: F401  (its defaults, under the settings)

    found = dask.config.collect_env(env)
    return len(env) == len(grade.QUIET_DASK) and all(
        dask.config.get(key, config=found) == value for key, value in grade.QUIET_DASK.items())
