"""Build one .rknn file and run inputs through the converter's simulator: the part of tools/rknn_convert.py
that runs inside the Rockchip toolkit's own Python.

usage: PYTHON tools/rknn_worker.py --probe
       PYTHON tools/rknn_worker.py JOB.json

Needs only numpy and the toolkit, and keeps to Python 3.6 syntax, because RKNN-Toolkit 1.x (the RK3399Pro's
converter) runs on Python 3.6 or 3.8, while rknn-toolkit2 (RK3588, RK3566, RK3576) runs on 3.8 to 3.12.

JOB.json: {"onnx": path, "output": path, "target": "rk3588", "int8": bool, "input_size": [1, C, H, W],
           "mean": [..C], "std": [..C], "dataset": path of a list of calibration files or null,
           "infer": [{"inputs": path of an (N, H, W, C) uint8 .npy, "outputs": path of the .npz to write}]}
Prints one JSON line: the toolkit, its version and the file's size. Each "outputs" .npz holds out0, out1, ...
(one row per input, batch first).
"""
import json
import sys

import numpy as np

#: targets each toolkit generation converts for
TARGETS = {2: ("rk3588", "rk3576", "rk3566", "rk3568", "rk3562"), 1: ("rk3399pro", "rk1808", "rv1109", "rv1126")}


def toolkit():
    """(major, distribution, version) of the installed RKNN toolkit."""
    try:
        from importlib import metadata

        def version(name):
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                return None
    except ImportError:                      # Python 3.6/3.7, where RKNN-Toolkit 1.x lives
        import pkg_resources

        def version(name):
            try:
                return pkg_resources.get_distribution(name).version
            except pkg_resources.DistributionNotFound:
                return None
    for name, major in (("rknn-toolkit2", 2), ("rknn-toolkit", 1)):
        v = version(name)
        if v:
            return major, name, v
    raise SystemExit("no RKNN toolkit in this Python: install rknn-toolkit2 (RK3588/RK3566/RK3576) "
                     "or RKNN-Toolkit 1.x (RK3399Pro)")


def config_options(major, target, int8, mean, std):
    """rknn.config() arguments. Toolkit 2: w8a8 quantisation. Toolkit 1.x: the target as a list, an explicit
    channel order and its asymmetric uint8 quantisation (the only one its RK3399Pro NPU runs fast)."""
    if target not in TARGETS[major]:
        other = 1 if major == 2 else 2
        raise SystemExit("target {} needs {}; this Python has {} (see docs/boards.md)".format(
            target, "RKNN-Toolkit 1.x" if other == 1 else "rknn-toolkit2", "rknn-toolkit2" if major == 2 else "RKNN-Toolkit 1.x"))
    opts = {"mean_values": [list(mean)], "std_values": [list(std)]}
    if major == 2:
        opts.update(target_platform=target, quantized_dtype="w8a8")
    else:
        opts.update(target_platform=[target], reorder_channel=" ".join(str(i) for i in range(len(mean))),
                    quantized_dtype="asymmetric_affine-u8", batch_size=1)
    return opts


def load_options(major, input_size):
    """load_onnx() arguments: toolkit 2 takes the full NCHW shape, toolkit 1.x the shape less the batch."""
    return {"inputs": ["input"], "input_size_list": [list(input_size) if major == 2 else list(input_size[1:])]}


def build_options(major, int8, dataset):
    opts = {"do_quantization": bool(int8), "dataset": dataset if int8 else None}
    if major == 1:
        opts["pre_compile"] = False          # a pre-compiled file would not run in the simulator
    return opts


def run_job(job, rknn_cls, major):
    r = rknn_cls(verbose=False)
    opts = config_options(major, job["target"], job["int8"], job["mean"], job["std"])
    if job.get("algorithm"):
        opts["quantized_algorithm"] = job["algorithm"]     # normal (min/max), mmse or kl_divergence
    r.config(**opts)
    if r.load_onnx(model=job["onnx"], **load_options(major, job["input_size"])) != 0:
        raise SystemExit("the toolkit cannot load {}".format(job["onnx"]))
    if r.build(**build_options(major, job["int8"], job.get("dataset"))) != 0:
        raise SystemExit("the toolkit cannot build {} for {}".format(job["onnx"], job["target"]))
    if r.export_rknn(job["output"]) != 0:
        raise SystemExit("cannot write {}".format(job["output"]))
    if job.get("infer"):
        if r.init_runtime() != 0:
            raise SystemExit("the toolkit's simulator does not start")
        for item in job["infer"]:
            inputs = np.load(item["inputs"])
            rows = []
            for x in inputs:
                outs = [np.asarray(o, np.float32) for o in r.inference(inputs=[x[None]], data_format="nhwc")]
                rows.append([o.reshape((1,) + o.shape[1:]) if o.ndim > 1 else o[None] for o in outs])
            np.savez(item["outputs"], **{"out{}".format(k): np.concatenate([row[k] for row in rows])
                                        for k in range(len(rows[0]))})
    r.release()


def main(argv):
    major, name, version = toolkit()
    if argv[:1] == ["--probe"]:
        print(json.dumps({"major": major, "toolkit": name, "version": version, "targets": list(TARGETS[major])}))
        return 0
    with open(argv[0]) as f:
        job = json.load(f)
    from rknn.api import RKNN

    run_job(job, RKNN, major)
    import os

    print(json.dumps({"major": major, "toolkit": name, "version": version, "bytes": os.path.getsize(job["output"])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
