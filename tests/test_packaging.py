"""pyproject.toml and environment.yml name the same packages with the same lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {
    "matplotlib": "matplotlib-base",
    "jupyter-client": "jupyter_client",
    "dask[distributed]": "distributed",  # conda-forge's distributed brings dask-core with it
    "bleach[css]": "bleach-with-css",  # conda-forge's name for bleach plus tinycss2
}


def _req(spec: str) -> tuple[str, str]:
    m = re.match(r"([A-Za-z0-9_.-]+(?:\[[a-z,]+\])?)\s*>=\s*([0-9.]+)", spec)
    assert m, spec
    return m.group(1).lower(), m.group(2)


def test_environment_yml_in_step_with_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [s for specs in py["optional-dependencies"].values() for s in specs]
    wanted = dict(_req(s) for s in py["dependencies"] + extras)
    env = (ROOT / "environment.yml").read_text()
    conda = dict(
        _req(line.strip()[2:]) for line in env.splitlines() if re.match(r"\s+- [a-z].*>=", line)
    )
    for name, bound in wanted.items():
        assert conda.get(CONDA_NAMES.get(name, name)) == bound, name


def test_dev_install_brings_the_cluster_extra():
    # `make test` runs the Dask tests, so the dev install must include the cluster extra
    assert "-e '.[dev,cluster]'" in (ROOT / "Makefile").read_text()
