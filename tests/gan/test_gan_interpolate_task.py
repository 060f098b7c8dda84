"""task=interpolate from a checkpoint: a good one gives the strips; an untrusted or damaged one is one line."""

import json
import os

import pytest
import torch
from omegaconf import OmegaConf

from sweeplab import artifacts
from sweeplab.errors import UsageError
from sweeplab.models.dcgan import Generator
from sweeplab.runner import run_job
from tests.gan.conftest import compose_config, run_cli, tiny

LATENT, WIDTH = 8, 4


def gan_checkpoint(path, cache_dir, edit=None):
    """A checkpoint as task=gan writes it (untrained weights: the task only reads them)."""
    cfg = compose_config([*tiny(cache_dir), f"gan.latent_size={LATENT}", f"gan.width={WIDTH}"])
    torch.manual_seed(0)
    checkpoint = {
        "generator": Generator(LATENT, WIDTH).state_dict(),
        "epoch": 2,
        "rng": {"torch": torch.get_rng_state()},
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    if edit:
        edit(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    artifacts.save_torch(path, checkpoint)
    return path


def interpolate_args(ckpt, cache_dir, *extra):
    return [
        "task=interpolate",
        f"ckpt={ckpt}",
        f"quality.cache_dir={cache_dir}",
        "trainer.device=cpu",
        "interpolation.candidates=8",
        *extra,
    ]


def test_strips_from_a_run_dirs_checkpoint(tmp_path, cache_dir):
    run_dir = gan_checkpoint(tmp_path / "gan" / "checkpoint.pt", cache_dir).parent
    summary = run_job(compose_config(interpolate_args(run_dir, cache_dir)), tmp_path / "out")
    assert summary["status"] == "completed" and summary["ckpt"] == str(run_dir / "checkpoint.pt")
    info = summary["interpolation"]
    assert len(info["slerp_digits"]) == len(info["slerp_confidences"]) == 9 and info["endpoints"] == "classifier"
    assert all((tmp_path / "out" / f"interpolation_{kind}.png").stat().st_size > 0 for kind in ("linear", "slerp"))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "completed"


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_checkpoint(tmp_path):
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil" / "checkpoint.pt"
    evil.parent.mkdir()
    torch.save({"generator": {}, "config": {}, "x": Payload(marker)}, evil)
    return evil, marker


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path, cache_dir):
    evil, marker = _evil_checkpoint(tmp_path)
    result = run_cli([*interpolate_args(evil, cache_dir), f"hydra.run.dir={tmp_path / 'out'}"], cwd=tmp_path)
    assert result.returncode == 1 and not marker.exists()
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.startswith(f"ckpt={evil}")]
    assert len(lines) == 1 and "refused, since loading it could run code hidden in it" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_run_dir_whose_checkpoint_carries_code_is_refused(tmp_path, cache_dir):
    evil, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(UsageError, match="refused, since loading it could run code"):
        run_job(compose_config(interpolate_args(evil.parent, cache_dir)), tmp_path / "out")
    assert not marker.exists()


def _pop(*keys):
    def edit(checkpoint):
        node = checkpoint
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return edit


def _set(value, *keys):
    def edit(checkpoint):
        node = checkpoint
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            _set(16, "config", "gan", "latent_size"),
            "its generator weights are of gan.latent_size=8 gan.width=4 but its config says gan.latent_size=16 gan.width=4",
        ),
        (_set(8, "config", "gan", "width"), "but its config says gan.latent_size=8 gan.width=8"),
        (_pop("config", "data", "split_seed"), "its config lacks data.split_seed"),
        (_pop("config", "quality"), "its config lacks quality.classifier_steps"),
        (_pop("config"), "lacks its 'config' entry"),
        (_pop("generator"), "lacks its 'generator' entry"),
        (
            _set("${oc.env:HOME}", "config", "quality", "classifier_steps"),
            "its config has quality.classifier_steps='${oc.env:HOME}', which must be a positive integer",
        ),
        (_set("/etc", "config", "data", "name"), "its config has data.name='/etc', which must be one of mnist"),
        (
            _pop("generator", "net.1.weight"),
            "its generator weights do not fit the DCGAN generator (Error(s) in loading",
        ),
        (_set({"net.0.weight": torch.zeros(3)}, "generator"), "its generator weights are not those of the DCGAN"),
    ],
)
def test_a_checkpoint_that_does_not_hold_together_is_one_line(tmp_path, cache_dir, edit, message):
    ckpt = gan_checkpoint(tmp_path / "gan" / "checkpoint.pt", cache_dir, edit)
    with pytest.raises(UsageError) as error:
        run_job(compose_config(interpolate_args(ckpt, cache_dir)), tmp_path / "out")
    assert message in str(error.value) and str(ckpt) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out" / "interpolation_slerp.png").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is damaged or not a torch checkpoint (EOFError"),
        (b"garbage", "is damaged or not a torch checkpoint (a malformed pickle)"),
        ("half", "is damaged or not a torch checkpoint ("),
        ("a list", "holds a list, not a sweeplab checkpoint"),
    ],
)
def test_a_file_that_is_no_checkpoint_is_one_line(tmp_path, cache_dir, content, message):
    ckpt = tmp_path / "checkpoint.pt"
    if content == "half":
        good = gan_checkpoint(ckpt, cache_dir).read_bytes()
        content = good[: len(good) // 2]
    elif content == "a list":
        torch.save([torch.zeros(2)], ckpt)
    if isinstance(content, bytes):
        ckpt.write_bytes(content)
    with pytest.raises(UsageError) as error:
        run_job(compose_config(interpolate_args(ckpt, cache_dir)), tmp_path / "out")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_run_dir_without_read_permission_is_one_line(tmp_path, cache_dir, monkeypatch):
    run_dir = gan_checkpoint(tmp_path / "gan" / "checkpoint.pt", cache_dir).parent
    if os.geteuid() == 0:  # root reads everything: the check is what a user without permission meets
        monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(run_dir))
    else:
        run_dir.chmod(0)
    try:
        with pytest.raises(UsageError) as error:
            run_job(compose_config(interpolate_args(run_dir, cache_dir)), tmp_path / "out")
    finally:
        run_dir.chmod(0o755)
    assert f"ckpt={run_dir}: permission denied" in str(error.value) and "\n" not in str(error.value)


def test_an_unreadable_checkpoint_file_is_one_line(tmp_path, cache_dir, monkeypatch):
    ckpt = gan_checkpoint(tmp_path / "checkpoint.pt", cache_dir)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(torch, "load", denied)
    with pytest.raises(UsageError) as error:
        run_job(compose_config(interpolate_args(ckpt, cache_dir)), tmp_path / "out")
    assert f"ckpt={ckpt}: permission denied" in str(error.value)
