"""What the palindrome task is, for the code that must not import it (torch-free: sweeplab.contract)."""

from sweeplab.contract import SOLVED_THRESHOLD, Solved, TaskSpec, sequence_settings

SPEC = TaskSpec(
    name="palindrome",
    run="sweeplab.tasks.palindrome.train:run",
    metric_columns=("step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s"),
    results={
        "final_eval_acc": float,
        "final_eval_loss": float,
        "best_eval_acc": float,
        "step_to_99": int,
        "n_params": int,
    },  # fmt: skip
    settings=sequence_settings(encoding="data.encoding"),
    objective="final_eval_acc",
    solved=Solved(
        "eval_acc",
        SOLVED_THRESHOLD,
        what="held-out accuracy",
        note="Accuracy per run is bimodal on this task (a run solves T or stays near chance), so read it with the "
        "success rate.",
    ),
    difficulty_label="palindrome length T",
    difficulty="seq_len",  # the palindrome length T
    data=("palindrome",),
    memory="sweeplab.tasks.palindrome.memory:parts",
    validate="sweeplab.tasks.palindrome.validate:validate",
    summary_title="the palindrome task",
    shown=("final_eval_acc", "best_eval_acc", "step_to_99"),
)
