"""A few training steps end to end: on tiny IDX files, on mnist5k, and the CLI with interpolate."""

import csv
import json
import math

import pytest
import torch

from sweeplab.contract import samples_file
from sweeplab.errors import ConfigError
from sweeplab.runner import run_job
from tests.gan.conftest import compose_config, run_cli, tiny


def _check_gan_run(run_dir, epochs=2):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == epochs
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert list(rows[0]) == ["step", "epoch", "d_loss", "g_loss", "d_x", "d_g_z", "elapsed_s"]
    assert all(math.isfinite(float(r["d_loss"])) for r in rows)
    for name in (
        "curves.png",
        "checkpoint.pt",
        "interpolation_linear.png",
        "interpolation_slerp.png",
        samples_file(1),
        samples_file(epochs),
    ):
        assert (run_dir / name).stat().st_size > 0, name
    assert summary["fid"] is not None and summary["fid"] >= 0
    assert sum(summary["class_histogram"]) == summary["fid_samples"]
    assert summary["interpolation"]["from_digit"] != summary["interpolation"]["to_digit"]
    return summary


def test_a_few_steps_on_mnist5k(tmp_path, cache_dir):
    cfg = compose_config(tiny(cache_dir))
    run_job(cfg, tmp_path / "run", [])
    _check_gan_run(tmp_path / "run")
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert {"generator", "discriminator", "opt_g", "opt_d", "config"} <= set(checkpoint)


def test_cli_trains_on_idx_files_then_interpolates_from_the_checkpoint(tmp_path, tiny_mnist, cache_dir):
    run_dir = tmp_path / "gan"
    data = [
        "data=mnist",
        f"data.root={tiny_mnist}",
        "data.download=false",
        "data.classifier_size=20",
        "data.reference_size=20",
    ]
    result = run_cli([*tiny(cache_dir), *data, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _check_gan_run(run_dir)

    out = tmp_path / "interp"
    result = run_cli(
        [
            "task=interpolate",
            f"ckpt={run_dir}",
            f"quality.cache_dir={cache_dir}",
            "trainer.device=cpu",
            "interpolation.candidates=8",
            f"data.root={tiny_mnist}",
            f"hydra.run.dir={out}",
        ],  # paths: never the file's
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["classifier_cached"]  # the training run cached it
    assert len(summary["interpolation"]["slerp_digits"]) == 9
    assert (out / "interpolation_linear.png").exists() and (out / "interpolation_slerp.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["gan.latent_size=0"], "gan.latent_size=0 is not allowed; it must be a positive integer"),
        (["data=mnist", "data.root=ROOT", "data.download=false"], "or use the offline digits: data=mnist5k"),
    ],
)
def test_bad_input_gives_one_clear_line_through_the_cli(tmp_path, args, message):
    args = ["task=gan", "trainer.device=cpu", *[a.replace("ROOT", str(tmp_path / "empty")) for a in args]]
    result = run_cli([*args, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode == 1
    assert len([line for line in result.stderr.splitlines() if message in line]) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["data.train_size=10"], "trainer.batch_size=64 is larger than the 10 GAN training digits"),
        (["trainer.sample_epochs=[99]"], "trainer.sample_epochs=[99] is not allowed"),
        (["interpolation.from_digit=3", "interpolation.to_digit=3"], "choose two different digits"),
        (["task=interpolate"], "task=interpolate needs ckpt=PATH"),
        (["task=interpolate", "ckpt=nowhere"], "ckpt=nowhere: no GAN checkpoint there"),
    ],
)
def test_impossible_settings_are_refused_before_any_work(tmp_path, args, message):
    with pytest.raises(ConfigError) as error:
        # tiny settings, so that a setting wrongly let through fails fast instead of training for minutes
        tiny = ["gan.width=4", "trainer.max_steps_per_epoch=1", "quality.enabled=false", "interpolation.enabled=false"]
        run_job(
            compose_config(["task=gan", "trainer.device=cpu", *args, *([] if "task=interpolate" in args else tiny)]),
            tmp_path / "run",
            [],
        )
    assert message in str(error.value) and "\n" not in str(error.value)
    if "data.train_size=10" in args:  # found once the digits are loaded: only the failed record is left
        assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "failed"
    else:  # refused before the run dir exists (issue 20: a refused run never claims its dir)
        assert not (tmp_path / "run").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_few_steps_on_the_gpu(tmp_path, cache_dir):
    overrides = [o for o in tiny(cache_dir) if not o.startswith("trainer.device")] + ["trainer.device=cuda"]
    run_job(compose_config(overrides), tmp_path / "run", [])
    assert _check_gan_run(tmp_path / "run")["device"].startswith("cuda")
