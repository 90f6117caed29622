#!/usr/bin/env bash
# test_peers.sh - `hearth peers`: add, list, allow, disallow and remove, with a node key
# given in full, as an address, or as a unique prefix (an ambiguous one is refused).
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D=$(new_dir d)
forum "$D" "Riverbend"

K1=abcd1111$(printf '1%.0s' $(seq 56))
K2=abcd2222$(printf '2%.0s' $(seq 56))
K3=0123$(printf '3%.0s' $(seq 60))
expect_ok "$HEARTH" -d "$D" peers add "hearth://$K1@10.0.0.1:7437"
expect_ok "$HEARTH" -d "$D" peers add "hearth://$K2@10.0.0.2:7437"
expect_ok "$HEARTH" -d "$D" peers allow "$K3"
expect_ok "$HEARTH" -d "$D" --json peers
same "three keys listed" "$(json 'len(d)')" 3

# A prefix shared by two keys is refused, naming the problem; too short or not hex too.
expect_fail 2 "'abcd': 2 peers have a key starting so; give more digits" \
    "$HEARTH" -d "$D" peers remove abcd
expect_fail 2 "'abc' is not a node key (4 to 64 hex digits) or address" \
    "$HEARTH" -d "$D" peers remove abc
expect_fail 2 "'abcz1' is not a node key" "$HEARTH" -d "$D" peers remove abcz1
expect_fail 3 "'9999': no peer with that key here" "$HEARTH" -d "$D" peers remove 9999
expect_ok "$HEARTH" -d "$D" --json peers
same "nothing removed by a refused prefix" "$(json 'len(d)')" 3

# A unique prefix names one peer, in either case.
expect_ok "$HEARTH" -d "$D" peers remove ABCD2
expect_ok "$HEARTH" -d "$D" --json peers
same "the one named is gone" "$(json '",".join(sorted(p["key"] for p in d))')" "$K3,$K1"

# allow and disallow take a prefix of a known key; allow of an unknown key needs it whole.
expect_ok "$HEARTH" -d "$D" peers allow abcd1
expect_ok "$HEARTH" -d "$D" --json peers
same "allowed by prefix" "$(json '[p["allowed"] for p in d if p["key"] == "'"$K1"'"][0]')" true
expect_ok "$HEARTH" -d "$D" peers disallow 0123
expect_ok "$HEARTH" -d "$D" --json peers
same "disallowed by prefix" "$(json '",".join(sorted(p["key"] for p in d))')" "$K1"
expect_fail 3 "'5555': no peer with that key here" "$HEARTH" -d "$D" peers allow 5555

# The full key and the address still work.
expect_ok "$HEARTH" -d "$D" peers remove "hearth://$K1@10.0.0.1:7437"
expect_ok "$HEARTH" -d "$D" --json peers
same "removed by address" "$(json 'len(d)')" 0
expect_ok "$HEARTH" -d "$D" peers add "hearth://$K2@10.0.0.2:7437"
expect_ok "$HEARTH" -d "$D" peers remove "$K2"
expect_ok "$HEARTH" -d "$D" --json peers
same "removed by full key" "$(json 'len(d)')" 0

finish
