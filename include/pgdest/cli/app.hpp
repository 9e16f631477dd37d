#pragma once
// The command line: spec, check, write. The one place where an error is handled to the end.

namespace pgdest::cli {

// Runs the connector; returns the process exit code.
int run(int argc, char** argv);

} // namespace pgdest::cli
