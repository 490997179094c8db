#!/bin/sh
# Guest side of wg-apply-netlink.bats: how kernel errors reach the caller.
ip link add wg0 type wireguard || exit 3
key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
netlink_driver read wg9 2>&1; echo "missing-read rc=$?"
netlink_driver set-ips wg9 "$key" 10.0.0.1/32 2>&1; echo "missing-write rc=$?"
netlink_driver read lo 2>&1; echo "not-wireguard rc=$?"
netlink_driver --drop-privileges read wg0 2>&1; echo "unprivileged-read rc=$?"
netlink_driver --drop-privileges set-ips wg0 "$key" 10.0.0.1/32 2>&1
echo "unprivileged-write rc=$?"
echo "peers=$(wg show wg0 peers | wc -l)"
