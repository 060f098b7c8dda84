"""What the palindrome task is, for the code that must not import it (torch-free: sweeplab.contract)."""

from sweeplab.contract import SOLVED_THRESHOLD, Solved, TaskSpec

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
    settings={
        "model": "model.name",
        "hidden_size": "model.hidden_size",
        "forget_bias": "model.forget_bias",
        "seq_len": "seq_len",
        "encoding": "data.encoding",
        "seed": "seed",
        "optimizer": "optim.name",
        "lr": "optim.lr",
        "batch_size": "trainer.batch_size",
        "steps": "trainer.steps",
    },
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
