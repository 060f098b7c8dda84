#!/usr/bin/env bash
# Every GPU check in one command, for the short GPU sessions (docs/PERFORMANCE.md, "The GPU check").
#
#   bash bench/gpu_check.sh [tests] [bench] [sweeps]      (no argument: all three)
#
#   tests   pytest -m gpu: graphed steps equal eager ones, GPU runs, resume
#   bench   python -m bench --device cuda: every case, steps/s and ratios
#   sweeps  experiment=rnn_vs_lstm at $MATRIX_STEPS steps with $JOBS joblib jobs sharing the GPU
#           (CUDA graphs on) and the most jobs eager, then the full sweep with the fastest setting
#
# $OUT (the device tool's output folder; /tmp/sweeplab-gpu-check elsewhere) gets three files, since
# the device tool brings back at most eight: summary.md (machine, stage table, the tail of every
# stage, the bench tables, the full sweep's per-job rates and report), stages.tsv (exit code and
# seconds per stage) and results.tar.gz (every log, table and plot). Each stage appends as it ends,
# so a call cut off at its limit still brings back what finished.
#
# Environment: DEADLINE (seconds for the whole call, default 500: stages get what is left),
# MATRIX_STEPS (500), FULL_STEPS (5000), JOBS ("4 8 15"), PYTHON (python3),
# ALLOW_CPU=1 to try it without a GPU (2 minutes here:
#   ALLOW_CPU=1 MATRIX_STEPS=20 FULL_STEPS=20 JOBS="2" PYTHON=.venv/bin/python bash bench/gpu_check.sh sweeps).
# Exits non-zero when a stage failed or no GPU is visible.
set -uo pipefail
export PYTHONUNBUFFERED=1

out=${OUT:-/tmp/sweeplab-gpu-check}
work=$(mktemp -d /tmp/sweeplab-gpu-check.XXXX)  # logs and sweep dirs; packed into results.tar.gz
deadline=$((SECONDS + ${DEADLINE:-500}))
matrix_steps=${MATRIX_STEPS:-500}
full_steps=${FULL_STEPS:-5000}
read -r -a jobs <<< "${JOBS:-4 8 15}"
python=${PYTHON:-python3}
failed=0
declare -A seconds  # of the stages of this call that exited 0
mkdir -p "$out"
[ -f "$out/stages.tsv" ] || printf 'stage\texit\tseconds\n' > "$out/stages.tsv"

finish() {  # pack everything that is there, whatever happened
    tar -czf "$out/results.tar.gz" --exclude=checkpoint.pt -C "$work" . 2>/dev/null  # 16 MiB per file at most
    rm -rf "$work"
}
trap finish EXIT

# stage NAME LIMIT_S COMMAND...: run it within the deadline, keep its log, record exit code and seconds.
stage() {
    local name=$1 limit=$2 start rc left=$((deadline - SECONDS - 15))
    shift 2
    [ "$limit" -le "$left" ] || limit=$left
    if [ "$limit" -le 10 ]; then
        printf '%s\tskipped (deadline)\t0\n' "$name" | tee -a "$out/stages.tsv"
        failed=1
        return 1
    fi
    echo "== $name ($limit s at most): $*"
    start=$(date +%s.%N)
    timeout -k 10 "$limit" "$@" > "$work/$name.log" 2>&1
    rc=$?
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    printf '%s\t%s\t%s\n' "$name" "$rc" "$took" | tee -a "$out/stages.tsv"
    [ "$rc" -ne 0 ] || seconds[$name]=$took
    { echo; echo "### $name (exit $rc)"; echo; echo '```'; tail -n 15 "$work/$name.log"; echo '```'; } >> "$out/summary.md"
    [ "$rc" -eq 0 ] || failed=1
    return "$rc"
}

sweep() {  # sweep NAME STEPS OVERRIDES...: the rnn_vs_lstm grid under the given launcher settings
    local name=$1 steps=$2
    shift 2
    stage "sweep-$name" 300 "$python" -m sweeplab -m experiment=rnn_vs_lstm "trainer.steps=$steps" \
        "trainer.device=$device" "~hydra.callbacks.analysis" "hydra.sweep.dir=$work/$name" "$@"
}

