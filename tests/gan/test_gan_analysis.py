"""multirun_analysis.sections.gan on hand-written job dirs (no training)."""

import json

import pandas as pd
from PIL import Image

from multirun_analysis.sections.gan import final_grid, gallery, metrics_table


def _job(tmp_path, name, latent, seed, fid, status="completed", epochs=(1, 3)):
    job = tmp_path / name
    job.mkdir()
    (job / "summary.json").write_text(json.dumps({"status": status, "task": "gan", "fid": fid, "classes_covered": 10}))
    for e in epochs:
        Image.new("L", (20, 20), color=40 * e).save(job / f"samples_epoch_{e:03d}.png")
    return {
        "task": "gan",
        "status": status,
        "job_dir": str(job),
        "gan.latent_size": latent,
        "seed": seed,
        "trainer.device": "cpu",
    }


def test_table_per_swept_setting_and_gallery(tmp_path):
    runs = pd.DataFrame(
        [
            _job(tmp_path, "0", 10, 0, 4.0),
            _job(tmp_path, "1", 10, 1, 6.0),
            _job(tmp_path, "2", 100, 0, 2.0),
            _job(tmp_path, "3", 100, 1, None, status="diverged", epochs=()),
            {"task": "palindrome", "status": "completed", "job_dir": str(tmp_path), "gan.latent_size": None, "seed": 0},
        ]
    )
    table = metrics_table(runs)
    assert list(table.index) == [10, 100]
    fid = next(c for c in table.columns if c.startswith("Frechet distance ("))
    assert table.loc[10, fid] == "5 ± 1.4 (2)" and table.loc[100, fid] == "2"
    assert table.loc[100, "not completed"] == 1 and table.loc[10, "runs"] == 2

    assert final_grid(tmp_path / "0").name == "samples_epoch_003.png" and final_grid(tmp_path / "3") is None
    out = gallery([tmp_path / n for n in "0123"], tmp_path / "gallery.png")
    assert Image.open(out).size[0] > 0
