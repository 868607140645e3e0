#!/usr/bin/env bash
# Convert the bundled tiers and BlazeFace to Rockchip NPU files and check them in the simulator
# (tools/rknn_convert.py, run with ferdesk's Python: PYTHON, default python3 on PATH).
# The toolkit runs in a Python of its own (tools/rknn_worker.py): rknn-toolkit2 2.5.0 pins numpy <= 1.26.4,
# onnx <= 1.18 and protobuf <= 4.25.4 and imports torch at load, so it gets build/rknn-venv, made here once
# (installed --no-deps against the CPU build of torch, which the ONNX path needs only to import).
# For the RK3399Pro, give --python with an environment that has RKNN-Toolkit 1.x instead (docs/boards.md).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/rknn-venv
if [[ " $* " != *" --python "* ]] && { [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "from rknn.api import RKNN" 2> /dev/null; }; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q 'numpy<=1.26.4' 'protobuf>=4.21.6,<=4.25.4' psutil 'ruamel.yaml>=0.17.21' scipy \
    tqdm 'opencv-python-headless<5' fast-histogram 'onnx>=1.16.1,<=1.18.0' 'onnxruntime>=1.17' 'torch==2.13.0' \
    'setuptools<81'
  "$venv/bin/python" -m pip install -q --no-deps 'rknn-toolkit2==2.5.0'
fi
exec "${PYTHON:-python3}" tools/rknn_convert.py "$@"
