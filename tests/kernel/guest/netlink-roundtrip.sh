#!/bin/sh
# Guest side of wg-apply-netlink.bats: random peer sets written with the netlink backend
# (netlink_driver), read back by the backend and by `wg show wg0 dump`, must all agree.
# Args: SEED PEERS BIG_PEERS BIG_IPS HUGE_IPS
set -eu
ip link add wg0 type wireguard
netlink_driver write-random wg0 "$@" >/tmp/expected
netlink_driver read wg0 >/tmp/read
wg show wg0 dump >/tmp/dump
netlink_driver canon </tmp/dump >/tmp/wg
echo "peers=$(wc -l </tmp/expected) read=$(wc -l </tmp/read) wg=$(wc -l </tmp/wg)"
echo "allowed_ips=$(wg show wg0 allowed-ips | wc -w)"
cmp /tmp/expected /tmp/read && echo "read: same"
cmp /tmp/expected /tmp/wg && echo "wg show: same"
