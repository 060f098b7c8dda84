"""Fault isolation under each launcher: one job of three raises, exits (os._exit) or is SIGKILLed
right after its first checkpoint; the other jobs' results survive, the crashed job reads as failed
or incomplete, and the sweep's exit code is non-zero. docs/SCALE_OUT.md tabulates the outcomes."""

import pytest

from multirun_analysis.runs import load_sweeps
from tests.scaleout.helpers import ENV, FAST, LAUNCHERS, SWEEPER, assert_own_dirs, fault, metrics, status

FINISHED_OR_CUT = ("completed", "running", "missing")  # what a job beside a hard crash may be
CASES = [
    pytest.param("basic", "raise", id="basic-raise"),
    pytest.param("basic", "kill", id="basic-kill"),
    pytest.param("joblib", "kill", id="joblib-kill"),
    pytest.param("basic", "exit", id="basic-exit", marks=pytest.mark.slow),
    pytest.param("joblib", "raise", id="joblib-raise", marks=pytest.mark.slow),
    pytest.param("joblib", "exit", id="joblib-exit", marks=pytest.mark.slow),
    pytest.param("submitit_local", "raise", id="submitit_local-raise", marks=pytest.mark.slow),
    pytest.param("submitit_local", "exit", id="submitit_local-exit", marks=pytest.mark.slow),
    pytest.param("submitit_local", "kill", id="submitit_local-kill", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("launcher,how", CASES)
def test_one_job_faults_the_others_survive(tmp_path, cli, launcher, how):
    sweep = tmp_path / "sweep"
    result = cli(
        ["-m", SWEEPER, *LAUNCHERS[launcher], *FAST, f"hydra.sweep.dir={sweep}", "seed=0,1,2", *fault(1, how)],
        cwd=tmp_path,
        env_extra=ENV,
    )
    assert result.returncode != 0, "the sweep's exit code must say that a job failed"
    statuses = [status(sweep / str(n)) for n in range(3)]

    # the faulty job: failed (a Python exception) or incomplete (a hard crash), its checkpoint kept
    assert statuses[1] == ("failed" if how == "raise" else "running")
    assert (sweep / "1" / "checkpoint.pt").exists()
    # the others: an exception or a separate process (submitit) never touches them; a hard crash
    # ends the basic launcher's process (later jobs never start) and loky's whole worker pool
    if how == "raise" or launcher == "submitit_local":
        assert statuses[0] == "completed"
        assert statuses[2] == "completed"
    if launcher == "basic" and how != "raise":
        assert statuses == ["completed", "running", "missing"]
    for n, state in enumerate(statuses):
        if n != 1:
            assert state in FINISHED_OR_CUT
        if state == "completed":  # a finished result is whole
            assert [int(r["step"]) for r in metrics(sweep / str(n))] == [10, 20, 30, 40]
    assert_own_dirs(sweep)

    runs = load_sweeps([sweep]).runs.set_index("job_num")
    assert runs.loc[1, "status"] in ("failed", "running")
