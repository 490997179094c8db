#!/bin/sh
# Guest side of kernel.bats "wg against the real module": two kernel WireGuard
# interfaces talking over the guest's loopback. wg1 is created in the root
# netns (so its UDP socket lives there) and then moved into netns "b", so the
# ping from the root netns to wg1's address really goes through the tunnel.
# Addresses exist only inside this VM (qemu -nic none).
set -eu
umask 077
wg genkey >/tmp/k0
wg genkey >/tmp/k1
wg pubkey </tmp/k0 >/tmp/p0
wg pubkey </tmp/k1 >/tmp/p1
echo "pub0=$(cat /tmp/p0)"
echo "pub1=$(cat /tmp/p1)"

ip netns add b
ip link add wg0 type wireguard
ip link add wg1 type wireguard
wg set wg0 listen-port 51820 private-key /tmp/k0 \
	peer "$(cat /tmp/p1)" endpoint 127.0.0.1:51821 allowed-ips 10.77.0.2/32
wg set wg1 listen-port 51821 private-key /tmp/k1 \
	peer "$(cat /tmp/p0)" endpoint 127.0.0.1:51820 allowed-ips 10.77.0.1/32
ip link set wg1 netns b
ip addr add 10.77.0.1/24 dev wg0
ip link set wg0 up
ip -n b link set lo up
ip -n b addr add 10.77.0.2/24 dev wg1
ip -n b link set wg1 up

echo "--- ip -d link show wg0"
ip -d link show wg0
ping -c 2 -W 5 10.77.0.2
echo "--- wg show wg0"
wg show wg0
echo "--- wg show wg1 (netns b)"
ip netns exec b wg show wg1
echo "--- dump"
wg show wg0 dump
echo "handshake0=$(wg show wg0 latest-handshakes | cut -f2)"
echo "handshake1=$(ip netns exec b wg show wg1 latest-handshakes | cut -f2)"
