"""DCGAN for 28x28 MNIST digits, laid out like pytorch/examples/dcgan.

`width` is the channel count of the outermost hidden layer; the default 128 gives exactly the
issue's architecture (512 -> 256 -> 128 in the generator, 128 -> 256 -> 512 in the discriminator).
Layers followed by BatchNorm have no bias (BatchNorm's shift replaces it).
"""

from torch import nn


class Generator(nn.Module):
    """z (N, latent) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_size: int = 100, width: int = 128):
        super().__init__()
        self.latent_size = latent_size
        self.net = nn.Sequential(
            # (N, 100, 1, 1) -> (N, 512, 4, 4)
            nn.ConvTranspose2d(latent_size, width * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(True),
            # -> (N, 256, 7, 7)
            nn.ConvTranspose2d(width * 4, width * 2, 3, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(True),
            # -> (N, 128, 14, 14)
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            # -> (N, 1, 28, 28)
            nn.ConvTranspose2d(width, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.size(0), self.latent_size, 1, 1))


class Discriminator(nn.Module):
    """image (N, 1, 28, 28) -> one logit per image (N,); train it with BCEWithLogitsLoss."""

    def __init__(self, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            # (N, 1, 28, 28) -> (N, 128, 14, 14)
            nn.Conv2d(1, width, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (N, 256, 7, 7)
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (N, 512, 4, 4)
            nn.Conv2d(width * 2, width * 4, 3, 2, 1, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (N, 1, 1, 1): one logit
            nn.Conv2d(width * 4, 1, 4, 1, 0),
        )

    def forward(self, x):
        return self.net(x).view(-1)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN init (apply with `model.apply`): conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_dcgan(latent_size: int = 100, width: int = 128) -> tuple[Generator, Discriminator]:
    generator, discriminator = Generator(latent_size, width), Discriminator(width)
    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    return generator, discriminator
