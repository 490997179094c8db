#!/bin/sh
# Guest side of wg-apply-netlink.bats: remove a peer, replace allowed IPs (a few, and so many
# that the write splits), update-only on an unknown key; the rest of the device is untouched.
set -eu
ip link add wg0 type wireguard
netlink_driver write-random wg0 7 60 3 300 1500 >/tmp/before
removed=$(sed -n 1p /tmp/before | cut -f1)
small=$(sed -n 2p /tmp/before | cut -f1)
huge=$(awk -F'\t' '{ print length($4), $1 }' /tmp/before | sort -n | tail -n 1 | cut -d' ' -f2)
unknown=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

netlink_driver remove wg0 "$removed"
netlink_driver set-ips wg0 "$small" 10.200.0.0/16,fd99::/64
netlink_driver set-many-ips wg0 "$huge" 2500
netlink_driver set-ips wg0 "$unknown" 10.201.0.0/16

echo "peers=$(wg show wg0 peers | wc -l)"
wg show wg0 peers | grep -qx "$removed" && echo "removed peer still there"
wg show wg0 peers | grep -qx "$unknown" && echo "update-only peer was created"
echo "small=$(wg show wg0 allowed-ips | grep "^$small" | cut -f2)"
echo "huge_words=$(wg show wg0 allowed-ips | grep "^$huge" | cut -f2 | wc -w)"
echo "huge_172=$(wg show wg0 allowed-ips | grep "^$huge" | cut -f2 | tr ' ' '\n' | grep -c '^172\.16\.')"
# every other peer is exactly as written
wg show wg0 dump | netlink_driver canon | grep -v -e "^$small" -e "^$huge" >/tmp/after
grep -v -e "^$removed" -e "^$small" -e "^$huge" /tmp/before >/tmp/expected
cmp /tmp/expected /tmp/after && echo "others: same ($(wc -l </tmp/after))"
# and the backend's read agrees with wg(8) after the edits
netlink_driver read wg0 >/tmp/read
wg show wg0 dump | netlink_driver canon >/tmp/wg
cmp /tmp/read /tmp/wg && echo "read after edits: same"