seconds_of() {  # the seconds of a stage of this call that exited 0, or nothing
    echo "${seconds[$1]:-}"
}

{
    echo "# sweeplab GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo '```'
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi"
    "$python" -c 'import torch, platform; print("torch", torch.__version__, "python", platform.python_version(), "cuda", torch.cuda.is_available())'
    echo "$(nproc) CPU cores"
    echo '```'
} >> "$out/summary.md"

device=cuda
if ! "$python" -c 'import sweeplab, torch; raise SystemExit(not torch.cuda.is_available())'; then
    if [ "${ALLOW_CPU:-0}" != 1 ]; then
        echo "no CUDA GPU visible to $python (or sweeplab not importable: PYTHONPATH?); ALLOW_CPU=1 to try on a CPU" \
            | tee -a "$out/summary.md" >&2
        exit 3
    fi
    device=cpu
fi

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(tests bench sweeps)
for what in "${stages[@]}"; do
    case $what in
    tests) stage gpu-tests 240 "$python" -m pytest -q -m gpu -p no:cacheprovider -r s tests ;;
    bench)
        # the Triton cases in their own process: a faulting kernel cannot take the others down
        stage bench 180 "$python" -m bench --device "$device" --seconds 2 --triton without \
            && { echo; cat "$work/bench.log"; } >> "$out/summary.md"
        [ "$device" = cpu ] || { stage bench-triton 90 "$python" -m bench --device cuda --seconds 2 --triton only \
            && { echo; cat "$work/bench-triton.log"; } >> "$out/summary.md"; }
        ;;
    sweeps)
        [ ${#jobs[@]} -gt 0 ] || { echo "JOBS is empty" >&2; exit 2; }
        best="" best_s="" graph=auto
        for n in "${jobs[@]}"; do
            sweep "graph-jobs$n" "$matrix_steps" trainer.cuda_graph=auto hydra/launcher=joblib "hydra.launcher.n_jobs=$n"
            s=$(seconds_of "sweep-graph-jobs$n")
            if [ -n "$s" ] && { [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; }; then
                best=$n best_s=$s
            fi
        done
        n=${jobs[${#jobs[@]} - 1]}
        sweep "eager-jobs$n" "$matrix_steps" trainer.cuda_graph=false hydra/launcher=joblib "hydra.launcher.n_jobs=$n"
        s=$(seconds_of "sweep-eager-jobs$n")
        if [ -n "$s" ] && { [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; }; then
            best=$n best_s=$s graph=false
        fi
        if [ -z "$best" ]; then
            echo "no matrix sweep finished: no full sweep" | tee -a "$out/summary.md"
            failed=1
            continue
        fi
        echo "fastest at $matrix_steps steps: $best jobs, trainer.cuda_graph=$graph ($best_s s)" | tee -a "$out/summary.md"
        sweep full "$full_steps" "trainer.cuda_graph=$graph" hydra/launcher=joblib "hydra.launcher.n_jobs=$best" \
            || continue
        # per-job wall time and steps/s, from each job's summary.json
        "$python" - "$work/full" >> "$out/summary.md" <<'PY'
import json, pathlib, sys
print("\n| job | model | T | seed | status | wall s | steps/s | final eval acc |\n|---|---|---|---|---|---|---|---|")
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/summary.json"), key=lambda p: int(p.parent.name)):
    s = json.loads(path.read_text())
    keys = ("model", "seq_len", "seed", "status", "wall_time_s", "steps_per_s", "final_eval_acc")
    print("| " + " | ".join([path.parent.name, *(str(s.get(k)) for k in keys)]) + " |")
PY
        stage analysis 120 "$python" -m multirun_analysis "$work/full" \
            && { echo; cat "$work/full/report.md"; } >> "$out/summary.md"
        ;;
    *) echo "unknown stage $what: use tests, bench or sweeps" >&2; exit 2 ;;
    esac
done
echo "results in $out (summary.md, stages.tsv, results.tar.gz)"
exit "$failed"
