#!/usr/bin/env bash
# Pins the Dockerfile's base images to the digests their tags point at now: asks Docker Hub (anonymous pull
# token, then a HEAD of the tag's manifest list) and rewrites ARG BUN_IMAGE_DIGEST / DEBIAN_IMAGE_DIGEST.
# Run it after changing BUN_VERSION, and regularly for Debian's security fixes; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

digest_of() { # repository tag
  local repository=$1 tag=$2 token
  token=$(curl -fsS "https://auth.docker.io/token?service=registry.docker.io&scope=repository:${repository}:pull" |
    sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -fsSI \
    -H "Authorization: Bearer ${token}" \
    -H "Accept: application/vnd.oci.image.index.v1+json" \
    -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json" \
    "https://registry-1.docker.io/v2/${repository}/manifests/${tag}" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

bun_version=$(sed -nE 's/^ARG BUN_VERSION=(.+)$/\1/p' Dockerfile)
bun_digest=$(digest_of oven/bun "$bun_version")
debian_digest=$(digest_of library/debian bookworm-slim)
for digest in "$bun_digest" "$debian_digest"; do
  [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "no digest from Docker Hub (got '${digest}')" >&2; exit 1; }
done
sed -i -E \
  -e "s/^ARG BUN_IMAGE_DIGEST=.*/ARG BUN_IMAGE_DIGEST=${bun_digest}/" \
  -e "s/^ARG DEBIAN_IMAGE_DIGEST=.*/ARG DEBIAN_IMAGE_DIGEST=${debian_digest}/" \
  Dockerfile
echo "oven/bun:${bun_version}@${bun_digest}"
echo "debian:bookworm-slim@${debian_digest}"
