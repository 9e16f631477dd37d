#!/usr/bin/env python3
"""Measures, while a run goes on, the CPU that the server spends on the run's own connections.

Usage: cpu_sampler.py DATADIR --client NAME[,NAME...] --out FILE [--interval SECONDS]

Creates FILE.ready once it has taken its first reading, runs until SIGTERM or SIGINT, then
writes one line to FILE:
  CLIENT_BACKENDS_CPU_S <tab> MOST_CLIENT_BACKENDS_AT_ONCE <tab> OWN_CPU_S
- the CPU seconds (user + system) used during the run by the server processes that serve a
  connection of a client process (a process whose name, as in /proc/PID/comm, is one of NAME:
  e.g. destination-pos, psql), parallel workers included under their leader;
- the most of those backends alive at one time (how many connections the client loaded through);
- this sampler's own CPU seconds, which the caller may subtract from the machine's.

Every --interval (default 0.1 s) it reads the postmaster's children from /proc. A backend is
the client's when its client address (127.0.0.1(PORT) in its process title) is a TCP socket that
the client process holds. A backend that ends between two readings is reaped by the postmaster,
whose reaped-children time then grows by the backend's last CPU; what the last reading did not
see of it is given to the backends that ended in that interval, in proportion to how fast each
was using CPU. Backends that live shorter than one interval are not seen: their CPU stays in the
rest of the server. On a stop it waits up to 2 s for the client's backends to end.
"""
import argparse
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_cpu import reaped, stat, tick  # noqa: E402

CLIENT_PORT = re.compile(r"^postgres: .*\((\d+)\)")
PARALLEL_WORKER = re.compile(r"^postgres: parallel worker for PID (\d+)")


def cpu(fields):
    return int(fields[11]) + int(fields[12])  # utime stime


def title(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def client_ports(names):
    """The local ports of the TCP sockets held by the processes with one of these names."""
    inodes = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() not in names:
                    continue
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[9]) in inodes:
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


class Backend:
    def __init__(self, pid, baseline):
        self.pid = pid
        self.client = None  # True: serves a client connection; decided once, when first seen
        self.baseline = baseline  # CPU ticks before the run (a backend alive at the start)
        self.ticks = baseline
        self.rate = 0  # ticks in the last interval


class Sampler:
    def __init__(self, postmaster, names):
        self.postmaster = postmaster
        self.names = names
        self.backends = {}
        self.others = set()  # pids that are not the postmaster's children
        self.client_ticks = 0
        self.most = 0
        self.reaped = None

    def read(self):
        """The postmaster's living children's CPU and its reaped-children time, read so that a
        child reaped meanwhile is counted exactly once (see server_cpu.py)."""
        for _ in range(100):
            before = reaped(stat(self.postmaster))
            children = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) in self.others:
                    continue
                pid = int(entry)
                try:
                    fields = stat(pid)
                except (OSError, ValueError):
                    continue
                if int(fields[1]) == self.postmaster:
                    children[pid] = cpu(fields)
                elif pid not in self.backends:
                    self.others.add(pid)
            after = reaped(stat(self.postmaster))
            if after == before:
                break
        return children, after

    def classify(self, undecided):
        """Decides which of these backends serve the client. A child that has not yet set its
        process title (it still shows the postmaster's command line) is left for the next
        reading."""
        ports = client_ports(self.names)
        workers = {}
        for backend in undecided:
            try:
                text = title(backend.pid)
            except OSError:
                continue
            if not text.startswith("postgres: "):
                continue
            port = CLIENT_PORT.match(text)
            worker = PARALLEL_WORKER.match(text)
            if worker:
                workers[backend] = int(worker.group(1))
            else:
                backend.client = bool(port) and int(port.group(1)) in ports
        for backend, leader in workers.items():
            backend.client = leader in self.backends and bool(self.backends[leader].client)

    def sample(self, first=False):
        children, reaped_now = self.read()
        for pid, ticks in children.items():
            backend = self.backends.get(pid)
            if backend is None:
                backend = self.backends[pid] = Backend(pid, ticks if first else 0)
            backend.rate = ticks - backend.ticks
            backend.ticks = ticks
        undecided = [b for b in self.backends.values() if b.client is None]
        if undecided:
            self.classify(undecided)
        gone = [b for pid, b in self.backends.items() if pid not in children]
        if self.reaped is not None and gone:
            unseen = reaped_now - self.reaped - sum(b.ticks for b in gone)
            weights = [max(b.rate, 0) for b in gone]
            if sum(weights) == 0:
                weights = [1] * len(gone)
            for backend, weight in zip(gone, weights):
                share = max(unseen, 0) * weight / sum(weights)
                if backend.client:
                    self.client_ticks += backend.ticks - backend.baseline + share
                del self.backends[backend.pid]
        self.reaped = reaped_now
        self.most = max(self.most, sum(1 for b in self.backends.values() if b.client))

    def client_backends_alive(self):
        return any(b.client for b in self.backends.values())

    def client_cpu(self):
        living = sum(b.ticks - b.baseline for b in self.backends.values() if b.client)
        return (self.client_ticks + living) / tick


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datadir")
    parser.add_argument("--client", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()

    def ready():
        """Tells the caller, who waits for FILE.ready, that the run may start."""
        open(args.out + ".ready", "w").close()

    stop = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.append(True))
    try:
        with open(os.path.join(args.datadir, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        sampler = Sampler(postmaster, set(args.client.split(",")))
        sampler.sample(first=True)
        ready()
        while not stop:
            time.sleep(args.interval)
            sampler.sample()
        deadline = time.monotonic() + 2
        while sampler.client_backends_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
            sampler.sample()
        result = f"{sampler.client_cpu():.2f}\t{sampler.most}"
    except (OSError, ValueError) as error:
        print(f"cpu_sampler.py: {error}", file=sys.stderr)
        result = "nan\tnan"
        ready()
    own = os.times()
    with open(args.out, "w") as out:
        out.write(f"{result}\t{own.user + own.system:.2f}\n")


if __name__ == "__main__":
    main()
