"""The GAN run's memory terms, for sweeplab.resources (which adds them up and checks them)."""

from sweeplab.resources import FLOAT, PARAMETER_COPIES, Part

#: floats a DCGAN step keeps per sample and unit of gan.width (D on real and fake, G, D again), measured
GAN_ACTIVATION_FLOATS = 3000
GAN_FEATURE_FLOATS = 358  # per sample and unit of width: the generator's feature maps (64 + 98 + 196)
IMAGE = 28 * 28
DIGITS = {"mnist5k": 5000, "mnist": 70000}


def parts(cfg, on_gpu: bool = False) -> list[Part]:
    w, z, B = cfg.gan.width, cfg.gan.latent_size, cfg.trainer.batch_size
    n_params = 208 * w * w + 64 * w * z + 1000 * w  # both networks (sweeplab.models.dcgan)
    generated = max(
        cfg.trainer.samples,
        cfg.quality.samples if cfg.quality.enabled else 0,
        cfg.interpolation.candidates if cfg.interpolation.enabled else 0,
    )
    digits = DIGITS.get(str(cfg.data.name), max(DIGITS.values()))
    return [
        Part(
            "the parameters and optimizer state",
            f"gan.width={w}, gan.latent_size={z}",
            n_params * PARAMETER_COPIES * FLOAT,
        ),
        Part("the digits", f"data={cfg.data.name}", digits * IMAGE * FLOAT),
        Part(
            "the backprop activations",
            f"trainer.batch_size={B} x gan.width={w}",
            B * w * GAN_ACTIVATION_FLOATS * FLOAT,
            phase="train",
        ),
        Part(
            "the generated images",
            f"{generated} images (trainer.samples, quality.samples, interpolation.candidates) x gan.width={w}",
            generated * (IMAGE + z) * FLOAT + min(generated, 500) * w * GAN_FEATURE_FLOATS * FLOAT,
            phase="generate",
        ),
    ]
