#!/bin/sh
# Guest side of wg-apply-netlink.bats: the wg-apply tool over netlink, checked against wg(8)
# applying the same peers (wg syncconf on a second device).
set -eu
d=netlink_driver
ip link add wg0 type wireguard
ip link add wg1 type wireguard
same() { [ "$(wg show wg0 dump | $d canon)" = "$(wg show wg1 dump | $d canon)" ]; }
$d print-peer-set 5 400 >/tmp/set
$d print-peer-set 5 400 4 >/tmp/set1
$d print-conf 5 400 >/tmp/conf
$d print-conf 5 400 4 >/tmp/conf1
wg syncconf wg1 /tmp/conf
wg-apply --backend netlink wg0 </tmp/set >/tmp/first
same && echo "initial: same as syncconf"
wg-apply wg0 </tmp/set >/tmp/again
same && echo "re-apply: same"
wg syncconf wg1 /tmp/conf1
wg-apply wg0 </tmp/set1 >/tmp/changed
same && echo "1% changed: same as syncconf"
echo "first: $(grep -o '"added":\[[^]]*\]' /tmp/first | tr ',' '\n' | wc -l) added"
echo "again: $(grep -o '"added":\[[^]]*\]' /tmp/again) $(grep -o '"updated":\[[^]]*\]' /tmp/again)"
echo "changed: $(grep -o '"public_key"' /tmp/changed | wc -l) updated"
wg-apply --backend netlink wg9 </tmp/set 2>/tmp/err && echo "wg9 accepted" || echo "wg9 rc=$?"
cat /tmp/err
