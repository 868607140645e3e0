"""Export a window head (ferdesk.training.train_temporal.WindowHead) to ONNX with the recurrence as a Scan.

Tracing the head unrolls its W recurrence steps: the file then repeats the step's graph W times and
the graph, not the weights, makes most of its size (16 steps: 983 nodes, 95 KB around 8.7 KB of
TT cores). Here the three parts are traced on their own and joined:

    features (N, W, F) --project--> gate inputs (N, W, 4H), present (N, W, 1)
                       --Scan over W with body = one step--> h, c (N, H)
                       --readout--> logits (N, C)

so the step is stored once and the file is about the size of the cores. The graph's input and
output names (``features``, ``logits``) are those of the unrolled export: readers need no change.
A head with ``mean_prior`` has a second input, ``probs`` (N, W, C), the same frames' class
probabilities; the log of their mean over the window, each frame weighted by its features' likeness
to the current frame's (``WindowHead.prior``), is added to the readout.
"""
from __future__ import annotations

import io
from pathlib import Path

import onnx
import torch
from onnx import TensorProto, compose, helper
from torch import nn

from ferdesk.training.compress import compact_names

OPSET = 17


class _Part(nn.Module):
    """One method of the head (project, step or readout) as a module to trace on its own."""

    def __init__(self, head, method: str):
        super().__init__()
        self.head, self.method = head, method

    def forward(self, *args):
        return getattr(self.head, self.method)(*args)


def _trace(module: nn.Module, args: tuple, inputs: list[str], outputs: list[str], dynamic: dict) -> onnx.ModelProto:
    buf = io.BytesIO()
    torch.onnx.export(module.eval(), args, buf, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=OPSET, dynamo=False)
    return onnx.load_from_string(buf.getvalue())


def scan_model(head, window: int, n_feat: int) -> onnx.ModelProto:
    head = head.eval()
    hidden = head.cell.hidden
    n = 2
    with torch.no_grad():
        gx, present = head.project(torch.rand(n, window, n_feat))
    project = compose.add_prefix(_trace(_Part(head, "project"), (torch.rand(n, window, n_feat),), ["features"], ["gx", "present"],
                                        {"features": {0: "tracks"}, "gx": {0: "tracks"}, "present": {0: "tracks"}}),
                                 "p_", rename_inputs=False)
    h0 = torch.zeros(n, hidden)
    step = compose.add_prefix(_trace(_Part(head, "step"), (h0, h0, gx[:, 0], present[:, 0]), ["h", "c", "gx_t", "keep"],
                                     ["h_next", "c_next"], {k: {0: "tracks"} for k in ("h", "c", "gx_t", "keep", "h_next", "c_next")}),
                              "s_")
    extra_nodes, extra_inputs, extra_init = [], [], []
    if getattr(head, "mean_prior", False):
        # the log of the window's weighted mean frame probabilities, added to the readout (WindowHead.prior)
        n_classes = head.fc.out_features
        x, p = torch.rand(n, window, n_feat), torch.rand(n, window, n_classes)
        prior = compose.add_prefix(_trace(_Part(head, "prior"), (x, p), ["features", "probs"], ["r_prior"],
                                          {"features": {0: "tracks"}, "probs": {0: "tracks"}, "r_prior": {0: "tracks"}}),
                                   "q_", rename_inputs=False, rename_outputs=False)
        extra_nodes, extra_init = list(prior.graph.node), list(prior.graph.initializer)
        extra_inputs = [i for i in prior.graph.input if i.name == "probs"]
        readout = compose.add_prefix(_trace(_Part(head, "readout"), (h0, torch.zeros(n, n_classes)), ["h", "prior"], ["logits"],
                                            {"h": {0: "tracks"}, "prior": {0: "tracks"}, "logits": {0: "tracks"}}),
                                     "r_", rename_outputs=False)
    else:
        readout = compose.add_prefix(_trace(_Part(head, "readout"), (h0,), ["h"], ["logits"], {"h": {0: "tracks"}, "logits": {0: "tracks"}}),
                                     "r_", rename_outputs=False)

    # zero initial states shaped (tracks, hidden)
    init = [
        helper.make_node("Shape", ["p_gx"], ["z_shape"], start=0, end=1),
        helper.make_node("Concat", ["z_shape", "z_hidden"], ["z_state_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["z_state_shape"], ["z_state"],
                         value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
    ]
    scan = helper.make_node("Scan", ["z_state", "z_state", "p_gx", "p_present"], ["r_h", "z_c_last"],
                            num_scan_inputs=2, scan_input_axes=[1, 1], body=step.graph)
    graph = helper.make_graph(
        list(project.graph.node) + extra_nodes + init + [scan] + list(readout.graph.node),
        "tt_lstm_window_head",
        inputs=list(project.graph.input) + extra_inputs,
        outputs=list(readout.graph.output),
        initializer=list(project.graph.initializer) + extra_init + list(readout.graph.initializer)
        + [helper.make_tensor("z_hidden", TensorProto.INT64, [1], [hidden])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ferdesk")
    model.ir_version = project.ir_version
    onnx.checker.check_model(model)
    return model


def export_scan_onnx(head, window: int, n_feat: int, path: Path) -> None:
    onnx.save(compact_names(scan_model(head, window, n_feat)), str(path))


def state_from_unrolled(path: Path) -> dict[str, torch.Tensor]:
    """A head's parameters from an unrolled export, whose initialisers keep the PyTorch names."""
    from onnx import numpy_helper

    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(str(path)).graph.initializer}


def main(argv=None) -> None:
    """Re-export a catalog temporal model made by the older unrolled export as a Scan graph, check
    that both give the same logits, and update the catalog entry's file size and digest.

    usage: python -m ferdesk.training.temporal_export --name tt-lstm-fernet-s
    """
    import argparse

    import numpy as np
    import onnxruntime as ort

    from ferdesk.catalog import file_digest
    from ferdesk.training.catalogs import CatalogStore
    from ferdesk.training.train_temporal import WindowHead, make_cell

    ap = argparse.ArgumentParser(description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="tt-lstm-fernet-s")
    a = ap.parse_args(argv)
    store = CatalogStore()
    doc = store.document()
    entry = next(m for m in doc["models"] if m["name"] == a.name)
    path = store.folder(a.name) / entry["file"]
    state = state_from_unrolled(path)
    if "cell.x2h.cores.0" not in state:
        raise SystemExit(f"{path} holds no named TT cores (already a Scan export?)")
    n_feat = int(entry["reads"]["size"])
    head = WindowHead(make_cell("tt", n_feat), state["feat_mean"], state["feat_std"])
    head.load_state_dict(state)
    x = np.random.default_rng(0).random((5, entry["window"], n_feat), dtype=np.float32)
    x[:2, :7] = 0                                                  # young tracks: padding rows
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"features": x})[0]
    old_size = path.stat().st_size
    tmp = path.with_suffix(".scan.onnx")
    export_scan_onnx(head, entry["window"], n_feat, tmp)
    after = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"features": x})[0]
    if not np.allclose(before, after, atol=1e-5):
        tmp.unlink()
        raise SystemExit(f"the Scan export differs from {path} by {np.abs(before - after).max():.2e}")
    tmp.replace(path)
    size = path.stat().st_size
    for f in entry["files"]:
        if f["path"] == entry["file"]:
            f["size_bytes"], f["sha256"] = size, file_digest(path)
    entry["size_bytes"] = size
    store.save(doc)
    print(f"{path}: {old_size:,} -> {size:,} bytes, logits equal within {np.abs(before - after).max():.1e}")


if __name__ == "__main__":
    main()
