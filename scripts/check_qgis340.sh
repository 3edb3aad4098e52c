#!/usr/bin/env bash
# `make check-qgis340`: run `make test` (or the make targets given as arguments, e.g. `setup`) on
# Debian 13 "trixie" (QGIS 3.40 LTR, Python 3.13) from this Debian 12 machine, in a chroot.
# Not in CI: needs root, and the first run takes minutes (debootstrap ~1 min, QGIS ~2 min, the
# engine environment a few). The chroot stays in $DEEPPROSPECT_CHROOT (default
# /var/cache/deepprospect-trixie), so later runs only refresh the checkout and run make.
#
# Inside, the checkout is a fresh clone of this repository's committed HEAD (uncommitted changes
# are not tested). pip inside needs this machine's pip settings (index mirrors, certificates,
# proxies): the PIP_* and SSL_CERT_* variables are passed through, pip's configuration files and
# the files they and those variables name are copied to the same paths (big directories, such as
# a local wheel mirror, are bind-mounted read-only instead).
#   bash scripts/check_qgis340.sh [make targets]    (default: test)
#   bash scripts/check_qgis340.sh --remove          delete the chroot (never rm -rf it by hand while
#                                                   a run is under way: /dev is bind-mounted into it)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${DEEPPROSPECT_CHROOT:-/var/cache/deepprospect-trixie}
TARGETS=("$@")
(( ${#TARGETS[@]} )) || TARGETS=(test)
[[ $(id -u) -eq 0 ]] || { echo "check-qgis340: needs root (debootstrap, chroot, mount)" >&2; exit 1; }

log() { echo "check-qgis340: $*"; }

# Debian's mirror as this host's apt is configured (deb822 or one-line sources).
mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
        grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

bootstrap() {
  [[ -f "$CHROOT/.deepprospect-bootstrapped" ]] && return 0
  command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
  log "debootstrap trixie into $CHROOT from $(mirror)"
  mkdir -p "$CHROOT"
  debootstrap --variant=minbase trixie "$CHROOT" "$(mirror)"
  touch "$CHROOT/.deepprospect-bootstrapped"
}

MOUNTED=()
bind() {  # bind <host path> [ro]: the same path inside the chroot
  local source=$1 target="$CHROOT$1"
  mountpoint -q "$target" && return 0
  if [[ -d "$source" ]]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; touch "$target"; fi
  mount --bind "$source" "$target"
  [[ "${2:-}" == ro ]] && mount -o remount,bind,ro "$target"
  MOUNTED+=("$target")
}
unmount_all() {
  local index
  for (( index=${#MOUNTED[@]}-1; index>=0; index-- )); do umount -l "${MOUNTED[index]}" 2>/dev/null || true; done
}

mount_system() {
  trap unmount_all EXIT
  trap 'exit 130' INT TERM  # so that the EXIT trap unmounts on Ctrl-C or kill too
  mountpoint -q "$CHROOT/proc" || { mount -t proc proc "$CHROOT/proc"; MOUNTED+=("$CHROOT/proc"); }
  mountpoint -q "$CHROOT/sys" || { mount -t sysfs sysfs "$CHROOT/sys"; MOUNTED+=("$CHROOT/sys"); }
  bind /dev
  bind /dev/pts
  mountpoint -q "$CHROOT/dev/shm" || { mount -t tmpfs shm "$CHROOT/dev/shm"; MOUNTED+=("$CHROOT/dev/shm"); }
  cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
}

# Paths named by pip's configuration and the PIP_*/SSL_CERT_* variables (values that are absolute
# paths or file:// URLs), plus the configuration files themselves.
pip_paths() {
  {
    printf '%s\n' /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" \
      ${PIP_CONFIG_FILE:+"$PIP_CONFIG_FILE"}
    /usr/bin/python3 -m pip config list 2>/dev/null | cut -d= -f2- | tr -d "'\""
    env | grep -E '^(PIP_|SSL_CERT_)' | cut -d= -f2-
  } | tr ' ' '\n' | sed -E 's#^file://##; s#/simple/?$##' | grep -E '^/' | sort -u |
    while read -r path; do [[ -e "$path" ]] && echo "$path"; done
}

copy_pip_settings() {
  local path size
  while read -r path; do
    mountpoint -q "$CHROOT$path" && continue
    size=$(du -sm "$path" | cut -f1)
    if [[ -d "$path" && "$size" -gt 50 ]]; then
      bind "$path" ro
    else
      mkdir -p "$CHROOT$(dirname "$path")"
      rm -rf "$CHROOT$path"
      cp -rL "$path" "$CHROOT$path"
    fi
  done < <(pip_paths)
}

in_chroot() {
  local variables=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                   LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
  while IFS= read -r line; do variables+=("$line"); done < <(env | grep -E '^(PIP_|SSL_CERT_)' || true)
  chroot "$CHROOT" /usr/bin/env -i "${variables[@]}" bash -c "$1"
}

apt_packages() {  # what setup.sh installs, plus make and git to run it
  # shellcheck disable=SC1090
  source <(sed -n '/^APT_PACKAGES=(/,/)/p' "$ROOT/scripts/setup.sh")
  echo make git ca-certificates "${APT_PACKAGES[@]}"
}

remove_chroot() {
  if findmnt -rn -o TARGET | grep -q "^$CHROOT/"; then
    echo "check-qgis340: something is still mounted under $CHROOT; not removing" >&2
    exit 1
  fi
  rm -rf --one-file-system "$CHROOT"
  log "removed $CHROOT"
}

main() {
  if [[ "${TARGETS[0]}" == "--remove" ]]; then remove_chroot; return; fi
  bootstrap
  mount_system
  local packages installed
  packages=$(apt_packages)
  installed=$(in_chroot "dpkg-query -W -f='\${db:Status-Status}\n' $packages 2>/dev/null | grep -cx installed" || true)
  if [[ "$installed" != "$(wc -w <<<"$packages")" ]]; then
    log "installing QGIS and the test tools in the chroot"
    in_chroot "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages"
  fi
  copy_pip_settings  # after apt: installing ca-certificates would rewrite a copied CA bundle

  log "fresh clone of $(git -C "$ROOT" rev-parse --short HEAD) in $CHROOT/root/deepprospect"
  rm -rf "$CHROOT/root/deepprospect"
  git clone --quiet --no-hardlinks "$ROOT" "$CHROOT/root/deepprospect"
  log "$(in_chroot 'echo "QGIS $(dpkg-query -W -f=\${Version} qgis), $(python3 --version)"')"
  in_chroot "cd /root/deepprospect && make ${TARGETS[*]}"
}

# One call at the very end: bash has read the whole file before anything runs, so editing this
# script during a (long) run cannot change what that run does.
main; exit
