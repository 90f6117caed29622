#!/usr/bin/env bash
# test_datadir.sh - where the data directory is: -d, then HEARTH_HOME, then
# $XDG_DATA_HOME/hearth, then ~/.local/share/hearth; and what happens without one.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

X=$(new_dir x)
H=$(new_dir h)
D=$(new_dir d)
export XDG_DATA_HOME="$X"

# ~/.local/share/hearth when nothing else is set (HOME is a temporary directory).
unset XDG_DATA_HOME
expect_ok "$HEARTH" --json init --forum "home"
same "default is under HOME" "$(json 'd["data_dir"]')" "$HOME/.local/share/hearth"
check "created with its parents" -f "$HOME/.local/share/hearth/hearth.db"
same "created private" "$(stat -c %a "$HOME/.local/share/hearth")" 700
HOME_FORUM=$(json 'd["forum"]')

# A relative XDG_DATA_HOME is invalid by the XDG spec, and ignored.
export XDG_DATA_HOME="relative/path"
expect_ok "$HEARTH" --json id
same "relative XDG_DATA_HOME ignored" "$(json 'd["forum"]')" "$HOME_FORUM"

# $XDG_DATA_HOME/hearth comes before the home default.
export XDG_DATA_HOME="$X"
expect_fail 8 "no forum in $X/hearth (run 'hearth init')" "$HEARTH" id
expect_ok "$HEARTH" --json init --forum "xdg"
same "XDG data home" "$(json 'd["data_dir"]')" "$X/hearth"
XDG_FORUM=$(json 'd["forum"]')
expect_ok "$HEARTH" --json id
same "XDG forum is used" "$(json 'd["forum"]')" "$XDG_FORUM"

# HEARTH_HOME comes before XDG.
export HEARTH_HOME="$H"
expect_fail 8 "no forum in $H (run 'hearth init')" "$HEARTH" boards
expect_ok "$HEARTH" --json init --forum "hearth home"
HH_FORUM=$(json 'd["forum"]')
same "HEARTH_HOME data dir" "$(json 'd["data_dir"]')" "$H"
expect_ok "$HEARTH" --json id
same "HEARTH_HOME forum is used" "$(json 'd["forum"]')" "$HH_FORUM"

# -d comes before everything; -dDIR and --data-dir=DIR work too.
expect_ok "$HEARTH" -d "$D" --json init --forum "flag"
D_FORUM=$(json 'd["forum"]')
expect_ok "$HEARTH" -d "$D" --json id
same "-d wins" "$(json 'd["forum"]')" "$D_FORUM"
expect_ok "$HEARTH" "-d$D" --json id
same "-dDIR" "$(json 'd["forum"]')" "$D_FORUM"
expect_ok "$HEARTH" "--data-dir=$D" id --json
same "--data-dir=DIR, --json after the command" "$(json 'd["forum"]')" "$D_FORUM"
expect_ok "$HEARTH" -d "$D/" --json id
same "a trailing slash is the same dir" "$(json 'd["data_dir"]')" "$D"
expect_fail 2 "needs a directory" "$HEARTH" -d
expect_fail 2 "a directory must follow '-d'" "$HEARTH" id -d

# -d DIR works after the command too, in each of its spellings, among the arguments.
expect_ok "$HEARTH" --json id -d "$D"
same "id -d DIR" "$(json 'd["forum"]')" "$D_FORUM"
expect_ok "$HEARTH" id --json "-d$D"
contains "id -dDIR" "$OUT" "$D_FORUM"
expect_ok "$HEARTH" id --data-dir "$D" --json
same "id --data-dir DIR" "$(json 'd["data_dir"]')" "$D"
expect_ok "$HEARTH" --json post welcome --title "after" -d "$D" --body "the command"
POST_D=$(json 'd["event"]')
expect_ok "$HEARTH" read "${POST_D:0:12}" -d "$D"
contains "read ID -d DIR" "$OUT" "the command"
expect_ok "$HEARTH" read -d "$D" "${POST_D:0:12}"
contains "read -d DIR ID" "$OUT" "the command"
expect_ok "$HEARTH" --json "--data-dir=$D" read "${POST_D:0:12}"
contains "before the command still works" "$OUT" "$POST_D"
expect_fail 2 "-d needs a directory" "$HEARTH" -d "" id

# Four different forums, so each rule really chose.
check "forums differ" "$(printf '%s\n' "$HOME_FORUM" "$XDG_FORUM" "$HH_FORUM" "$D_FORUM" |
    sort -u | wc -l)" -eq 4

# A missing or uninitialised data directory: every command but init refuses it, with
# the "state" exit code, and creates nothing.
M=$(new_dir missing)
for cmd in "id" "status" "boards" "profile" "threads welcome" "read abcd" \
    "post welcome --title t --body b" "reply abcd --body b" "edit abcd --body b" \
    "retract abcd" "react abcd hug" "flag abcd --reason r" "export $TMP_ROOT/x.bundle" \
    "import $TMP_ROOT/x.bundle"; do
    # shellcheck disable=SC2086
    expect_fail 8 "no forum in $M (run 'hearth init')" "$HEARTH" -d "$M" $cmd
    # shellcheck disable=SC2086
    expect_fail 8 "no forum in $M (run 'hearth init')" "$HEARTH" -d "$M" --json $cmd
done
check "nothing was created" ! -e "$M"
mkdir -p "$M"
expect_fail 8 "no forum in $M (run 'hearth init')" "$HEARTH" -d "$M" boards
same "an empty directory stays empty" "$(find "$M" -mindepth 1 | wc -l)" 0

# A data directory that is a file.
F="$TMP_ROOT/file"
echo hello >"$F"
expect_fail 5 "$F" "$HEARTH" -d "$F" init --forum "x"

finish
