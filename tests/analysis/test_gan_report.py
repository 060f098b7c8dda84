"""GAN runs in a sweep get their own table and sample gallery in the report."""

import json

import yaml
from PIL import Image

from multirun_analysis.pipeline import analyze


def write_gan_job(sweep, num, latent, seed, fid):
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    cfg = {"seed": seed, "task": "gan", "gan": {"name": "dcgan", "latent_size": latent}}
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"gan.latent_size={latent}", f"seed={seed}"]))
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    summary = {"status": "completed", "task": "gan", "seed": seed, "fid": fid, "classes_covered": 10}
    (job / "summary.json").write_text(json.dumps(summary))
    Image.new("L", (62, 62), color=128).save(job / "samples_epoch_005.png")


def test_gan_runs_get_a_metrics_table_and_a_gallery(tmp_path):
    sweep = tmp_path / "sweep"
    for num, (latent, seed, fid) in enumerate([(10, 0, 300.0), (10, 1, 320.0), (100, 0, 200.0), (100, 1, 240.0)]):
        write_gan_job(sweep, num, latent, seed, fid)
    analysis = analyze([sweep])
    table = analysis.gan_table
    assert list(table["gan.latent_size"]) == [10, 100]
    fid_column = next(c for c in table.columns if c.startswith("Frechet distance (classifier"))
    assert table[fid_column].tolist() == ["310 ± 14 (2)", "220 ± 28 (2)"]  # mean ± sample std (n)
    assert (sweep / "tables" / "gan_metrics.csv").is_file()
    assert (sweep / "plots" / "gan_gallery.png").is_file()
    report = (sweep / "report.md").read_text()
    assert "DCGAN quality" in report and "gan_gallery.png" in report


def test_gan_table_without_a_swept_setting_has_no_index_column(tmp_path):
    sweep = tmp_path / "sweep"
    write_gan_job(sweep, 0, 100, 0, 300.0)
    write_gan_job(sweep, 1, 100, 1, 320.0)
    table = analyze([sweep]).gan_table
    assert "index" not in table.columns and "gan.latent_size" not in table.columns
    assert table["runs"].tolist() == [2]
