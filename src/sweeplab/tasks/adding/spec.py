"""What the adding problem is, for the code that must not import it (torch-free: sweeplab.contract).

Solved: held-out MSE <= 0.01. Predicting the constant 1 (the target's mean) scores the target's
variance, 2/12 = 0.167; 0.01 is 6% of that (94% of the variance explained, an RMS error of 0.1 on a
sum between 0 and 2), well below what a model that ignores the markers can reach.
"""

from sweeplab.contract import Solved, TaskSpec, sequence_settings

SPEC = TaskSpec(
    name="adding",
    run="sweeplab.tasks.adding.train:run",
    metric_columns=("step", "train_mse", "eval_mse", "elapsed_s"),
    results={"final_eval_mse": float, "best_eval_mse": float, "step_solved": int, "n_params": int},
    settings=sequence_settings(),
    objective="final_eval_mse",
    maximize=False,
    solved=Solved(
        "eval_mse",
        0.01,
        lower_is_better=True,
        what="held-out MSE",
        note="Predicting the constant 1 scores an MSE of 0.167 (the sum's variance): a run near it ignored the markers.",
    ),
    difficulty="seq_len",  # the sequence length T
    difficulty_label="sequence length T",
    data=("adding",),
    memory="sweeplab.tasks.adding.memory:parts",
    validate="sweeplab.tasks.adding.validate:validate",
    summary_title="the adding problem",
    shown=("final_eval_mse", "best_eval_mse", "step_solved"),
)
