#pragma once
// Routes spdlog through the protocol: every log line becomes a LOG message on stdout.
#include "pgdest/protocol/message_writer.hpp"

namespace pgdest::protocol {

// Makes the default spdlog logger write LOG messages through `writer`.
void install_protocol_logger(MessageWriter& writer);

} // namespace pgdest::protocol
