# Turns a text file into a C++ source that defines pgdest::resources::spec_json.
file(READ ${INPUT} CONTENT HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${CONTENT}")
file(WRITE ${OUTPUT}
"// Generated from resources/spec.json at build time.\n#include \"pgdest/resources.hpp\"\nnamespace pgdest::resources {\nstatic const unsigned char kSpecJson[] = {${BYTES} 0x00};\nstd::string_view spec_json() { return {reinterpret_cast<const char*>(kSpecJson), sizeof(kSpecJson) - 1}; }\n}  // namespace pgdest::resources\n")
