#!/usr/bin/env bash
# Make the image named by a Dockerfile's first FROM exist locally (no registry here): a Debian
# bookworm minbase root file system with python3 (debootstrap), imported under that name.
# Usage: base-image.sh DOCKERFILE   (needs debootstrap and podman)
# For machines without registry access (README "Container image"); from the shared podman recipe
# of the development machines, with the root directory's mode fixed.
set -eu
T=$(dirname "$(readlink -f "$0")")
export CONTAINERS_CONF=${CONTAINERS_CONF:-$T/containers.conf} CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-$T/storage.conf}
from=$(awk 'toupper($1)=="FROM"{print $2; exit}' "$1")
if [[ "$from" == *'${'* ]]; then  # FROM ${ARG}: take the ARG default
  var=$(echo "$from" | sed -E 's/.*\$\{([A-Za-z_]+).*/\1/')
  from=$(awk -v v="$var" 'toupper($1)=="ARG" && index($2, v"=")==1 {sub(v"=", "", $2); print $2; exit}' "$1")
fi
[ -n "$from" ] || { echo "no FROM in $1"; exit 1; }
podman image exists "$from" && { echo "$from"; exit 0; }
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
r=$(mktemp -d)
chmod 755 "$r"  # mktemp makes it 0700: as the image's "/" it would lock every non-root user out
# the Debian mirror this machine's apt already uses (never a host name written here)
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt (sources.list.d/debian.sources or sources.list)"; exit 1; }
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates,curl bookworm "$r" "$mirror" >/dev/null
[ -f /etc/apt/sources.list.d/debian.sources ] && cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/" && rm -f "$r/etc/apt/sources.list"
# official python images put python at /usr/local/bin/python
ln -sf /usr/bin/python3 "$r/usr/local/bin/python"; ln -sf /usr/bin/pip3 "$r/usr/local/bin/pip" 2>/dev/null || true
tar -C "$r" -c . | podman import --change 'CMD ["python3"]' - "$from" >/dev/null
rm -rf "$r"
echo "$from"
