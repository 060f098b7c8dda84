#!/usr/bin/env bash
# Every GPU check in one command, for the short GPU sessions (docs/PERFORMANCE.md, "The GPU check").
#
#   bash bench/gpu_check.sh [tests] [bench] [sweeps]      (no argument: all three)
#
#   tests   pytest -m gpu: graphed steps equal eager ones, GPU runs, resume
#   bench   python -m bench: every case, steps/s and ratios
#   sweeps  experiment=rnn_vs_lstm at $MATRIX_STEPS steps under several launcher settings
#           (CUDA graph on or off, jobs sharing the GPU), then the full sweep with the fastest one
#
# Results go to $OUT (the device tool's output folder; /tmp/sweeplab-gpu-check elsewhere): one .txt
# per stage as it finishes, stages.tsv with each stage's exit code and seconds, and the full sweep's
# report. Sweep dirs themselves stay in /tmp (checkpoints are not worth copying back).
# On a CPU the same script runs (the graph settings fall back to eager): try it there with
#   MATRIX_STEPS=20 FULL_STEPS=20 JOBS="2" bash bench/gpu_check.sh sweeps
set -uo pipefail

out=${OUT:-/tmp/sweeplab-gpu-check}
sweeps=$(mktemp -d /tmp/sweeplab-sweeps.XXXX)
matrix_steps=${MATRIX_STEPS:-1000}
full_steps=${FULL_STEPS:-5000}
read -r -a jobs <<< "${JOBS:-4 8 15}"
python=${PYTHON:-python3}
mkdir -p "$out"
[ -f "$out/stages.tsv" ] || printf 'stage\texit\tseconds\n' > "$out/stages.tsv"

# stage NAME TIMEOUT_S COMMAND...: run it, keep its output, record exit code and wall seconds.
stage() {
    local name=$1 limit=$2 start rc
    shift 2
    echo "== $name: $*"
    start=$(date +%s.%N)
    timeout "$limit" "$@" > "$out/$name.txt" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')" \
        | tee -a "$out/stages.tsv"
    tail -n 4 "$out/$name.txt"
    return $rc
}

sweep() {  # sweep NAME STEPS OVERRIDES...: the rnn_vs_lstm grid under the given launcher settings
    local name=$1 steps=$2
    shift 2
    stage "sweep-$name" 300 "$python" -m sweeplab -m experiment=rnn_vs_lstm "trainer.steps=$steps" \
        "~hydra.callbacks.analysis" "hydra.sweep.dir=$sweeps/$name" "$@"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$python" -c 'import torch, platform; print("torch", torch.__version__, "python", platform.python_version(), "cuda", torch.cuda.is_available())'
  nproc; date -u; } > "$out/machine.txt"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(tests bench sweeps)
for what in "${stages[@]}"; do
    case $what in
    tests) stage gpu-tests 240 "$python" -m pytest -q -m gpu -p no:cacheprovider -r s tests ;;
    bench) stage bench 240 "$python" -m bench --seconds 2 ;;
    sweeps)
        best="" best_s=""
        for n in "${jobs[@]}"; do
            sweep "graph-jobs$n" "$matrix_steps" trainer.cuda_graph=auto hydra/launcher=joblib "hydra.launcher.n_jobs=$n"
            s=$(awk -F'\t' -v s="sweep-graph-jobs$n" '$1 == s && $2 == 0 {t = $3} END {print t}' "$out/stages.tsv")
            if [ -n "$s" ] && { [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; }; then
                best=$n best_s=$s
            fi
        done
        sweep "eager-jobs${jobs[-1]}" "$matrix_steps" trainer.cuda_graph=false hydra/launcher=joblib "hydra.launcher.n_jobs=${jobs[-1]}"
        if [ -n "$best" ]; then
            echo "fastest at $matrix_steps steps: $best jobs sharing the device ($best_s s)" | tee "$out/best.txt"
            sweep full "$full_steps" trainer.cuda_graph=auto hydra/launcher=joblib "hydra.launcher.n_jobs=$best"
            stage analysis 120 "$python" -m multirun_analysis "$sweeps/full"
            mkdir -p "$out/full-sweep"
            cp -r "$sweeps/full/report.md" "$sweeps/full/tables" "$sweeps/full/plots" "$out/full-sweep/" 2>/dev/null
            # per-job wall time and steps/s, from each job's summary
            "$python" - "$sweeps/full" > "$out/full-sweep/jobs.tsv" <<'PY'
import json, pathlib, sys
print("job\tmodel\tseq_len\tseed\tstatus\twall_time_s\tsteps_per_s\tfinal_eval_acc")
for summary in sorted(pathlib.Path(sys.argv[1]).glob("*/summary.json"), key=lambda p: int(p.parent.name)):
    s = json.loads(summary.read_text())
    print("\t".join(str(s.get(k)) for k in ("model", "seq_len", "seed", "status", "wall_time_s", "steps_per_s", "final_eval_acc")).join([summary.parent.name + "\t", ""]))
PY
        fi
        ;;
    *) echo "unknown stage $what: use tests, bench or sweeps" >&2; exit 2 ;;
    esac
done
rm -rf "$sweeps"
echo "results in $out"
