#!/bin/bash
# What each optional feature costs per frame: ferdesk run on the demo (600 frames, live pacing) once per feature,
# printing each stage's p50/p95 ms (record: the session log, and the video when stored; stream: the live outputs;
# compare: the second model; pose: the landmark pass). Run it on an otherwise idle machine.
run() { ferdesk run --source demo --max-frames 600 --json --log /tmp/cost-$1 "${@:2}" > /tmp/cost-$1.json 2>/dev/null; rm -rf /tmp/cost-$1/video.mp4; }
rm -rf /tmp/cost-*
run base
tiny=$(ferdesk models --json | python3 -c 'import json, sys; print(next(m["name"] for m in json.load(sys.stdin) if m.get("tier") == "tiny"))')
run compare --compare "$tiny"
run ws --stream ws:0
run lsl --stream lsl
run video --record-video clean
run overlay --record-video overlay
run pose --head-pose
for k in base compare ws lsl video overlay pose; do
  python3 - "$k" <<'PY'
import json, sys
k = sys.argv[1]
d = json.load(open(f"/tmp/cost-{k}.json"))
lat = d["latency_ms"]
keys = [s for s in ("detect", "classify", "compare", "pose", "record", "stream", "total") if s in lat]
print(k, "fps", d["fps"], "dropped", d["frames_dropped"], " ".join(f"{s} {lat[s]['p50']}/{lat[s]['p95']}" for s in keys))
PY
done
