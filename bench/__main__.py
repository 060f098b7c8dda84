"""Training-step throughput of every implementation, as ratios to a reference in the same run.

    python -m bench                      # CPU (or GPU when present), T = 10, 20, 30, and the DCGAN
    python -m bench --seq-lens 20 --seconds 3 --device cpu --no-gan

Palindrome cases run the full training step (forward, cross-entropy, backward, clip, RMSprop step)
at batch 128, hidden 128, against the course-style reference. DCGAN cases run the full GAN step
(D on real and fake, D update, G update) at batch 64 against the plain eager step. Each case runs for
about `--seconds` in `--rounds` round-robin slices after a warm-up; the median rate is printed. All
cases run interleaved in this one process, so the ratios compare like with like on the same
machine and load.
"""

import argparse
import datetime
import functools
import platform
import statistics
import sys
import time
import traceback

import torch

from bench.course_reference import CourseLSTM, course_batches
from sweeplab.models import LSTM, CudnnLSTM, VanillaRNN
from sweeplab.models.dcgan import build_dcgan
from sweeplab.models.lstm_triton import TritonLSTM
from sweeplab.tasks.gan import train as gan
from sweeplab.tasks.palindrome.data import PalindromeData
from sweeplab.tasks.palindrome.train import train_step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def steps_per_second(step, device, seconds: float, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(5):
            step()
        count += 5
        sync(device)
    return count / (time.perf_counter() - start)


def palindrome_case(model_cls, seq_len, device, batch_size=128, hidden=128, course_data=False, graph=False):
    torch.manual_seed(0)
    model = model_cls(10, hidden, 10).to(device)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    if course_data:
        batches = course_batches(seq_len, batch_size, device)
        sample = lambda: next(batches)  # noqa: E731
    else:
        data = PalindromeData(seq_len, "one_hot", 0, 8, 0, device)
        sample = lambda: data.sample(batch_size)  # noqa: E731
    if graph:
        from sweeplab.cuda_graph import GraphedStep

        graphed = GraphedStep(lambda x, y: train_step(model, optimizer, x, y, 10.0), sample(), [model], [optimizer])
        return lambda: graphed(*sample())

    def step():
        train_step(model, optimizer, *sample(), 10.0)

    return step


def gan_case(device, channels_last=False, graph=False, batch_size=64, latent_size=100):
    """The DCGAN step on fixed random 'real' images (the arithmetic does not depend on the pixels)."""
    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    nets = [net.to(device).to(memory_format=layout) for net in build_dcgan(latent_size)]
    nets += [torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) for net in nets]
    real = (torch.rand(batch_size, 1, 28, 28, device=device) * 2 - 1).contiguous(memory_format=layout)
    if graph:
        from sweeplab.cuda_graph import GraphedStep

        noise = lambda: torch.randn(batch_size, latent_size, device=device)  # noqa: E731
        graphed = GraphedStep(lambda r, z: gan.train_step(*nets, r, z), (real, noise()), nets[:2], nets[2:])
        return lambda: graphed(real, noise())
    return lambda: gan.train_step(*nets, real, torch.randn(batch_size, latent_size, device=device))


def measure(cases: dict, device, seconds: float, rounds: int) -> dict:
    """Build every case (name -> function returning its step), then time them in round-robin rounds
    and return the median rate per case: slow drifts of the machine hit every case alike. A case that
    fails (a graph that cannot be captured, say) gets its error in place of a rate; the others go on."""
    steps, results = {}, {}
    for name, make in cases.items():
        try:
            steps[name] = make()
        except Exception as exc:  # noqa: BLE001  (reported in the table and on stderr)
            results[name] = failure(name, exc)
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            if name in results:
                continue
            try:
                samples[name].append(steps_per_second(step, device, seconds / rounds))
            except Exception as exc:  # noqa: BLE001
                results[name] = failure(name, exc)
    return {name: results.get(name) or statistics.median(samples[name]) for name in cases}


