"""The Rockchip converter's toolkit side (tools/rknn_worker.py): the options each toolkit generation gets, and
one job run through a fake toolkit. The real toolkits are not installed in the test environment."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = load("rknn_worker")


def test_toolkit_2_options_for_the_rk3588():
    opts = worker.config_options(2, "rk3588", True, [0.0], [255.0])
    assert opts == {"mean_values": [[0.0]], "std_values": [[255.0]], "target_platform": "rk3588", "quantized_dtype": "w8a8"}
    assert worker.load_options(2, [1, 1, 48, 48])["input_size_list"] == [[1, 1, 48, 48]]
    assert "pre_compile" not in worker.build_options(2, True, "list.txt")


def test_toolkit_1_options_for_the_rk3399pro():
    opts = worker.config_options(1, "rk3399pro", True, [127.5] * 3, [127.5] * 3)
    assert opts["target_platform"] == ["rk3399pro"] and opts["reorder_channel"] == "0 1 2"
    assert opts["quantized_dtype"] == "asymmetric_affine-u8" and opts["batch_size"] == 1
    assert worker.load_options(1, [1, 3, 128, 128])["input_size_list"] == [[3, 128, 128]]
    assert worker.build_options(1, True, "list.txt") == {"do_quantization": True, "dataset": "list.txt", "pre_compile": False}
    assert worker.build_options(1, False, "list.txt")["dataset"] is None


@pytest.mark.parametrize("major, target, needs", [(2, "rk3399pro", "RKNN-Toolkit 1.x"), (1, "rk3588", "rknn-toolkit2")])
def test_a_target_the_toolkit_cannot_make_says_which_toolkit_it_needs(major, target, needs):
    with pytest.raises(SystemExit, match=needs):
        worker.config_options(major, target, False, [0.0], [255.0])


class FakeRKNN:
    calls: list = []

    def __init__(self, verbose=False):
        self.calls.clear()

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == "export_rknn":
                Path(args[0]).write_bytes(b"rknn")
            if name == "inference":
                x = kwargs["inputs"][0]
                return [np.full((1, 7), float(x.mean()), np.float32), np.zeros((1, 896, 16), np.float32)]
            return 0
        return call


def test_a_job_on_toolkit_1_converts_exports_and_runs_each_input_in_the_simulator(tmp_path):
    inputs = np.stack([np.full((48, 48, 1), v, np.uint8) for v in (10, 20, 30)])
    np.save(tmp_path / "in.npy", inputs)
    job = {"onnx": "m.onnx", "output": str(tmp_path / "m.rknn"), "target": "rk3399pro", "int8": True,
           "input_size": [1, 1, 48, 48], "mean": [0.0], "std": [255.0], "dataset": "list.txt",
           "infer": [{"inputs": str(tmp_path / "in.npy"), "outputs": str(tmp_path / "out.npz")}]}
    worker.run_job(job, FakeRKNN, 1)
    names = [c[0] for c in FakeRKNN.calls]
    assert names == ["config", "load_onnx", "build", "export_rknn", "init_runtime"] + ["inference"] * 3 + ["release"]
    config, load_onnx, build = (c[2] for c in FakeRKNN.calls[:3])
    assert config["target_platform"] == ["rk3399pro"] and load_onnx["input_size_list"] == [[1, 48, 48]]
    assert build["pre_compile"] is False
    assert all(c[2]["inputs"][0].shape == (1, 48, 48, 1) and c[2]["data_format"] == "nhwc" for c in FakeRKNN.calls if c[0] == "inference")
    with np.load(tmp_path / "out.npz") as z:
        assert z["out0"].shape == (3, 7) and np.allclose(z["out0"][:, 0], [10, 20, 30])
        assert z["out1"].shape == (3, 896, 16)


def test_without_a_toolkit_the_worker_says_so_in_one_line():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "rknn_worker.py"), "--probe"], capture_output=True, text=True)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("no RKNN toolkit in this Python")
    assert "Traceback" not in done.stderr


def test_board_budgets_are_estimated_for_every_board(tmp_path):
    pytest.importorskip("torch")      # the training extra builds MobileNetV2, the boards' common reference
    out = tmp_path / "budgets.json"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "board_budget.py"), "--runs", "3", "--json", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert 290e6 < doc["here"]["mobilenet_v2_macs"] < 310e6          # MobileNetV2 1.0 at 224: 300 MMAC
    boards = {b["board"].split(" (")[0]: b for b in doc["boards"]}
    assert {"Raspberry Pi 4", "Raspberry Pi 5", "RK3588", "RK3566", "RK3399Pro", "Jetson Orin Nano"} <= set(boards)
    pi4, pi5 = boards["Raspberry Pi 4"], boards["Raspberry Pi 5"]
    assert pi4["cpu_int8"]["balanced_ms"] > pi5["cpu_int8"]["balanced_ms"] > 0     # the A72 is the slower core
    assert pi5["cpu_fps_1_faces"] > pi5["cpu_fps_4_faces"] > 0
    assert boards["RK3588"]["npu_int8_lower_bound"]["balanced_ms"] < boards["RK3566"]["npu_int8_lower_bound"]["balanced_ms"]
