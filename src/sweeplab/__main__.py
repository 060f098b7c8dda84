"""The one entrypoint: `sweeplab [overrides]` / `python -m sweeplab [overrides]`.

Hydra composes the config from conf/ and the command line; this hands it to `run_job` and
does nothing else.
"""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sweeplab.paths import config_dir
from sweeplab.runner import run_job


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _entry(cfg: DictConfig) -> dict:
    hydra_cfg = HydraConfig.get()
    return run_job(cfg, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task))


def main() -> None:
    _entry()


if __name__ == "__main__":
    main()
