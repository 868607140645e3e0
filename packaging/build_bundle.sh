#!/usr/bin/env bash
# Build the one-folder standalone program for Linux x86_64 with PyInstaller:
#   packaging/build_bundle.sh [--tar]
# Output: build/bundle/ferdesk/ (run build/bundle/ferdesk/ferdesk); with --tar also
# build/ferdesk-VERSION-linux-x86_64.tar.gz. Needs ferdesk installed in the running Python with the
# LiteRT extra and PyInstaller: pip install '.[tflite,bundle]'.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import ferdesk, PyInstaller" 2>/dev/null || {
  echo "build_bundle.sh: install ferdesk and PyInstaller first: pip install '.[tflite,bundle]'" >&2; exit 2; }
start=$(date +%s)
python -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath build/bundle --workpath build/pyinstaller packaging/pyinstaller/ferdesk.spec
echo "built build/bundle/ferdesk in $(( $(date +%s) - start )) s: $(du -sh build/bundle/ferdesk | cut -f1) on disk"
if [ "${1:-}" = "--tar" ]; then
  version=$(python -c "import ferdesk; print(ferdesk.__version__)")
  tar -C build/bundle -czf "build/ferdesk-$version-linux-x86_64.tar.gz" ferdesk
  echo "packed build/ferdesk-$version-linux-x86_64.tar.gz: $(du -h "build/ferdesk-$version-linux-x86_64.tar.gz" | cut -f1)"
fi
