# Sourced by the peer benchmark wrappers (scripts/cleanrl_sac_bench.sh, sb3_ppo_bench.sh,
# open_clip_bench.sh): one virtual environment outside the repo for the PyTorch peers,
# default /tmp/cleanrl-venv (override with CLEANRL_VENV).
#
# peer_python IMPORTS PACKAGE...: makes sure the venv can `import IMPORTS` (comma-separated
# module names), installing PACKAGE... from the package index if not; sets PEER_PYTHON.
peer_python() {
    local imports=$1 venv="${CLEANRL_VENV:-/tmp/cleanrl-venv}"
    shift
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
        "$venv/bin/pip" install --quiet "$@"
    fi
    PEER_PYTHON=$venv/bin/python
}
