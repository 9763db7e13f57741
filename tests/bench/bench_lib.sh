# Shell pieces shared by the benchmark scripts of this folder
# (query_bench.sh, e2e_bench.sh); sourced, not run.
#
# REQUIRES: the caller defines die() (prints its arguments and exits non-zero)
# and sets $kehu to the kehu binary. The functions keep the processes they
# start in the globals serve_pid, log_pid and job_pid, so that the caller's
# EXIT trap can stop them (stop_serve, and kill job_pid).

serve_pid=""
log_pid=""
job_pid=""

# Runs "$@" in the background and waits for it: a signal to the script is
# then handled at once, not when the command ends, and the trap stops it.
run() {
  "$@" &
  job_pid=$!
  wait "$job_pid"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }

# start_serve DATA_DIR LOG_FILE [serve flags...]: starts `kehu serve` on a
# free loopback port (port 0) and reads the address it prints from its
# output, through a pipe: no polling, no fixed wait. Sets serve_pid, addr
# and log_pid (the copier of the server's output into LOG_FILE).
start_serve() {
  local data="$1" log="$2"
  shift 2
  local pipe
  pipe="$(dirname "$log")/serve.pipe.$$"
  rm -f "$pipe"
  mkfifo "$pipe"
  "$kehu" serve --data "$data" --listen 127.0.0.1:0 --fit-interval-hours 0 "$@" \
    >"$pipe" 2>&1 &
  serve_pid=$!
  exec 3<"$pipe"
  rm -f "$pipe"
  addr=""
  local line
  while IFS= read -r -t 60 -u 3 line; do
    echo "$line" >>"$log"
    case "$line" in
      *"listening on "*)
        addr="${line#*listening on }"
        addr="${addr%%,*}"
        break
        ;;
    esac
  done
  [ -n "$addr" ] || die "kehu serve did not start: $(cat "$log" 2>/dev/null)"
  cat <&3 >>"$log" &
  log_pid=$!
  exec 3<&-
}

# stop_serve: SIGTERM to the server started by start_serve, SIGKILL if it
# has not stopped 30 s later; waits for it and its log copier. Safe to call
# when no server runs.
stop_serve() {
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    # A clean stop takes well under a second; give it 30 before SIGKILL.
    local i
    for i in $(seq 300); do
      kill -0 "$serve_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$serve_pid" 2>/dev/null || true
  fi
  [ -n "$serve_pid" ] && { wait "$serve_pid" 2>/dev/null || true; }
  # The log copier ends when the server's end of the pipe closes.
  [ -n "$log_pid" ] && { wait "$log_pid" 2>/dev/null || true; }
  serve_pid=""
  log_pid=""
}

# stop_job: stops the command run() is waiting for, if any.
stop_job() {
  if [ -n "$job_pid" ] && kill -0 "$job_pid" 2>/dev/null; then
    kill -TERM "$job_pid" 2>/dev/null || true
  fi
}

# wait_folded ADDR: returns once the server at ADDR has folded everything
# appended to its log.
wait_folded() {
  run "$kehu" query progress --wait --server "$1" --timeout 14400 >/dev/null
}

# peak_rss_kib PID: the process's peak resident set (VmHWM), KiB.
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# loadavg_1min: the machine's load average over the last minute.
loadavg_1min() { cut -d' ' -f1 /proc/loadavg; }
