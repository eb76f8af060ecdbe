# Sourced by scripts/driving_experiments.sh, sac_experiments.sh, arm_experiments.sh and
# heldout_text_goal.sh: one experiment run's life, and the goal pairs of a goal file. A run
# NAME trains in $RUNS/NAME and its small files are kept in $KEEP/NAME; V is the vlmgym
# binary.

# kept NAME: true (and says so) when NAME's files are already kept, i.e. the run is done.
kept() {
    [[ -f $KEEP/$1/eval.json ]] || return 1
    echo "$1: done ($KEEP/$1)"
}

# train_and_eval NAME ARGS...: `vlmgym train ARGS...` into $RUNS/NAME, or `--resume` when it
# already holds checkpoints (a run cut off earlier), then its eval.json ($EPISODES
# deterministic episodes, default 20).
train_and_eval() {
    local name=$1 dir=$RUNS/$1
    shift
    mkdir -p "$RUNS"
    if [[ -d $dir/checkpoints ]]; then
        "$V" train --out "$dir" --resume
    else
        "$V" train --out "$dir" "$@"
    fi
    "$V" eval --checkpoint "$dir" --episodes "${EPISODES:-20}" --deterministic >"$dir/eval.json"
}

# keep NAME: copies the run's config.toml, metrics.csv, curves.png, every eval*.json and a
# placed window's check (window_check.json) to $KEEP/NAME, which marks it done.
keep() {
    mkdir -p "$KEEP/$1"
    cp "$RUNS/$1"/config.toml "$RUNS/$1"/metrics.csv "$RUNS/$1"/curves.png "$RUNS/$1"/eval*.json "$KEEP/$1"/
    # A run that placed its CLG window (train --place-window) keeps that check's report.
    if [[ -f $RUNS/$1/window_check/report.json ]]; then
        cp "$RUNS/$1/window_check/report.json" "$KEEP/$1/window_check.json"
    fi
    echo "$1: done"
}

# goal_pair FILE K: the K-th pair (1-based) of a goal file (assets/goals/*/*.toml), its goal
# and negative on two lines.
goal_pair() {
    python3 - "$1" "$2" <<'PY'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["pair"][int(sys.argv[2]) - 1]
print(p["goal"]); print(p["negative"])
PY
}
