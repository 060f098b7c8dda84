"""Every config group option and preset composes; the validation step rejects bad values."""

import pytest
from omegaconf import OmegaConf

from sweeplab.config import validate_common
from sweeplab.contract import task_specs
from sweeplab.errors import ConfigError
from sweeplab.paths import config_dir
from sweeplab.tasks.palindrome.validate import validate as validate_palindrome
from tests.conftest import compose_config


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def test_default_config_is_the_lstm_on_t20():
    cfg = compose_config()
    assert cfg.task == "palindrome"
    assert cfg.model.name == "lstm" and cfg.model.hidden_size == 128
    assert cfg.model.forget_bias == 1.0
    assert cfg.seq_len == 20
    assert cfg.data.encoding == "one_hot"
    assert cfg.optim.name == "rmsprop" and cfg.optim.lr == pytest.approx(1e-3)
    assert cfg.trainer.steps == 5000 and cfg.trainer.batch_size == 128
    assert cfg.trainer.max_norm == 10
    validate_common(cfg, list(task_specs()))
    validate_palindrome(cfg)


@pytest.mark.parametrize("model", options("model"))
def test_every_model_composes_validates_and_builds(model):
    from sweeplab.build import build

    cfg = compose_config([f"model={model}"])
    assert cfg.model.name == model
    validate_palindrome(cfg)
    built = build("model", cfg.model, 10, num_classes=10)
    hidden_size = built.lstm.hidden_size if hasattr(built, "lstm") else built.hidden_size  # lstm_cudnn wraps nn.LSTM
    assert hidden_size == cfg.model.hidden_size


@pytest.mark.parametrize("optim", options("optim"))
def test_every_optimizer_composes_and_validates(optim):
    cfg = compose_config([f"optim={optim}"])
    assert cfg.optim.name == optim
    validate_palindrome(cfg)


def test_seq_len_and_overrides_compose():
    cfg = compose_config(["model=rnn", "seq_len=25", "optim.lr=1e-3", "trainer.steps=200", "seed=3"])
    assert (cfg.model.name, cfg.seq_len, cfg.trainer.steps, cfg.seed) == ("rnn", 25, 200, 3)


@pytest.mark.parametrize("preset", options("experiment"))
def test_every_preset_composes_and_declares_its_sweep(preset):
    cfg = compose_config([f"experiment={preset}"], return_hydra_config=True)
    if "models" in cfg.hydra.sweeper:  # the adaptive sweeper: its models instead of a grid
        assert set(cfg.hydra.sweeper.models) == {"rnn", "lstm"}
        return
    params = cfg.hydra.sweeper.params
    if "direction" in cfg.hydra.sweeper:  # Optuna's: a search space for one model instead of a grid
        assert cfg.model.name == "rnn" and {"optim.lr", "model.init"} <= set(params)
        validate_palindrome(cfg)
        return
    assert set(params["model"].split(",")) == {"rnn", "lstm"}
    assert len(params["seq_len"].split(",")) >= 2
    validate_palindrome(cfg)


def test_rnn_vs_lstm_preset_is_the_course_budget():
    cfg = compose_config(["experiment=rnn_vs_lstm"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params["seq_len"] == "10,15,20,25,30"
    assert params["seed"] == "0,1,2"
    assert cfg.trainer.steps == 5000


def test_every_task_option_is_registered():
    assert set(options("task")) <= set(task_specs())


BAD = [
    ("seq_len=1", "seq_len=1 is not allowed; it must be an integer >= 2"),
    ("seq_len=2.5", "seq_len=2.5 is not allowed"),
    ("seq_len=abc", "seq_len='abc' is not allowed"),
    ("model.hidden_size=0", "model.hidden_size=0 is not allowed; it must be a positive integer"),
    ("data.encoding=binary", "data.encoding='binary' is not allowed; it must be one of one_hot, scalar"),
    ("trainer.steps=0", "trainer.steps=0 is not allowed; it must be a positive integer"),
    ("trainer.batch_size=-4", "trainer.batch_size=-4 is not allowed"),
    ("optim.lr=0", "optim.lr=0 is not allowed; it must be a positive number"),
    ("optim.lr=-1e-3", "optim.lr=-0.001 is not allowed"),
    ("trainer.eval_every=0", "trainer.eval_every=0 is not allowed"),
    ("data=mnist5k", "data=mnist5k is for task=gan; the palindrome task takes data=palindrome"),
]


@pytest.mark.parametrize("override,message", BAD)
def test_bad_values_raise_one_clear_line(override, message):
    cfg = compose_config([override])
    with pytest.raises(ConfigError) as error:
        validate_common(cfg, list(task_specs()))
        validate_palindrome(cfg)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("device", ["gpu", "tpu", "cuda0"])
def test_unknown_device_is_rejected(device):
    cfg = compose_config([f"trainer.device={device}"])
    with pytest.raises(ConfigError, match="trainer.device"):
        validate_common(cfg, list(task_specs()))


def test_missing_key_is_named():
    cfg = compose_config()
    OmegaConf.set_struct(cfg, False)
    del cfg.trainer["steps"]
    with pytest.raises(ConfigError, match="trainer.steps is missing"):
        validate_palindrome(cfg)


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.block_b=24", "model.block_b=24 is not allowed; it must be 16, 32 or 64"),
        ("model.block_b=128", "model.block_b=128 is not allowed; it must be 16, 32 or 64"),
        ("model.precision=bf16", "model.precision='bf16' is not allowed; it must be one of ieee, tf32x3, tf32"),
        ("model.hidden_size=100", "model.hidden_size=100 is not allowed; it must be a power of two from 16 to 128"),
        ("model.num_warps=3", "model.num_warps=3 is not allowed; it must be 1, 2, 4, 8 or 16"),
    ],
)
def test_bad_triton_settings_raise_one_clear_line(override, message):
    from sweeplab.build import build

    cfg = compose_config(["model=lstm_triton", override])
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build("model", cfg.model, 10, num_classes=10)


def test_a_setting_the_model_does_not_have_is_named_with_the_ones_it_has():
    from sweeplab.build import build

    cfg = compose_config(["model=rnn", "+model.forget_bias=1.0"])
    with pytest.raises(ConfigError, match="model=rnn has no setting 'forget_bias'; its settings are hidden_size, init"):
        build("model", cfg.model, 10, num_classes=10)


def test_the_triton_lstm_is_refused_on_a_cpu_before_any_work(tmp_path, monkeypatch):
    from sweeplab.runner import run_job
    from tests.conftest import TINY

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)  # the interpreter would run it on the CPU
    with pytest.raises(ConfigError, match="model=lstm_triton runs Triton kernels on a CUDA GPU, not on cpu"):
        run_job(compose_config([*TINY, "model=lstm_triton"]), tmp_path, [])
    assert not (tmp_path / "metrics.csv").exists()
