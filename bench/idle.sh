# idle.sh -- sourced by the benchmark scripts: how busy the machine is, and waiting until it is
# quiet. Uses IDLE_MAX_PCT (busy % above which to wait) and IDLE_WAIT_S (longest wait).

busy_pct() {   # busy % of all CPUs (every process) over 0.5 s
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a + b + c + d + e + f + g + h)); i1=$((d + e))
  sleep 0.5
  read -r _ a b c d e f g h _ </proc/stat; t2=$((a + b + c + d + e + f + g + h)); i2=$((d + e))
  echo $((100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1 > 0 ? t2 - t1 : 1)))
}

wait_idle() {  # waits while busy_pct exceeds IDLE_MAX_PCT (at most IDLE_WAIT_S); prints the last reading
  local start=$SECONDS b
  b=$(busy_pct)
  while ((b > IDLE_MAX_PCT && SECONDS - start < IDLE_WAIT_S)); do sleep 2; b=$(busy_pct); done
  echo "$b"
}
