#!/usr/bin/env python3
"""Prints the CPU seconds (user+system) used so far by a PostgreSQL server: the postmaster, its
living children, and the children it has already reaped (cutime/cstime). Argument: the data
directory (its postmaster.pid names the postmaster). Subtract two readings to get a run's share."""
import os, sys

tick = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def main():
    with open(os.path.join(sys.argv[1], "postmaster.pid")) as f:
        pm = int(f.readline())
    fields = stat(pm)
    total = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pm:
            continue
        try:
            s = stat(int(entry))
        except (OSError, ValueError):
            continue
        if int(s[1]) == pm:  # ppid
            total += int(s[11]) + int(s[12])
    print(f"{total / tick:.2f}")


if __name__ == "__main__":
    main()
