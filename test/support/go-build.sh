# Sourced (not run) by the scripts that build test binaries from the Go module proxy: test/e2e/build-binaries.sh,
# test/istio/build-oracle.sh, test/istio/webhooks/build.sh and test/tools/build-tools.sh. Each keys its output
# directory on its pinned inputs, this file included, so a change here rebuilds.

# reuse_or_lock BIN_DIR WHAT RESULT: with the caller's `have` true, prints RESULT (the LAST line of stdout is what
# callers read) and exits; otherwise takes BIN_DIR's lock, so a concurrent caller waits for this build and then
# finds its output, and checks once more.
reuse_or_lock() {
  if have; then
    echo "$2 up to date" >&2
    echo "$3"
    exit 0
  fi
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
  if have; then
    echo "$2 up to date" >&2
    echo "$3"
    exit 0
  fi
}

# go_env SCRIPT: the module proxy only, never a VCS fallback; go.sum checked against the checksum database (the
# proxy mirrors sum.golang.org), nothing exempted; -mod=readonly, so a build never edits go.mod or go.sum; static
# binaries, as upstream releases them; the Go toolchain on PATH, which must satisfy each go.mod's go line.
go_env() {
  command -v go >/dev/null || {
    echo "$1: 'go' not found on PATH" >&2
    exit 1
  }
  export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
  export GOPROXY="${GOPROXY%%,direct}"
  export GOSUMDB="${GOSUMDB:-sum.golang.org}"
  export GONOSUMDB="" GOPRIVATE="" GOINSECURE=""
  export GOFLAGS="-mod=readonly -buildvcs=false"
  export CGO_ENABLED=0
  export GOTOOLCHAIN=local
}

# publish TMP OUT: puts the finished build in place with one rename, so a concurrent or aborted run never leaves a
# half-filled directory, and drops the directories of other (older) keys beside it (the e2e binaries are ~180 MB).
publish() {
  rm -rf "$2"
  mv "$1" "$2"
  trap - EXIT
  for d in "$(dirname "$2")"/*/; do
    [[ "${d%/}" == "$2" ]] || rm -rf "${d%/}"
  done
}
