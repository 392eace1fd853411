#!/usr/bin/env bash
# Builds (once) a slim local git repository of llama.cpp, taken from the
# llama-cpp-python sdist on PyPI, for the engine-provisioner end-to-end test.
#
# Usage: scripts/llama-fixture.sh            prints the repository path
# Env:   LLAMA_FIXTURE_CACHE  cache dir (default $HOME/.cache/provision-test)
#        LLAMA_FIXTURE_SDIST  an already downloaded sdist to use instead
#
# The commit is deterministic (fixed author, committer and dates, isolated
# git config) so its hash is the same on every machine: a build cache keyed
# by commit is reused by later runs. Idempotent: a finished repository with
# tag v0 is reused as is. Progress goes to stderr, the path to stdout.
set -euo pipefail

version=0.3.36
cache="${LLAMA_FIXTURE_CACHE:-$HOME/.cache/provision-test}"
sdist_dir="$cache/sdist"
sdist="$sdist_dir/llama_cpp_python-$version.tar.gz"
repo="$cache/llama.cpp-$version"

log() { printf 'llama-fixture: %s\n' "$*" >&2; }

# Isolate git from user/system config so the commit hash cannot vary.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="fixture" GIT_AUTHOR_EMAIL="fixture@localhost"
export GIT_COMMITTER_NAME="fixture" GIT_COMMITTER_EMAIL="fixture@localhost"
export GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z"

mkdir -p "$cache"
# One builder at a time; later callers find the finished repository.
if command -v flock >/dev/null; then
  exec 9>"$cache/.fixture.lock"
  flock 9
fi

if git -C "$repo" rev-parse -q --verify 'refs/tags/v0^{commit}' >/dev/null 2>&1; then
  log "reusing $repo"
  printf '%s\n' "$repo"
  exit 0
fi

mkdir -p "$sdist_dir"
if [[ ! -s "$sdist" ]]; then
  if [[ -n "${LLAMA_FIXTURE_SDIST:-}" && -s "${LLAMA_FIXTURE_SDIST}" ]]; then
    log "copying $LLAMA_FIXTURE_SDIST"
    cp "$LLAMA_FIXTURE_SDIST" "$sdist.part"
    mv "$sdist.part" "$sdist"
  else
    log "downloading llama-cpp-python==$version sdist from PyPI"
    tmpdl="$(mktemp -d "$sdist_dir/dl.XXXXXX")"
    python3 -m pip download -q --disable-pip-version-check --no-deps \
      --no-binary llama-cpp-python "llama-cpp-python==$version" -d "$tmpdl" >&2
    mv "$tmpdl/llama_cpp_python-$version.tar.gz" "$sdist"
    rm -rf "$tmpdl"
  fi
fi

work="$(mktemp -d "$cache/fixture.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "extracting vendor/llama.cpp"
tar -xzf "$sdist" -C "$work" "llama_cpp_python-$version/vendor/llama.cpp"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"

# Slim: what llama-server does not need (see shared notes, 176 MB -> 48 MB).
rm -rf "$src"/{models,docs,benches,media,examples,tests,.devops} \
  "$src"/tools/ui/{src,static,tests}
# The vendored .git is a file pointing at the outer repository.
rm -rf "$src/.git"

log "creating the git repository"
git -C "$src" -c init.defaultBranch=main init -q
git -C "$src" -c core.excludesFile=/dev/null add -A -f
git -C "$src" -c commit.gpgsign=false commit -q -m "llama.cpp from llama-cpp-python $version sdist"
git -C "$src" -c tag.gpgsign=false tag v0
git -C "$src" gc -q --aggressive --prune=now

rm -rf "$repo"
mv "$src" "$repo"
log "ready: $repo at $(git -C "$repo" rev-parse HEAD)"
printf '%s\n' "$repo"
