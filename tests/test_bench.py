"""The benchmark command runs every case and prints its table (no timing is asserted)."""

import pytest
import torch

from bench.__main__ import cell, gan_case, main, measure


@pytest.fixture(autouse=True)
def keep_thread_count():
    threads = torch.get_num_threads()  # the benchmark sets its own
    yield
    torch.set_num_threads(threads)


def test_bench_prints_a_row_per_case_with_ratios_to_the_reference(capsys):
    main(
        ["--device", "cpu", "--seq-lens", "3", "4", "--seconds", "0.02", "--rounds", "1", "--threads", "1", "--no-gan"]
    )
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    header, *cases = rows
    assert header == "| case | threads | T = 3 | T = 4 |"
    assert [row.split(" | ")[0] for row in cases] == [
        "| course-style LSTM (8 Linear/step, CPU DataLoader)",
        "| explicit LSTM (fused gates, data on device)",
        "| torch.nn.LSTM (cuDNN on GPU)",
        "| explicit vanilla RNN",
    ]
    reference_cells = cases[0].strip("| ").split(" | ")[2:]
    assert len(reference_cells) == 2 and all(cell.endswith("(1.00x)") for cell in reference_cells)


def test_a_failing_case_is_reported_in_its_cell_and_the_others_still_run():
    def broken():
        raise RuntimeError("capture failed")

    rates = measure({"fine": lambda: lambda: None, "broken": broken}, torch.device("cpu"), 0.02, 1)
    assert rates["broken"] == "failed (RuntimeError)" and rates["fine"] > 0
    assert cell(rates["broken"], 1.0) == "failed (RuntimeError)"
    assert cell(10.0, rates["broken"]) == "10.0" and cell(10.0, 5.0) == "10.0 (2.00x)"


def test_the_dcgan_case_is_a_real_training_step():
    step = gan_case(torch.device("cpu"))
    d_loss, g_loss, d_x, d_g_z = step()
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss) and 0 < d_x.item() < 1
