#!/usr/bin/python3
"""Validates JSON lines on stdin as AirbyteMessages; prints one complaint per bad line."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator({**schema, "$ref": "#/definitions/AirbyteMessage"})
for number, line in enumerate(sys.stdin, 1):
    line = line.rstrip("\n")
    try:
        message = json.loads(line)
    except ValueError as error:
        print(f"line {number}: not JSON ({error}): {line[:200]}")
        continue
    for error in validator.iter_errors(message):
        print(f"line {number}: {error.message} at {list(error.absolute_path)}: {line[:200]}")
