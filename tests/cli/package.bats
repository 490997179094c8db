#!/usr/bin/env bats
# The .deb (make deb: CPack) and make install with DESTDIR: what they contain, that the
# tools run from a clean root, that the installed units pass systemd-analyze verify, and
# that bash-completion and man find what was installed.
#
# The package is built once per run with `make deb` in NATKIT_DEB_BUILD (default build-deb,
# reused from one run to the next); NATKIT_DEB=FILE tests a .deb built elsewhere instead.

bats_require_minimum_version 1.5.0
load helpers

TOOLS="stun-probe nat-classify punch peer-sync wg-apply"
UNITS="natkit-refresh.service natkit-refresh.timer natkit-watch.service natkit-rendezvous.service"

setup_file() {
    export SRC
    SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    export DEB_BUILD=${NATKIT_DEB_BUILD:-$SRC/build-deb}
    export WORK
    WORK=$(mktemp -d /tmp/natkit-package.XXXXXX)
    export VERSION
    VERSION=$(sed -nE 's/^project\(natkit VERSION ([0-9.]+).*/\1/p' "$SRC/CMakeLists.txt")
    [ -n "$VERSION" ]
    export DEB=${NATKIT_DEB:-}
    if [ -z "$DEB" ]; then
        if ! make -C "$SRC" deb DEB_BUILD="$DEB_BUILD" >"$WORK/make-deb.log" 2>&1; then
            tail -n 40 "$WORK/make-deb.log" >&3
            return 1
        fi
        DEB=$(ls "$DEB_BUILD"/natkit_"$VERSION"_*.deb)
    fi
    [ -f "$DEB" ]
    # The package's files, as dpkg-deb lists them (./usr/bin/punch -> usr/bin/punch).
    dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./||; s|/$||' | sed '/^$/d' | sort >"$WORK/contents"
    mkdir "$WORK/root"
    dpkg-deb -x "$DEB" "$WORK/root"
}

teardown_file() {
    rm -rf "$WORK"
}

setup() {
    TMP=$(mktemp -d /tmp/natkit-package-test.XXXXXX)
}

teardown() {
    rm -rf "$TMP"
}

# expected_files: what the package and a /usr install must hold, one path a line.
expected_files() {
    local t u
    for t in $TOOLS; do
        echo "usr/bin/$t"
        echo "usr/share/man/man1/$t.1"
        echo "usr/share/bash-completion/completions/$t"
    done
    for t in natkit-refresh natkit-watch; do
        [ -e "$SRC/dist/$t" ] && echo "usr/bin/$t"
    done
    echo usr/share/man/man7/natkit.7
    for u in $UNITS; do echo "usr/lib/systemd/system/$u"; done
    echo usr/share/doc/natkit/examples/mesh.conf
    echo usr/share/doc/natkit/examples/natkit.cron
    echo usr/share/doc/natkit/examples/nat-check
}

