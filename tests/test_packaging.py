"""The configs are found from an editable install and from a built wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sweeplab.paths import config_dir

REPO = Path(__file__).resolve().parents[1]


def test_editable_install_finds_the_repo_configs():
    assert config_dir() == REPO / "conf"
    assert (config_dir() / "config.yaml").is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("sweeplab-*.whl"))


def test_wheel_ships_every_config_inside_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted(REPO.joinpath("conf").rglob("*.yaml")):
        assert f"sweeplab/conf/{path.relative_to(REPO / 'conf').as_posix()}" in names
    assert "multirun_analysis/__main__.py" in names
    assert "hydra_plugins/sweeplab_sweeper/sweeper.py" in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def test_cli_runs_from_the_unpacked_wheel_with_its_own_configs(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = subprocess.run(
        [sys.executable, "-c", "import sweeplab.paths as p; print(p.config_dir())"],
        env={"PYTHONPATH": str(site), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()) == site / "sweeplab" / "conf"
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sweeplab",
            "model=rnn",
            "seq_len=4",
            "trainer.steps=2",
            "trainer.eval_every=1",
            "data.eval_size=100",
            "trainer.batch_size=4",
            "model.hidden_size=4",
            f"hydra.run.dir={run_dir}",
        ],
        env={"PYTHONPATH": str(site), "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # Hydra records where it read the configs from: the package inside the wheel, not the repo.
    assert f"path: {site / 'sweeplab' / 'conf'}" in (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert (run_dir / "summary.json").is_file()
