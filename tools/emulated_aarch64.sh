#!/usr/bin/env bash
# The installed wheel on aarch64, emulated: an arm64 Debian 12 root filesystem (what Raspberry Pi OS
# Bookworm and the RK3588 images are) run through qemu-user and binfmt_misc.
#
#   tools/emulated_aarch64.sh WHEEL [OUT]        (as root; CI runs it)
#
# Installs WHEEL with aarch64 wheels only, then runs there: ferdesk models, ferdesk run on a short clip
# (ONNX Runtime with the temporal head on, LiteRT, and every detector that is available), ferdesk doctor,
# ferdesk bench on the default model, and the window offscreen for a few seconds. The same runs on this
# machine (x86-64) give the reference: tools/compare_sessions.py checks that both found the same faces with
# the same labels and probabilities within 0.01. Emulated timings mean nothing (10-40x slower); correctness
# does. The root filesystem and the virtual environment in it are cached in FERDESK_AARCH64_ROOT (default
# /var/cache/ferdesk/aarch64-bookworm): about 8 minutes cold, a few minutes warm.
# Where binfmt_misc cannot be registered (a container without the privilege), it says so and exits 0.
set -euo pipefail
wheel="$(realpath "$1")"
out="$(realpath -m "${2:-build/aarch64}")"
here="$(cd "$(dirname "$0")/.." && pwd)"
root="${FERDESK_AARCH64_ROOT:-/var/cache/ferdesk/aarch64-bookworm}"
start=$(date +%s)
say() { echo "[aarch64 $(( $(date +%s) - start ))s] $*"; }

# -- qemu-user through binfmt_misc -----------------------------------------------------------------
need=()
command -v mmdebstrap > /dev/null || need+=(mmdebstrap)
[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts > /dev/null || need+=(binfmt-support)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  (apt-get update -qq && apt-get install -y -qq "${need[@]}") > /dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2> /dev/null || true
fi
update-binfmts --enable qemu-aarch64 > /dev/null 2>&1 || true
if ! grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2> /dev/null; then
  echo "SKIPPED: the emulated aarch64 check: binfmt_misc cannot be registered here (no privilege to mount it)"
  exit 0
fi

# -- the arm64 root filesystem (cached) --------------------------------------------------------------
if [ ! -x "$root/usr/bin/python3" ]; then
  say "building the arm64 Debian 12 root filesystem in $root"
  rm -rf "$root.tmp"
  mkdir -p "$(dirname "$root")"
  mmdebstrap --quiet --architectures=arm64 --variant=apt \
    --include=python3,python3-venv,ca-certificates,libegl1,libgl1,libxkbcommon0,libxkbcommon-x11-0,libfontconfig1,libdbus-1-3,libglib2.0-0,libsm6,libice6,libgomp1 \
    bookworm "$root.tmp" > /dev/null
  mv "$root.tmp" "$root"
fi

# qemu-user shows the host's x86 /proc/cpuinfo, on which onnxruntime's cpuinfo parser crashes at import:
# the emulated system sees an ARM one (a Cortex-A76 with the dot-product instructions, like a Pi 5)
cpuinfo="$(mktemp)"
# without /sys, onnxruntime's cpuinfo complains on every start: kept out of the console, shown on failure
errors="$(mktemp)"
for n in 0 1; do
  printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' "$n"
done > "$cpuinfo"
mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2> /dev/null || true; done
  rm -f "$cpuinfo" "$errors"
}
trap cleanup EXIT
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind "$cpuinfo" "$root/proc/cpuinfo" && mounted+=("$root/proc/cpuinfo")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
# no /sys: an earlier run here found LiteRT results changed under qemu-user with /sys mounted (not re-checked)
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$root/work"
in_arm() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin LANG=C.UTF-8 \
             QT_QPA_PLATFORM=offscreen FERDESK_CONFIG_DIR=/work/config FERDESK_DATA_DIR=/work/data "$@" \
             2>> "$errors" || { echo "failed under emulation: $*"; tail -20 "$errors"; return 1; }; }
[ "$(in_arm uname -m)" = aarch64 ] || { echo "the root filesystem does not run as aarch64"; exit 1; }

# -- the wheel, with aarch64 wheels only ------------------------------------------------------------------
if [ ! -x "$root/opt/venv/bin/python" ]; then
  say "creating the virtual environment"
  in_arm /usr/bin/python3 -m venv /opt/venv
  in_arm /opt/venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
fi
cp "$wheel" "$root/work/"
say "installing $(basename "$wheel") and its aarch64 dependencies"
in_arm /opt/venv/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: \
  --force-reinstall --no-deps "/work/$(basename "$wheel")"
in_arm /opt/venv/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: \
  "/work/$(basename "$wheel")[tflite]"
in_arm /opt/venv/bin/python -m pip list 2> /dev/null | grep -iE "^(ferdesk|onnxruntime|opencv|PySide6|ai-edge-litert|numpy) " || true

# -- the same runs here and there ---------------------------------------------------------------------
rm -rf "$out" "$root/work/out" "$root/work/config" "$root/work/data"
mkdir -p "$out/x86_64" "$root/work/out"
python "$here/tools/compare_sessions.py" --make-clip "$root/work/clip.mp4"
runs=("ort-temporal:--backend onnxruntime --temporal on"
      "litert:--backend litert")
for det in blazeface blazeface-tiled blazeface-full opencv-cascade; do
  if ferdesk models --json | python -c "import json,sys; d={m['name']: m for m in json.load(sys.stdin)}; \
      b=d['$det']['backends']; sys.exit(0 if all(v['available'] for k, v in b.items() if k=='detector') else 1)"; then
    runs+=("det-$det:--detector $det")
  fi
done
say "ferdesk models"
in_arm ferdesk models --json > "$out/models-aarch64.json"
for entry in "${runs[@]}"; do
  name="${entry%%:*}"; args="${entry#*:}"
  say "ferdesk run $args"
  # shellcheck disable=SC2086
  ferdesk run --source "$root/work/clip.mp4" $args --log "$out/x86_64/$name" > /dev/null
  # shellcheck disable=SC2086
  in_arm ferdesk run --source /work/clip.mp4 $args --log "/work/out/$name" > /dev/null
done
cp -r "$root/work/out" "$out/aarch64"
cp "$errors" "$out/stderr-aarch64.log"
say "ferdesk doctor"
in_arm ferdesk doctor --no-cameras | tee "$out/doctor-aarch64.txt"
say "ferdesk bench (the default model; emulated times mean nothing)"
in_arm ferdesk bench --model "$(ferdesk models --json | python -c "import json,sys; print(next(m['name'] for m in json.load(sys.stdin) if m['task']=='classifier' and m['default']))")" \
  --backend onnxruntime --runs 20 --no-save > "$out/bench-aarch64.txt"
say "the window, offscreen"
# 12 s: emulated, a frame of the default detector (its small-face scan and face check) takes 4-6 s; the check is
# that frames keep coming, not how fast
in_arm python -m ferdesk.ui.bench --source demo --seconds 12 --json > "$out/window-aarch64.json"
python - "$out/window-aarch64.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
out = json.loads(text[text.index("{"):])
assert out["startup_s"] > 0 and out["fps_shown"] > 0 and out["errors"] == [], out
print(f"window on aarch64 (emulated): first frame after {out['startup_s']} s, {out['fps_shown']} frames shown per second")
EOF
say "comparing aarch64 with x86-64"
python "$here/tools/compare_sessions.py" "$out/x86_64" "$out/aarch64"
say "done"
