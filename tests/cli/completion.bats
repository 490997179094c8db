#!/usr/bin/env bats
# Bash completion (dist/bash-completion/natkit): COMPREPLY for subcommands, options, option
# values and interface names, and the option lists checked against each tool's real --help.
# The function is called directly, as bash calls it, with COMP_WORDS and COMP_CWORD set.

bats_require_minimum_version 1.5.0
load helpers

TOOLS="stun-probe nat-classify punch peer-sync wg-apply"

setup() {
    # shellcheck source=../../dist/bash-completion/natkit
    source "$BATS_TEST_DIRNAME/../../dist/bash-completion/natkit"
}

# complete_words WORD...: run the completion for the command line WORD..., the cursor at the
# end of the last word; the candidates, sorted, one line each, are in $reply.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _natkit
    reply=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort)
}

# The long options in a tool's --help, and those of them that take a value (arg, FILE).
help_options() { "$NATKIT_BIN/$1" --help | grep -oE '^ +(-[[:alnum:]] \[ )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u; }
help_value_options() {
    "$NATKIT_BIN/$1" --help | grep -E '^ +(-[[:alnum:]] \[ )?--[a-z0-9-]+( \])? (arg|FILE)( |$)' |
        sed -E 's/^ +(-[[:alnum:]] \[ )?(--[a-z0-9-]+).*/\2/' | sort -u
}

@test "complete is registered for the five tools" {
    local t
    for t in $TOOLS; do
        run complete -p "$t"
        [ "$status" -eq 0 ]
        [ "$output" = "complete -F _natkit $t" ]
    done
}

@test "peer-sync: the four subcommands, and none once one is given" {
    complete_words peer-sync ''
    [ "$reply" = "$(printf '%s\n' fetch report sync watch)" ]
    complete_words peer-sync s
    [ "$reply" = "sync" ]
    complete_words /usr/bin/peer-sync w
    [ "$reply" = "watch" ]
    complete_words peer-sync sync ''
    [ -z "$reply" ]
    # An option's value is not a subcommand: after it, the subcommands are still offered.
    complete_words peer-sync --network home --id node-a ''
    [ "$reply" = "$(printf '%s\n' fetch report sync watch)" ]
}

@test "punch: serve, and the server's options after it" {
    complete_words punch se
    [ "$reply" = "serve" ]
    complete_words punch serve --l
    [ "$reply" = "--listen" ]
    complete_words punch serve --s
    [ "$reply" = "$(printf '%s\n' --secret-file --stats-interval)" ]
    # The client's options without serve.
    complete_words punch --re
    [ "$reply" = "$(printf '%s\n' --register-timeout --results)" ]
    complete_words punch serve --re
    [ -z "$reply" ]
}

@test "wg-apply: interface names from /sys/class/net, once" {
    local want
    want=$(ls /sys/class/net | sort)
    [ -n "$want" ]
    complete_words wg-apply ''
    [ "$reply" = "$want" ]
    complete_words wg-apply --dry-run --prune l
    [ "$reply" = "$(ls /sys/class/net | grep '^l' | sort)" ]
    [[ "$reply" == *lo* ]]
    complete_words wg-apply --interface ''
    [ "$reply" = "$want" ]
    complete_words wg-apply lo ''
    [ -z "$reply" ]
}

@test "values of options with a fixed set, also as --opt=value" {
    complete_words wg-apply --backend ''
    [ "$reply" = "$(printf '%s\n' auto netlink uapi)" ]
    complete_words wg-apply --endpoint-policy a
    [ "$reply" = "always" ]
    complete_words stun-probe --mode = r
    [ "$reply" = "raw" ]
    complete_words nat-classify --mode = ''
    [ "$reply" = "$(printf '%s\n' auto raw socket)" ]
    complete_words peer-sync --control e
    [ "$reply" = "$(printf '%s\n' etcd:// etcds://)" ]
    # A value that cannot be completed gives nothing, not the options.
    complete_words stun-probe --timeout ''
    [ -z "$reply" ]
}

@test "file options complete file names" {
    local dir
    dir=$(mktemp -d)
    touch "$dir/punch.secret" "$dir/other"
    complete_words punch --secret-file "$dir/pu"
    local secret=$reply
    complete_words nat-classify --peer "$dir/o"
    local peer=$reply
    # punch --peer is a peer id, not a file.
    complete_words punch --peer "$dir/o"
    local id=$reply
    rm -rf "$dir"
    [ "$secret" = "$dir/punch.secret" ]
    [ "$peer" = "$dir/other" ]
    [ -z "$id" ]
}

@test "the long options are exactly those of each tool's --help" {
    local t want got
    for t in $TOOLS; do
        want=$(help_options "$t")
        [ -n "$want" ]
        complete_words "$t" --
        got=$reply
        if [ "$t" = punch ]; then
            complete_words punch serve --
            got=$(printf '%s\n%s\n' "$got" "$reply" | sort -u)
        fi
        got=$(grep -- '^--' <<<"$got")
        if [ "$got" != "$want" ]; then
            echo "$t: completion and --help differ:"
            diff <(echo "$got") <(echo "$want") || true
            return 1
        fi
    done
}

@test "options that take a value are those that say so in --help" {
    local t want got var
    for t in $TOOLS; do
        want=$(help_value_options "$t")
        [ -n "$want" ]
        var=_natkit_args_${t//-/_}
        got=$(printf '%s\n' ${!var} $_natkit_common_args | grep -- '^--' | sort -u)
        if [ "$got" != "$want" ]; then
            echo "$t: value options differ (completion < > --help):"
            diff <(echo "$got") <(echo "$want") || true
            return 1
        fi
    done
}
