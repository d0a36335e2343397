#!/usr/bin/env bash
# The demo until the virtual lab lands: a sample site with a registry of
# nodes, shown as an operator and as a script would see it.
set -euo pipefail
BIN=${1:?usage: demo.sh PATH/TO/provisioner}
HOME_DIR=${DEMO_HOME:-$PWD/.demo}
rm -rf "$HOME_DIR"
run() { printf '\n$ provisioner %s\n' "$*"; "$BIN" "$@" --home "$HOME_DIR"; }

mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
run init --interface lab0 --server-ip 10.77.0.1 --subnet 10.77.0.0/24 --dhcp-range 10.77.0.200-10.77.0.250 ${mirror:+--mirror "$mirror"}
cat > "$HOME_DIR/nodes.csv" <<CSV
mac,hostname,ip,profile
52:54:00:77:00:01,node01,,
52-54-00-77-00-02,node02,10.77.0.20,default
5254.0077.0003,NODE03,,
CSV
run node import "$HOME_DIR/nodes.csv"
run node add 'spare[1-3]'
run node add gpu1 --mac 52:54:00:77:00:10
run node set spare1 --mac 52:54:00:77:00:11
run node list
run node show node03 --json
printf '\n$ provisioner node add bad_name --mac 52:54:00:77:00:99   # bad input: one clear error, nothing changed\n'
"$BIN" node add bad_name --mac 52:54:00:77:00:99 --home "$HOME_DIR" || true
printf '\nThe demo site is in %s; remove it with: make demo-down\n' "$HOME_DIR"
