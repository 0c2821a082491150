"""Two "nodes" of one process each on localhost, as a cluster launches them (issue 20)."""

import os
import socket
import subprocess
import sys
import time

import pytest
from test_pretrain import assert_follows_one_process

from findna.cli import main
from findna.model.loading import read_checkpoint
from micro_pretrain import micro_config

# What a launcher sets per process; cleared so that an outer launcher cannot leak into the nodes.
_LAUNCH_KEYS = ("RANK", "LOCAL_RANK", "GROUP_RANK", "NODE_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_follow_one_process_with_twice_the_batch(tmp_path):
    """Lightning's environment variables (MASTER_ADDR, MASTER_PORT, NODE_RANK, WORLD_SIZE) and
    ``run.num_nodes=2``: both nodes share the run folder, as on a cluster with a shared file
    system, and the run equals one process with the same global batch."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = micro_config(
        tmp_path / "one", optim={"batch_size": 16, "max_steps": 6}, data={"view_chunk": 8}
    )
    two = micro_config(
        tmp_path / "two",
        optim={"batch_size": 8, "max_steps": 6},
        data={"view_chunk": 8},
        run={"num_nodes": 2, "devices": 1, "strategy": "ddp"},
    )
    assert main(["pretrain", "--config", str(one)]) == 0

    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_KEYS}
    # One thread per process: two 2-thread processes on 2 cores stall each other at barriers.
    env |= {"PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    env |= {"MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    cmd = [sys.executable, "-m", "findna.cli", "pretrain", "--config", str(two)]
    logs = [tmp_path / f"node{rank}.log" for rank in (0, 1)]
    nodes = []
    for rank, log in enumerate(logs):
        with open(log, "w") as f:
            node_env = {**env, "NODE_RANK": str(rank)}
            nodes.append(subprocess.Popen(cmd, env=node_env, stdout=f, stderr=subprocess.STDOUT))
    # A node that fails leaves the other waiting for it in the rendezvous: stop at the first.
    deadline = time.monotonic() + 180
    try:
        while any(n.poll() is None for n in nodes) and time.monotonic() < deadline:
            if any(n.returncode for n in nodes):
                break
            time.sleep(0.2)
    finally:
        for node in nodes:
            node.kill()
            node.wait()
    for rank, node in enumerate(nodes):
        assert node.returncode == 0, f"node {rank}:\n{logs[rank].read_text()[-3000:]}"

    ca = read_checkpoint(tmp_path / "one" / "run" / "checkpoints" / "final.ckpt")
    cb = read_checkpoint(tmp_path / "two" / "run" / "checkpoints" / "final.ckpt")
    assert cb["findna"]["world_size"] == 2 and cb["global_step"] == ca["global_step"] == 6
    assert_follows_one_process(cb, ca)  # as the 2-process DDP test checks it
    assert (tmp_path / "two" / "run" / "summary.json").is_file()
