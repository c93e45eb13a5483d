#!/usr/bin/env bash
# Makes sure Vigil has an InfluxDB to write to, for `make run` and `make test`.
#   ensure-influxdb.sh install   install influxd if missing (Debian's influxdb package)
#   ensure-influxdb.sh start     ... and start a local one on 127.0.0.1:8086 unless one answers
#   ensure-influxdb.sh stop      stop the local one `start` started (`make stop`)
# VIGIL_INFLUX_URL set: that server is used and nothing is installed or started.
set -euo pipefail
mode=${1:-start}
here=$(cd "$(dirname "$0")/.." && pwd)
state="$here/.vigil/influxdb"
url=${VIGIL_INFLUX_URL:-}

if [ "$mode" = stop ]; then
  pidfile="$state/influxd.pid"
  if [ ! -f "$pidfile" ]; then
    echo "InfluxDB: no local influxd started by make run"
    exit 0
  fi
  pid=$(cat "$pidfile")
  # Only the influxd we started: a stale pid file may name another program by now.
  if [ "$(ps -p "$pid" -o comm= 2>/dev/null)" != influxd ]; then
    rm -f "$pidfile"
    echo "InfluxDB: no local influxd running (pid $pid has ended)"
    exit 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "InfluxDB: influxd pid $pid did not stop within 10 s" >&2
    exit 1
  fi
  rm -f "$pidfile"
  echo "InfluxDB: stopped influxd pid $pid (its data stays in $state)"
  exit 0
fi

if [ -n "$url" ]; then
  echo "InfluxDB: using VIGIL_INFLUX_URL=$url"
  exit 0
fi

if ! "$here/scripts/apt-ensure.sh" influxd influxdb 2>/dev/null; then
  cat >&2 <<'MSG'
InfluxDB: influxd is not installed and cannot be installed here (no apt-get, or no root/sudo).
Either point Vigil at an existing server:
    export VIGIL_INFLUX_URL=http://host:8086      # InfluxDB 1.x, or 2.x/3.x compatibility API
    export VIGIL_INFLUX_DATABASE=vigil
    # for 2.x's native API: VIGIL_INFLUX_API=2 VIGIL_INFLUX_TOKEN=… VIGIL_INFLUX_ORG=… VIGIL_INFLUX_BUCKET=…
or run everything in containers:  docker compose up
MSG
  exit 1
fi
[ "$mode" = install ] && exit 0
"$here/scripts/apt-ensure.sh" curl curl

if curl -fsS -m 2 http://127.0.0.1:8086/ping >/dev/null 2>&1; then
  echo "InfluxDB: already answering on http://127.0.0.1:8086"
  exit 0
fi
mkdir -p "$state"
cat > "$state/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:8088"
[meta]
  dir = "$state/meta"
[data]
  dir = "$state/data"
  wal-dir = "$state/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:8086"
  log-enabled = false
CONF
echo "InfluxDB: starting influxd on http://127.0.0.1:8086 (data in $state, log in $state/influxd.log)"
# Its own session: Ctrl-C on `make run` stops Vigil only; `make stop` stops influxd.
setsid influxd -config "$state/influxdb.conf" </dev/null >"$state/influxd.log" 2>&1 &
echo $! > "$state/influxd.pid"
for _ in $(seq 1 50); do
  curl -fsS -m 1 http://127.0.0.1:8086/ping >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "InfluxDB: influxd did not answer within 10 s; see $state/influxd.log" >&2
exit 1
