#!/usr/bin/env python3
"""Splits a binary COPY file (PostgreSQL's `COPY ... (FORMAT binary)`) into N valid binary COPY
files of whole rows, each about 1/N of the rows' bytes, in the original order.

Usage: split_copy.py FILE --parts N --out PREFIX
Writes PREFIX.1 ... PREFIX.N (each: the input's header, its rows, the trailer; a part may hold no
rows) and prints the number of rows in each part, one per line.

The rows are found by walking the format: after the header (signature, flags, header extension),
each row is an int16 field count, then per field an int32 length and that many bytes (-1: NULL,
no bytes); a field count of -1 is the trailer, which must end the file. Every integer is big-endian.
A file that does not follow the format is refused with an error that says where it went wrong.
"""
import argparse
import mmap
import os
import struct
import sys

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = struct.pack(">h", -1)
# Bit 16 of the flags says the rows carry OIDs, which PostgreSQL 12 and later never write.
FLAGS_WITH_OIDS = 1 << 16


class FormatError(Exception):
    pass


def header_length(data):
    """The length of the header (signature, flags, extension area), which every part repeats."""
    fixed = len(SIGNATURE) + 8
    if len(data) < fixed or data[:len(SIGNATURE)] != SIGNATURE:
        raise FormatError("not a binary COPY file: it does not start with the PGCOPY signature")
    flags, extension = struct.unpack_from(">II", data, len(SIGNATURE))
    if flags & FLAGS_WITH_OIDS:
        raise FormatError("the file carries OIDs (a format older than PostgreSQL 12), which this "
                          "splitter does not handle")
    if fixed + extension > len(data):
        raise FormatError(f"the header's extension area ({extension} bytes) runs past the end")
    return fixed + extension


def part_bounds(data, head, parts):
    """Walks every row once and returns where each part's rows start and end (byte offsets) and
    how many rows each holds. Part k ends at the row boundary nearest to k/N of the rows' bytes,
    so the parts are about equal in bytes whatever the rows' sizes (a row bigger than a part
    leaves a part empty)."""
    field_count = struct.Struct(">h").unpack_from
    field_length = struct.Struct(">i").unpack_from
    size = len(data)
    # In a valid file the trailer is its last two bytes; anything else is refused below.
    goals = [head + (size - 2 - head) * k // parts for k in range(1, parts)]
    cuts = []  # (byte offset, rows before it) where parts 2..N start
    rows = 0
    pos = head
    while True:
        if pos + 2 > size:
            raise FormatError(f"the file ends at byte {size} without the trailer (after {rows} rows)")
        (fields,) = field_count(data, pos)
        if fields == -1:
            if pos + 2 != size:
                raise FormatError(f"{size - pos - 2} bytes follow the trailer at byte {pos}")
            break
        if fields < 0:
            raise FormatError(f"row {rows + 1} at byte {pos} has a field count of {fields}")
        row_start = pos
        pos += 2
        for _ in range(fields):
            if pos + 4 > size:
                raise FormatError(f"row {rows + 1} is cut short at byte {size}")
            (length,) = field_length(data, pos)
            pos += 4
            if length > 0:
                pos += length
            elif length < -1:
                raise FormatError(f"row {rows + 1} has a field length of {length} at byte {pos - 4}")
        if pos > size:
            raise FormatError(f"row {rows + 1} is cut short at byte {size}")
        while len(cuts) < len(goals) and pos > goals[len(cuts)]:
            goal = goals[len(cuts)]
            nearest = (row_start, rows) if goal - row_start < pos - goal else (pos, rows + 1)
            cuts.append(max(nearest, cuts[-1]) if cuts else nearest)
        rows += 1
    cuts += [(pos, rows)] * (len(goals) - len(cuts))
    starts = [(head, 0)] + cuts
    ends = cuts + [(pos, rows)]
    return [(a[0], b[0]) for a, b in zip(starts, ends)], [b[1] - a[1] for a, b in zip(starts, ends)]


def split(path, parts, prefix):
    """Writes the parts and returns the number of rows in each."""
    if parts < 1:
        raise ValueError("--parts must be at least 1")
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise FormatError("the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data, memoryview(data) as view:
            head = header_length(data)
            bounds, counts = part_bounds(data, head, parts)
            for k, (begin, end) in enumerate(bounds):
                with open(f"{prefix}.{k + 1}", "wb") as out:
                    # Slices of the memoryview are written without a copy in memory.
                    out.write(view[:head])
                    out.write(view[begin:end])
                    out.write(TRAILER)
            return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--parts", type=int, required=True)
    parser.add_argument("--out", required=True, help="prefix of the parts: PREFIX.1 ... PREFIX.N")
    args = parser.parse_args()
    try:
        counts = split(args.file, args.parts, args.out)
    except (FormatError, ValueError, OSError) as error:
        sys.exit(f"split_copy.py: {args.file}: {error}")
    print("\n".join(map(str, counts)))


if __name__ == "__main__":
    main()