# verify_units ROOT: systemd-analyze verify on the units installed under ROOT, with the
# host's own units beside them (for sysinit.target and the like) and ROOT's man pages
# (verify also checks Documentation=man:...). Prints what verify said.
verify_units() {
    local root=$1
    mkdir -p "$root/lib/systemd"
    cp -a /lib/systemd/system "$root/lib/systemd/"
    (cd "$root/usr/lib/systemd/system" && MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" $UNITS 2>&1)
}

@test "dpkg-deb -I: name, version, Depends from the shared libraries, Recommends" {
    run dpkg-deb -I "$DEB"
    [ "$status" -eq 0 ]
    [ "$(dpkg-deb -f "$DEB" Package)" = natkit ]
    [ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ]
    [ "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)" ]
    [ -n "$(dpkg-deb -f "$DEB" Maintainer)" ]
    [ -n "$(dpkg-deb -f "$DEB" Description)" ]
    local depends
    depends=$(dpkg-deb -f "$DEB" Depends)
    echo "Depends: $depends"
    # dpkg-shlibdeps found the libraries the tools link: libc, libstdc++, OpenSSL, Boost
    # program_options, libmnl (wg-apply) and libcurl (peer-sync).
    [[ "$depends" == *"libc6 (>= "* ]]
    [[ "$depends" == *"libstdc++6"* ]]
    [[ "$depends" == *"libssl3"* ]]
    [[ "$depends" == *"libboost-program-options"* ]]
    [[ "$depends" == *"libmnl0"* ]]
    [[ "$depends" == *"libcurl"* ]]
    [[ "$(dpkg-deb -f "$DEB" Recommends)" == *wireguard-tools* ]]
}

@test "dpkg-deb -c: the tools, man pages, units, completions and examples" {
    local f missing=0
    while read -r f; do
        if ! grep -qxF "$f" "$WORK/contents"; then
            echo "not in the package: $f"
            missing=1
        fi
    done < <(expected_files)
    [ "$missing" -eq 0 ]
    # Nothing outside /usr (no /etc, no /var: the units create their state directory).
    run grep -v '^usr' "$WORK/contents"
    [ "$status" -eq 1 ]
}

@test "extracted into a clean root, every tool runs --version" {
    local t
    for t in $TOOLS; do
        run "$WORK/root/usr/bin/$t" --version
        echo "$t: $output"
        [ "$status" -eq 0 ]
        [ "$output" = "$t (natkit) $VERSION" ]
        # Stripped, and no path into the build tree.
        run readelf -d "$WORK/root/usr/bin/$t"
        [[ "$output" != *RPATH* && "$output" != *RUNPATH* ]]
        run ldd "$WORK/root/usr/bin/$t"
        [[ "$output" != *"not found"* ]]
    done
}

@test "the units point at /usr/bin and pass systemd-analyze verify" {
    local u exec
    for u in natkit-refresh.service natkit-watch.service natkit-rendezvous.service; do
        exec=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$WORK/root/usr/lib/systemd/system/$u")
        echo "$u: $exec"
        [[ "$exec" == /usr/bin/* ]]
    done
    run ! grep -l '@[A-Z]*@' "$WORK/root/usr/lib/systemd/system/"*
    [ -e "$SRC/dist/natkit-refresh" ] || skip "dist/natkit-refresh is not there yet: verify needs ExecStart's binaries"
    cp -a "$WORK/root" "$TMP/root"
    run verify_units "$TMP/root"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "the man pages render without warnings and man finds natkit(7)" {
    local page
    for page in "$WORK/root"/usr/share/man/man*/*; do
        run groff -man -Tutf8 -ww -z "$page"
        echo "$page: $output"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
    done
    run env MANPATH="$WORK/root/usr/share/man" man -w natkit
    [ "$status" -eq 0 ]
    [ "$output" = "$WORK/root/usr/share/man/man7/natkit.7" ]
}

@test "make install DESTDIR=... PREFIX=/usr puts the same files in place" {
    [ -d "$DEB_BUILD" ] || skip "no build directory $DEB_BUILD (NATKIT_DEB given)"
    run make -C "$SRC" install BUILD="$DEB_BUILD" DESTDIR="$TMP/dest" PREFIX=/usr
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    (cd "$TMP/dest" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$TMP/installed"
    run diff "$WORK/contents" "$TMP/installed"
    echo "$output"
    [ "$status" -eq 0 ]
    # The configured units are the same; the tools run from there too.
    local u t
    for u in $UNITS; do
        cmp "$WORK/root/usr/lib/systemd/system/$u" "$TMP/dest/usr/lib/systemd/system/$u"
    done
    for t in $TOOLS; do
        run "$TMP/dest/usr/bin/$t" --version
        [ "$output" = "$t (natkit) $VERSION" ]
    done
}

@test "bash-completion loads the installed completion for each tool" {
    [ -f /usr/share/bash-completion/bash_completion ]
    local t
    for t in $TOOLS; do
        run bash -c '
            source /usr/share/bash-completion/bash_completion
            BASH_COMPLETION_USER_DIR=$1/usr/share/bash-completion
            __load_completion "$2" && complete -p "$2"' _ "$WORK/root" "$t"
        echo "$t: $output"
        [ "$status" -eq 0 ]
        [ "$output" = "complete -F _natkit $t" ]
    done
}
