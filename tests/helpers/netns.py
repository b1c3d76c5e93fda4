"""Test hosts: two network namespaces made here, joined by a veth pair."""
import contextlib
import json
import os

from conftest import run


def veth_dev(tag):
    """The name of namespace a's end of veth_pair(tag=TAG)."""
    return "%s%dx" % (tag, os.getpid())


@contextlib.contextmanager
def veth_pair(net="10.214.9", tag="ttns", net6=None, pinned=False):
    """Namespaces (a, b), NET.1/24 in a and NET.2/24 in b (and NET6::1/64, NET6::2/64 if
    given), loopback up in both; deleted after. a's end of the pair is veth_dev(tag), b's ends
    in "y". pinned: each end's link address is a permanent entry in the other's neighbour
    table, for a lossy link (a qdisc drops ARP too, and a connect whose three ARP probes are all
    lost fails with "No route to host": make vmtest 6.12 under netem 30%, once). The tests that
    use it run as root, where a namespace can always be made: a command that fails is the
    test's error, with ip's own words, never a skip."""
    dev = veth_dev(tag)
    tag = dev[:-1]
    a, b = tag + "a", tag + "b"
    cmds = [
        ["ip", "netns", "add", a], ["ip", "netns", "add", b],
        ["ip", "link", "add", tag + "x", "netns", a, "type", "veth", "peer", "name", tag + "y",
         "netns", b],
        ["ip", "-n", a, "addr", "add", net + ".1/24", "dev", tag + "x"],
        ["ip", "-n", b, "addr", "add", net + ".2/24", "dev", tag + "y"],
        ["ip", "-n", a, "link", "set", tag + "x", "up"], ["ip", "-n", b, "link", "set", tag + "y", "up"],
        ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"],
    ]
    if net6:  # no duplicate address detection: usable at once
        cmds[5:5] = [["ip", "-n", a, "addr", "add", net6 + "::1/64", "dev", tag + "x", "nodad"],
                     ["ip", "-n", b, "addr", "add", net6 + "::2/64", "dev", tag + "y", "nodad"]]
    for ns in (a, b):  # left by a run that was killed before its cleanup
        run(["ip", "netns", "del", ns])
    try:
        for c in cmds:
            r = run(c)
            if r.returncode != 0:
                raise RuntimeError("%s: exit %d: %s" % (" ".join(c), r.returncode, r.stderr.strip()))
        if pinned:
            pin_neighbours([(a, tag + "x", net + ".1"), (b, tag + "y", net + ".2")])
        yield (a, b)
    finally:
        run(["ip", "netns", "del", a])
        run(["ip", "netns", "del", b])


def pin_neighbours(ends):
    """ends: the two (namespace, device, address) of a veth pair; each learns the other's."""
    macs = []
    for ns, dev, _ in ends:
        r = run(["ip", "-n", ns, "-j", "link", "show", "dev", dev])
        assert r.returncode == 0, r.stderr
        macs.append(json.loads(r.stdout)[0]["address"])
    for (ns, dev, _), (_, _, peer), mac in zip(ends, ends[::-1], macs[::-1]):
        r = run(["ip", "-n", ns, "neigh", "replace", peer, "lladdr", mac, "dev", dev, "nud",
                 "permanent"])
        assert r.returncode == 0, r.stderr


def nstat(ns):
    """The namespace's kernel counters, name -> value (nstat -asz: absolute values, zeros too,
    nstat's own history left alone), the oracle of the TCP health tests."""
    r = run(["ip", "netns", "exec", ns, "nstat", "-asz", "--json"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    return d.get("kernel", d)
