"""Start grading workers on a Slurm cluster or on Kubernetes, with Dask's own tools.

    python deploy/dask/cluster.py slurm [--jobs 4]           # dask-jobqueue, deploy/dask/slurm.yaml
    python deploy/dask/cluster.py kubernetes [--workers 16]  # dask-kubernetes' operator, the spec below
    python deploy/dask/cluster.py slurm --print              # the job script, contacting no cluster
    python deploy/dask/cluster.py kubernetes --print         # the DaskCluster resource, contacting no cluster

Run it with the course's environment (.venv/bin/python). It starts the
cluster, prints the scheduler's address for ``python3 run.py grade autograde
ASSIGNMENT --scheduler ADDRESS`` (or ``c.DaskGrading.scheduler`` in
nbgrader_config.py), and keeps the cluster up until Ctrl-C. Every worker
runs one thread: one submission at a time, one per core. docs/grading.md
tells what isolation each gives.
"""

import argparse
import copy
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
NAME = "backproplab-grading"
IMAGE = "backproplab-grader:0.2.0"  # built with deploy/dask/Dockerfile
# one worker per pod: one core, and 5 GB (the sandbox's 4 GB limit and the worker itself)
RESOURCES = {"requests": {"cpu": "1", "memory": "5G"}, "limits": {"cpu": "1", "memory": "5G"}}
# bubblewrap as root in the pod: the mount, PID and network namespaces need CAP_SYS_ADMIN, and the runtime's
# default seccomp and AppArmor profiles refuse unshare and mount. The submissions themselves run as an
# unprivileged user with no capability at all (autograder/sandbox.py).
SANDBOX = {"runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]},
           "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"}}


def slurm_settings():
    """deploy/dask/slurm.yaml's settings, as SLURMCluster's keyword arguments (``local-directory`` ->
    ``local_directory``)."""
    found = yaml.safe_load((HERE / "slurm.yaml").read_text(encoding="utf-8"))
    return {key.replace("-", "_"): value for key, value in found["jobqueue"]["slurm"].items()}


def slurm_cluster(**kwargs):
    """dask-jobqueue's SLURMCluster as deploy/dask/slurm.yaml sets it (its scheduler starts here; no job yet)."""
    from dask_jobqueue import SLURMCluster

    settings = slurm_settings()
    settings["job_name"] = settings.pop("name")
    return SLURMCluster(**{**settings, **kwargs})


class _Plain(yaml.SafeDumper):
    def ignore_aliases(self, data):  # the resources are one dict twice: written out twice, no YAML anchor
        return True


def to_yaml(spec):
    return yaml.dump(spec, Dumper=_Plain, sort_keys=False)


def kubernetes_spec(image=IMAGE, workers=4, name=NAME):
    """The DaskCluster resource: what dask-kubernetes' make_cluster_spec builds, with one thread per worker
    and the security context bubblewrap needs."""
    from dask_kubernetes.operator import make_cluster_spec

    spec = copy.deepcopy(make_cluster_spec(name=name, image=image, n_workers=workers, resources=RESOURCES,
                                           worker_command="dask worker"))
    (worker,) = spec["spec"]["worker"]["spec"]["containers"]
    worker["args"] += ["--nthreads", "1", "--local-directory", "/tmp/dask-grading"]
    worker["securityContext"] = copy.deepcopy(SANDBOX)
    return spec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("where", choices=["slurm", "kubernetes"])
    parser.add_argument("--jobs", type=int, default=1, help="Slurm jobs (each of deploy/dask/slurm.yaml's cores)")
    parser.add_argument("--workers", type=int, default=4, help="Kubernetes worker pods (one core each)")
    parser.add_argument("--image", default=IMAGE, help=f"the workers' image (default {IMAGE})")
    parser.add_argument("--print", action="store_true", help="print the job script or the resource, start nothing")
    args = parser.parse_args(argv)
    if args.where == "kubernetes":
        spec = kubernetes_spec(args.image, args.workers)
        if args.print:
            print(to_yaml(spec), end="")
            return 0
        from dask_kubernetes.operator import KubeCluster

        cluster = KubeCluster(custom_cluster_spec=spec)
    else:
        cluster = slurm_cluster()
        if args.print:
            print(cluster.job_script(), end="")
            cluster.close()
            return 0
        cluster.scale(jobs=args.jobs)
    print(f"scheduler: {cluster.scheduler_address}", flush=True)
    print("grade with: python3 run.py grade autograde ASSIGNMENT --scheduler " + cluster.scheduler_address, flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
