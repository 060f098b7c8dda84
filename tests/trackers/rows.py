"""What a tracker holds, compared with the job's own metrics.csv (each row once, equal values)."""

import csv
import math

COLUMNS = ["train_loss", "train_acc", "eval_loss", "eval_acc"]  # the palindrome task's metric columns


def csv_rows(job_dir) -> dict[int, dict[str, float]]:
    """metrics.csv as {step: {column: value}} for the logged columns (not step, not elapsed_s)."""
    with open(job_dir / "metrics.csv", newline="") as f:
        return {
            int(row["step"]): {k: float(v) for k, v in row.items() if k not in ("step", "elapsed_s")}
            for row in csv.DictReader(f)
        }


def tracker_rows(series: dict[str, list[tuple[int, float]]], columns) -> dict:
    """{name: [(step, value), ...]} -> {step: {name: value}}, failing on a step logged twice."""
    rows: dict = {}
    for name in columns:
        steps = [step for step, _ in series[name]]
        assert len(steps) == len(set(steps)), f"{name} logged twice at a step: {steps}"
        for step, value in series[name]:
            rows.setdefault(step, {})[name] = value
    return rows


def mlflow_rows(client, run_id: str, columns=COLUMNS) -> dict:
    """An MLflow run's metric histories as {step: {name: value}}, failing on a step logged twice."""
    series = {name: [(m.step, m.value) for m in client.get_metric_history(run_id, name)] for name in columns}
    return tracker_rows(series, columns)


def assert_same(logged: dict, expected: dict, rel: float) -> None:
    assert sorted(logged) == sorted(expected)
    for step, row in expected.items():
        for name, value in row.items():
            assert math.isclose(logged[step][name], value, rel_tol=rel), (step, name)
