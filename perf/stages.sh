# Sourced by the GPU check scripts: output folder, environment, log, and `stage`.
# Needs OUT set; sets PY (python3 unless $PYTHON) and tees everything into $OUT/log.txt.
mkdir -p "$OUT"
export PYTHONPATH="${PYTHONPATH:-src}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
exec > >(tee -a "$OUT/log.txt") 2>&1

stage() {  # stage NAME SECONDS CMD...: one step under its own timeout, timed and logged
  local name=$1 limit=$2
  shift 2
  echo "=== $(date -u +%H:%M:%S) stage $name (timeout ${limit}s): $*"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@"
  echo "=== stage $name: exit $? after $((SECONDS - t0)) s"
}
