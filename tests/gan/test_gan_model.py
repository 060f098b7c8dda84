"""The DCGAN is exactly the issue's architecture: every layer's output shape, and the DCGAN init."""

import torch
from torch import nn

from sweeplab.models.dcgan import Discriminator, Generator, build_dcgan

GENERATOR_SHAPES = [
    (nn.ConvTranspose2d, (512, 4, 4)),
    (nn.BatchNorm2d, (512, 4, 4)),
    (nn.ReLU, (512, 4, 4)),
    (nn.ConvTranspose2d, (256, 7, 7)),
    (nn.BatchNorm2d, (256, 7, 7)),
    (nn.ReLU, (256, 7, 7)),
    (nn.ConvTranspose2d, (128, 14, 14)),
    (nn.BatchNorm2d, (128, 14, 14)),
    (nn.ReLU, (128, 14, 14)),
    (nn.ConvTranspose2d, (1, 28, 28)),
    (nn.Tanh, (1, 28, 28)),
]
DISCRIMINATOR_SHAPES = [
    (nn.Conv2d, (128, 14, 14)),
    (nn.LeakyReLU, (128, 14, 14)),
    (nn.Conv2d, (256, 7, 7)),
    (nn.BatchNorm2d, (256, 7, 7)),
    (nn.LeakyReLU, (256, 7, 7)),
    (nn.Conv2d, (512, 4, 4)),
    (nn.BatchNorm2d, (512, 4, 4)),
    (nn.LeakyReLU, (512, 4, 4)),
    (nn.Conv2d, (1, 1, 1)),
]


def _layer_outputs(net: nn.Sequential, x):
    shapes = []
    for layer in net:
        x = layer(x)
        shapes.append((type(layer), tuple(x.shape[1:])))
    return shapes


def test_every_generator_layer_has_the_issue_shape():
    g = Generator(latent_size=100)
    assert _layer_outputs(g.net, torch.randn(2, 100, 1, 1)) == GENERATOR_SHAPES
    out = g(torch.randn(3, 100))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1
    convs = [m for m in g.net if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (100, 512, 4, 1, 0),
        (512, 256, 3, 2, 1),
        (256, 128, 4, 2, 1),
        (128, 1, 4, 2, 1),
    ]


def test_every_discriminator_layer_has_the_issue_shape():
    d = Discriminator()
    assert _layer_outputs(d.net, torch.randn(2, 1, 28, 28)) == DISCRIMINATOR_SHAPES
    assert d(torch.randn(3, 1, 28, 28)).shape == (3,)  # one logit per image
    convs = [m for m in d.net if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (1, 128, 4, 2, 1),
        (128, 256, 4, 2, 1),
        (256, 512, 3, 2, 1),
        (512, 1, 4, 1, 0),
    ]
    assert all(m.negative_slope == 0.2 for m in d.net if isinstance(m, nn.LeakyReLU))


def test_dcgan_init():
    torch.manual_seed(0)
    g, d = build_dcgan()
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                assert abs(m.weight.mean().item()) < 0.005 and abs(m.weight.std().item() - 0.02) < 0.005
                assert m.bias is None or torch.all(m.bias == 0)
            elif isinstance(m, nn.BatchNorm2d):
                assert abs(m.weight.mean().item() - 1) < 0.01 and torch.all(m.bias == 0)
