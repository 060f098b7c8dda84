"""What the GAN tasks are, for the code that must not import them (torch-free: sweeplab.contract)."""

from sweeplab.contract import TaskSpec

GAN = TaskSpec(
    name="gan",
    run="sweeplab.tasks.gan.train:run",
    metric_columns=("step", "epoch", "d_loss", "g_loss", "d_x", "d_g_z", "elapsed_s"),
    results={
        "epochs_done": int,
        "final_d_loss": float,
        "final_g_loss": float,
        "final_d_x": float,
        "final_d_g_z": float,
        "s_per_epoch": float,
        "fid": float,
        "fid_real_floor": float,
        "n_params_g": int,
        "n_params_d": int,
    },  # fmt: skip
    settings={
        "seed": "seed",
        "optimizer": "optim.name",
        "lr": "optim.lr",
        "batch_size": "trainer.batch_size",
        "epochs": "trainer.epochs",
        "gan": "gan.name",
        "data": "data.name",
    },  # fmt: skip
    objective="fid",
    maximize=False,
    data=("mnist5k", "mnist"),
    memory="sweeplab.tasks.gan.memory:parts",
    validate="sweeplab.tasks.gan.validate:validate",
    preflight="sweeplab.tasks.gan.validate:preflight",
    summary_title="the GAN",
    shown=("fid",),
)

#: `task=interpolate ckpt=RUN_DIR`: the strips of a trained GAN (no training, no metrics.csv)
INTERPOLATE = TaskSpec(
    name="interpolate",
    run="sweeplab.tasks.gan.interpolate:run",
    data=("mnist5k", "mnist"),
    validate="sweeplab.tasks.gan.validate:validate_interpolation",
    preflight="sweeplab.tasks.gan.interpolate:preflight",
)

SPECS = (GAN, INTERPOLATE)
