# Shared by the wrk comparisons (sourced, not run): interleaved rounds of
# wrk against servers already started, the order rotating every round, and
# the median of the ratios to the first mode paired within each round.
#
# Sets ROUNDS, SECS, CONNS from ROUNDS, SECONDS_PER_RUN, CONNECTIONS
# (10 rounds of 5 s with 32 connections by default) and checks for wrk.
# `run_rounds` and `wait_ready` expect MODES (array; the first is the
# baseline) and ADDR (mode -> host:port).

ROUNDS=${ROUNDS:-10}
SECS=${SECONDS_PER_RUN:-5}
CONNS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

# Waits until every server answers GET /hello (bounded: 5 s each).
wait_ready() {
  for mode in "${MODES[@]}"; do
    for _ in $(seq 50); do curl -sf "http://${ADDR[$mode]}/hello" >/dev/null && break; sleep 0.1; done
  done
}

rps() { wrk -t1 -c"$CONNS" -d"${SECS}s" "http://${ADDR[$1]}/hello" | awk '/Requests\/sec/ {print $2}'; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.4f (min %.4f, max %.4f, %d rounds)", m, a[1], a[NR], NR}'; }

# Runs the rounds and prints each, then the median ratios.
run_rounds() {
  local base=${MODES[0]}
  for mode in "${MODES[@]}"; do rps "$mode" >/dev/null; done   # warm-up, not counted
  declare -A ratios=()
  printf 'round'; for m in "${MODES[@]}"; do printf ' %10s' "$m"; done; printf '   (requests/s)\n'
  for i in $(seq "$ROUNDS"); do
    declare -A got=()
    local shift_by=$(( (i - 1) % ${#MODES[@]} ))
    local order=("${MODES[@]:$shift_by}" "${MODES[@]:0:$shift_by}")
    for mode in "${order[@]}"; do got[$mode]=$(rps "$mode"); done
    printf '%5d' "$i"; for m in "${MODES[@]}"; do printf ' %10.0f' "${got[$m]}"; done; printf '\n'
    for m in "${MODES[@]:1}"; do
      ratios[$m]+="$(awk -v n="${got[$m]}" -v b="${got[$base]}" 'BEGIN {printf "%.4f", n / b}') "
    done
  done
  for m in "${MODES[@]:1}"; do
    # shellcheck disable=SC2086
    printf 'median paired ratio %-9s / %s: %s\n' "$m" "$base" "$(median ${ratios[$m]})"
  done
}
