"""Suricata as an oracle: its eve.json flow records of a pcap (flows only: no rules)."""
import json
import os

from conftest import run

SURICATA_YAML = """%YAML 1.1
---
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      community-id: true
      community-id-seed: 0
      types:
        - flow
logging:
  default-log-level: warning
  outputs:
    - console:
        enabled: yes
"""


def eve_flows(pcap, logdir, seed=0):
    """Suricata's flow records of pcap (eve.json's dicts), its Community IDs with seed."""
    os.makedirs(logdir, exist_ok=True)
    conf = os.path.join(logdir, "suricata.yaml")
    with open(conf, "w") as f:
        f.write(SURICATA_YAML)
    # no rules (-S /dev/null): only flow records; -k none: loopback checksums are not filled in
    r = run(["suricata", "-r", pcap, "-k", "none", "-c", conf, "-S", "/dev/null", "-l", logdir,
             "--set", "outputs.0.eve-log.community-id-seed=%d" % seed], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(logdir, "eve.json")) as f:
        return [e for e in map(json.loads, f) if e.get("event_type") == "flow"]
