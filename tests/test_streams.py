"""Live output (ferdesk.streams): a real LSL inlet and a real WebSocket client receive what the runner sends."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from ferdesk.runner import Processed, Runner
from ferdesk.streams import SCHEMA_VERSION, StreamSet

pylsl = pytest.importorskip("pylsl", reason="the stream extra (pip install '.[stream]') is not installed")
pytest.importorskip("websockets", reason="the stream extra (pip install '.[stream]') is not installed")


def test_lsl_outlets_carry_every_face_and_the_markers(clip):
    runner = Runner(str(clip), streams=["lsl"], strict=True)
    inlets = {}

    def resolve():   # the outlets appear once the runner has opened them
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(inlets) < 2:
            for info in pylsl.resolve_byprop("type", "Expressions", timeout=0.5) + pylsl.resolve_byprop("type", "Markers", timeout=0.5):
                if info.source_id().endswith(str(__import__("os").getpid())) and info.type() not in inlets:
                    inlets[info.type()] = pylsl.StreamInlet(info, max_buflen=60)
                    inlets[info.type()].open_stream(timeout=5)

    finder = threading.Thread(target=resolve)
    finder.start()
    # hold the first frames until both inlets listen, so that nothing is sent before anyone hears it
    events = runner.events()
    for event in events:
        if isinstance(event, Processed):
            break
    finder.join()
    assert set(inlets) == {"Expressions", "Markers"}
    info = inlets["Expressions"].info(timeout=10)       # while the outlets are open
    processed = [event]
    samples, stamps, markers = [], [], []
    for event in events:
        if isinstance(event, Processed):
            processed.append(event)
            if len(processed) == 6:
                runner.request_marker("stimulus", "onset")
            if len(processed) >= 12:
                time.sleep(1.0)                          # read everything before the outlets close
                chunk, times = inlets["Expressions"].pull_chunk(timeout=2.0, max_samples=1000)
                samples += chunk
                stamps += times
                markers += inlets["Markers"].pull_chunk(timeout=2.0)[0]
                runner.stop()
    labels = processed[0].labels
    assert info.channel_count() == 7 + len(labels)
    names = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        names.append(ch.child_value("label"))
        ch = ch.next_sibling()
    assert names == ["face_id", "x", "y", "w", "h", "label_index", "confidence"] + [f"p_{l}" for l in labels]
    sent = [f for e in processed[1:] for f in e.result.faces]     # the first frame went out before the inlet listened
    assert len(samples) == len(sent) > 0                          # in the order they were sent
    for s, f in zip(samples, sent):
        assert int(s[0]) == f.face_id
        assert labels[int(s[5])] == f.label and s[6] == pytest.approx(f.confidence, abs=1e-4)
        assert np.allclose(s[7:], f.probs, atol=1e-4) and np.allclose(s[1:5], f.box, atol=0.05)
    assert all(abs(t - pylsl.local_clock()) < 60 for t in stamps)
    assert markers == [["stimulus: onset"]]


def test_websocket_clients_get_one_message_per_frame_and_the_markers(clip):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    runner = Runner(str(clip), streams=["ws:0"], strict=True)   # port 0: a free one
    events = runner.events()
    received: list[dict] = []
    first = None
    for event in events:                     # the server is open once the first frame is out
        if isinstance(event, Processed):
            first = event
            break
    port = runner.streams.open_streams["ws:0"].port
    with connect(f"ws://127.0.0.1:{port}") as client:
        hello = json.loads(client.recv(timeout=5))
        assert hello["type"] == "hello" and hello["schema_version"] == SCHEMA_VERSION
        assert hello["labels"] == list(first.labels)
        processed = []
        for event in events:
            if isinstance(event, Processed):
                processed.append(event)
                if len(processed) == 3:
                    runner.request_marker("stimulus", "onset")
                if len(processed) >= 8:
                    runner.stop()
        while True:           # what was sent before the server closed
            try:
                received.append(json.loads(client.recv(timeout=2)))
            except (TimeoutError, ConnectionClosed):
                break
    frames = [m for m in received if m["type"] == "frame"]
    markers = [m for m in received if m["type"] == "marker"]
    assert [m["frame"] for m in frames] == [e.result.frame_index for e in processed]
    for m, e in zip(frames, processed):
        assert m["schema_version"] == SCHEMA_VERSION and m["model"] == e.model and m["labels"] == list(e.labels)
        assert len(m["faces"]) == len(e.result.faces)
        for face, f in zip(m["faces"], e.result.faces):
            assert face["face_id"] == f.face_id and face["label"] == f.label
            assert face["label_index"] == list(e.labels).index(f.label)
            assert np.allclose(face["probs"], f.probs, atol=1e-4) and np.allclose(face["box"], f.box, atol=0.06)
    assert len(markers) == 1 and markers[0]["label"] == "stimulus" and markers[0]["text"] == "onset"


def test_a_port_in_use_is_refused_in_one_line(clip):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        streams = StreamSet()
        with pytest.raises(Exception) as e:
            streams.open(f"ws:{port}", {"labels": ("a",), "model": "m"})
        assert f"127.0.0.1:{port}" in str(e.value) and "\n" not in str(e.value)
        with pytest.raises(Exception, match="port number"):
            streams.open("ws:http", {"labels": ("a",), "model": "m"})
    finally:
        busy.close()


def test_the_cli_refuses_an_unknown_stream(clip):
    from conftest import run_cli

    r = run_cli("run", "--source", str(clip), "--no-log", "--stream", "osc")
    assert r.returncode == 2 and "unknown stream 'osc'" in r.stderr.strip().splitlines()[-1]
