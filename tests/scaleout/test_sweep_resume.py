"""Rerunning a sweep into its sweep dir: finished jobs are skipped and never touched, failed and
incomplete ones run again (from their checkpoint), a different sweep is refused, and
`hydra.sweeper.dry_run=true` lists what would happen."""

from multirun_analysis.runs import load_sweeps
from tests.scaleout.helpers import ENV, FAST, SWEEPER, assert_own_dirs, fault, metrics, snapshot, status


def test_rerun_skips_finished_reruns_failed_and_refuses_another_sweep(tmp_path, cli):
    sweep = tmp_path / "sweep"
    # out_dir reads Hydra's runtime: the plan must resolve it as each job will (its own dir)
    args = [
        SWEEPER,
        *FAST,
        f"hydra.sweep.dir={sweep}",
        "model=rnn,lstm",
        "seed=0,1",
        "+tag=${hydra:runtime.output_dir}",
    ]

    first = cli(["-m", *args, *fault(1, "raise")], cwd=tmp_path, env_extra=ENV)
    assert first.returncode != 0  # the sweep says it had a failure...
    assert [status(sweep / str(n)) for n in range(4)] == ["completed", "failed", "completed", "completed"]
    assert "injected fault" in (sweep / "1" / "error.txt").read_text()
    assert_own_dirs(sweep)
    runs = load_sweeps([sweep]).runs.set_index("job_num")  # ...and so does multirun_analysis
    assert runs.loc[1, "status"] == "failed" and (runs.drop(index=1)["status"] == "completed").all()

    # a sweep of another config into the same dir: refused before anything is written
    before = snapshot(sweep)
    other = cli(["-m", *args, "optim.lr=0.01"], cwd=tmp_path, env_extra=ENV)
    assert other.returncode != 0
    assert "choose a new hydra.sweep.dir" in other.stderr
    assert snapshot(sweep) == before

    # the dry run lists the plan and writes nothing
    dry = cli(["-m", *args, "hydra.sweeper.dry_run=true"], cwd=tmp_path, env_extra=ENV)
    assert dry.returncode == 0, dry.stderr
    plan = {
        line.split()[0]: line.split()[1:3]
        for line in dry.stdout.splitlines()
        if line.split()[:1] in (["0"], ["1"], ["2"], ["3"])
    }
    assert plan == {
        "0": ["completed", "skip"],
        "1": ["failed", "run"],
        "2": ["completed", "skip"],
        "3": ["completed", "skip"],
    }
    assert "4 jobs, 1 to run, 3 to skip" in dry.stdout
    assert snapshot(sweep) == before

    # the same sweep again: only job 1 runs, from its checkpoint; the finished jobs are untouched
    finished = {n: snapshot(sweep / str(n)) for n in (0, 2, 3)}
    again = cli(["-m", *args], cwd=tmp_path, env_extra=ENV)
    assert again.returncode == 0, again.stderr
    assert [status(sweep / str(n)) for n in range(4)] == ["completed"] * 4
    assert {n: snapshot(sweep / str(n)) for n in (0, 2, 3)} == finished
    assert "resuming from" in (sweep / "1" / "sweeplab.log").read_text()
    assert len(metrics(sweep / "1")) == 4
    assert_own_dirs(sweep)