def failure(name: str, exc: Exception) -> str:
    traceback.print_exc()
    print(f"bench case {name!r} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return f"failed ({type(exc).__name__})"


def cell(rate, reference) -> str:
    """`rate (ratio x)`, or the failure in place of a rate."""
    if isinstance(rate, str):
        return rate
    if isinstance(reference, str):
        return f"{rate:,.1f}"
    return f"{rate:,.1f} ({rate / reference:.2f}x)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per case")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds per case (median)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU thread counts to compare")
    parser.add_argument("--no-gan", dest="gan", action="store_false", help="skip the DCGAN cases")
    parser.add_argument(
        "--triton",
        choices=["with", "without", "only"],
        default="with",
        help="the Triton LSTM cases (GPU only): with the others, without them, or only them and the "
        "references (a Triton kernel that faults can break the CUDA context for every later case)",
    )
    args = parser.parse_args(argv)
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )

    cases = [
        ("course-style LSTM (8 Linear/step, CPU DataLoader)", CourseLSTM, {"course_data": True}),
        ("explicit LSTM (fused gates, data on device)", LSTM, {}),
        ("torch.nn.LSTM (cuDNN on GPU)", CudnnLSTM, {}),
        ("explicit vanilla RNN", VanillaRNN, {}),
    ]
    if device.type == "cuda":
        cases += [
            ("explicit LSTM, step in one CUDA graph", LSTM, {"graph": True}),
            ("torch.nn.LSTM (cuDNN), step in one CUDA graph", CudnnLSTM, {"graph": True}),
            ("explicit vanilla RNN, step in one CUDA graph", VanillaRNN, {"graph": True}),
        ]
        triton_cases = [  # the time loop in two Triton kernels (model=lstm_triton): exact fp32, then TF32
            ("explicit LSTM in Triton kernels (ieee)", TritonLSTM, {}),
            ("explicit LSTM in Triton kernels (ieee), CUDA graph", TritonLSTM, {"graph": True}),
            (
                "explicit LSTM in Triton kernels (tf32), CUDA graph",
                functools.partial(TritonLSTM, precision="tf32"),
                {"graph": True},
            ),
        ]
        if args.triton == "only":  # with the references: the course-style step, cuDNN, the graphed cases
            cases = [c for c in cases if c is cases[0] or c[1] is CudnnLSTM or c[2].get("graph")] + triton_cases
        elif args.triton == "with":
            cases += triton_cases
    thread_counts = args.threads if device.type == "cpu" else [torch.get_num_threads()]
    print(f"# sweeplab training-step benchmark, {datetime.date.today()}")
    print(
        f"device {device}"
        + (
            f" ({torch.cuda.get_device_name(device)})"
            if device.type == "cuda"
            else f" ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads available)"
        )
    )
    print(f"torch {torch.__version__}; batch 128, hidden 128, one-hot input; steps/s (x reference)\n")
    header = "| case | threads | " + " | ".join(f"T = {T}" for T in args.seq_lens) + " |"
    print(header)
    print("|" + "---|" * (2 + len(args.seq_lens)))
    for threads in thread_counts:
        torch.set_num_threads(threads)
        rates = {name: {} for name, _, _ in cases}
        for T in args.seq_lens:
            makers = {
                name: functools.partial(palindrome_case, model_cls, T, device, **kwargs)
                for name, model_cls, kwargs in cases
            }
            for name, rate in measure(makers, device, args.seconds, args.rounds).items():
                rates[name][T] = rate
        reference = rates[cases[0][0]]
        for name, _, _ in cases:
            cells = [cell(rates[name][T], reference[T]) for T in args.seq_lens]
            print(f"| {name} | {threads} | " + " | ".join(cells) + " |", flush=True)

    if not args.gan or args.triton == "only":
        return
    gan_cases = [("DCGAN step, eager", {}), ("DCGAN step, channels_last", {"channels_last": True})]
    if device.type == "cuda":
        gan_cases += [
            ("DCGAN step in one CUDA graph", {"graph": True}),
            ("DCGAN step in one CUDA graph, channels_last", {"graph": True, "channels_last": True}),
        ]
    print("\nDCGAN, batch 64, fp32; iterations/s (x eager)\n")
    print("| case | threads | it/s |")
    print("|---|---|---|")
    for threads in thread_counts:
        torch.set_num_threads(threads)
        makers = {name: functools.partial(gan_case, device, **kwargs) for name, kwargs in gan_cases}
        rates = measure(makers, device, args.seconds, args.rounds)
        reference = rates[gan_cases[0][0]]
        for name, rate in rates.items():
            print(f"| {name} | {threads} | {cell(rate, reference)} |", flush=True)


if __name__ == "__main__":
    main()
