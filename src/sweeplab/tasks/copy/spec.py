"""What the copy task is, for the code that must not import it (torch-free: sweeplab.contract).

Solved: held-out per-symbol accuracy >= 0.99 on the answer steps (guessing scores 1/K, 0.125 with
the default 8 symbols). The difficulty axis is the delay T between the last symbol and the delimiter.
"""

from sweeplab.contract import SOLVED_THRESHOLD, Solved, TaskSpec, sequence_settings

SPEC = TaskSpec(
    name="copy",
    run="sweeplab.tasks.copy.train:run",
    metric_columns=("step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s"),
    results={
        "final_eval_acc": float,
        "final_eval_loss": float,
        "best_eval_acc": float,
        "step_solved": int,
        "n_params": int,
    },  # fmt: skip
    settings=sequence_settings(alphabet="data.alphabet", length="data.length"),
    objective="final_eval_acc",
    solved=Solved(
        "eval_acc",
        SOLVED_THRESHOLD,
        what="held-out per-symbol accuracy",
        note="Guessing scores 1/data.alphabet per symbol (0.125 with 8 symbols).",
    ),
    difficulty="seq_len",  # the delay T
    difficulty_label="delay T (blank steps before the delimiter)",
    data=("copy",),
    memory="sweeplab.tasks.copy.memory:parts",
    validate="sweeplab.tasks.copy.validate:validate",
    model_args={"outputs": "all"},  # it answers at every one of the last data.length steps
    summary_title="the copy task",
    shown=("final_eval_acc", "best_eval_acc", "step_solved"),
)
