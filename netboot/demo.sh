#!/usr/bin/env bash
# make demo: a virtual lab of two diskless nodes on this machine. They
# PXE-boot from `provisioner serve`, mount the shared root read-only over NFS
# under a tmpfs overlay, and their node controllers enroll. Everything runs
# in one network namespace with no uplink. Stop it with `make demo-down`.
set -euo pipefail
BIN=${1:?usage: demo.sh PATH/TO/provisioner PATH/TO/node-controller}
NC=${2:?usage: demo.sh PATH/TO/provisioner PATH/TO/node-controller}
HOME_DIR=${DEMO_HOME:-$PWD/.demo}
NODES=${DEMO_NODES:-2}
# Nodes added without a MAC, with discovery auto: `lab plug` machines become them.
SPARES=${DEMO_SPARES:-2}
# dnsmasq serves TFTP as its own user: the lab's directories must be reachable.
mkdir -p "$HOME_DIR" && chmod 0755 "$HOME_DIR"

"$BIN" lab up --home "$HOME_DIR" --nodes "$NODES" --spares "$SPARES" --node-controller "$NC"
ns=$(awk -F'"' '/"namespace"/ {print $4}' "$HOME_DIR/lab/lab.json")
cat <<TXT

The lab is up. Try:
  $BIN cluster status --home $HOME_DIR
  $BIN node show lab1 --home $HOME_DIR           # boot phases and capacity
  $BIN instance run --type m1.small --home $HOME_DIR
  $BIN image build --home $HOME_DIR && $BIN lab reboot lab1 --home $HOME_DIR
  $BIN lab plug --home $HOME_DIR                 # a new machine nobody registered: it becomes spare1 and joins
  ip netns exec $ns curl -s --cacert $HOME_DIR/tls/ca.pem -H "Authorization: Bearer \$(cat $HOME_DIR/api.token)" https://10.77.0.1:8443/metrics
Status page (from a browser on this machine; any user name, the token in $HOME_DIR/api.token as the password):
  socat TCP-LISTEN:8443,fork,reuseaddr 'EXEC:ip netns exec $ns socat STDIO TCP\:10.77.0.1\:8443' &
  then open https://localhost:8443/ (the site CA is $HOME_DIR/tls/ca.pem)
Serial consoles: $HOME_DIR/lab/lab*.serial.log
Stop everything: make demo-down
TXT
