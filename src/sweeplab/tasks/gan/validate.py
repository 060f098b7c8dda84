"""The GAN tasks' settings: ranges and cross-field rules, one line each (sweeplab.config's helpers)."""

from pathlib import Path

from omegaconf import DictConfig, ListConfig

from sweeplab.config import is_int, nullable, one_of, positive_int, require, seed, validate_optim
from sweeplab.errors import ConfigError
from sweeplab.tasks.gan.data import SOURCES, ensure_mnist_files


def validate(cfg: DictConfig) -> None:
    require(cfg, *one_of("gan.name", ["dcgan"]))
    require(cfg, "gan.latent_size", lambda v: is_int(v) and v > 0, "a positive integer (the latent size, 100 in DCGAN)")
    require(cfg, *positive_int("gan.width"))
    validate_optim(cfg)
    require(cfg, *one_of("data.name", SOURCES))
    require(cfg, *seed("data.split_seed"))
    require(cfg, *positive_int("data.classifier_size"))
    require(cfg, "data.reference_size", lambda v: is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "data.train_size", nullable(lambda v: is_int(v) and v > 0), "null or a positive integer")
    for check in ("trainer.epochs", "trainer.batch_size", "trainer.log_every", "trainer.checkpoint_every"):
        require(cfg, *positive_int(check))
    require(cfg, "trainer.num_threads", nullable(lambda v: is_int(v) and v > 0), "a positive integer or null")
    require(cfg, *one_of("trainer.cuda_graph", [True, False, "auto"]))
    require(cfg, "trainer.channels_last", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "trainer.samples", lambda v: is_int(v) and v > 0, "a positive integer")
    require(cfg, "trainer.max_steps_per_epoch", nullable(lambda v: is_int(v) and v > 0), "null or a positive integer")
    epochs = cfg.trainer.epochs
    require(
        cfg,
        "trainer.sample_epochs",
        nullable(lambda v: isinstance(v, ListConfig) and len(v) > 0 and all(is_int(e) and 1 <= e <= epochs for e in v)),
        f"null or a list of epochs between 1 and trainer.epochs={epochs}, such as [{epochs}]",
    )
    require(cfg, "quality.enabled", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "quality.samples", lambda v: is_int(v) and v >= 2, "an integer >= 2")
    for check in ("quality.classifier_steps", "quality.classifier_batch_size"):
        require(cfg, *positive_int(check))
    require(cfg, *seed("quality.classifier_seed"))
    require(cfg, "interpolation.enabled", lambda v: isinstance(v, bool), "true or false")
    validate_interpolation(cfg)


def validate_interpolation(cfg: DictConfig) -> None:
    def digit_or_null(v):
        return v is None or (is_int(v) and 0 <= v <= 9)

    require(cfg, "interpolation.frames", lambda v: is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "interpolation.candidates", lambda v: is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "interpolation.from_digit", digit_or_null, "null or a digit 0-9")
    require(cfg, "interpolation.to_digit", digit_or_null, "null or a digit 0-9")
    a, b = cfg.interpolation.from_digit, cfg.interpolation.to_digit
    if a is not None and a == b:
        raise ConfigError(
            f"interpolation.from_digit and interpolation.to_digit are both {a}; choose two different digits"
        )


def preflight(cfg: DictConfig) -> None:
    """Full MNIST that is not there (nor downloadable) and a quality cache dir that cannot be written
    fail now, before the run claims its dir, not after it (or after the training)."""
    if cfg.data.name == "mnist":
        ensure_mnist_files(Path(cfg.data.root).expanduser(), bool(cfg.data.download))
    if cfg.quality.enabled:
        from sweeplab.tasks.gan.quality.classifier import check_cache_dir

        check_cache_dir(cfg.quality.cache_dir)
