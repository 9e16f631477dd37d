#!/usr/bin/env python3
"""Prints the CPU seconds (user+system) used so far by a PostgreSQL server: the postmaster, its
living children, and the children it has already reaped (its cutime/cstime). Argument: the data
directory (its postmaster.pid names the postmaster). Subtract two readings to get a run's share.

A backend reaped while the children are being read would be counted twice or not at all, so the
reading is repeated until the postmaster's reaped-children time did not change meanwhile."""
import os, sys

tick = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def reaped(fields):
    return int(fields[13]) + int(fields[14])  # cutime cstime


def main():
    with open(os.path.join(sys.argv[1], "postmaster.pid")) as f:
        pm = int(f.readline())
    for _ in range(100):
        before = stat(pm)
        children = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == pm:
                continue
            try:
                s = stat(int(entry))
            except (OSError, ValueError):
                continue
            if int(s[1]) == pm:  # ppid
                children += int(s[11]) + int(s[12])
        after = stat(pm)
        if reaped(after) == reaped(before):
            break
    total = int(after[11]) + int(after[12]) + reaped(after) + children
    print(f"{total / tick:.2f}")


if __name__ == "__main__":
    main()
