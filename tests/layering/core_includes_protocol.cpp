// Compiled with the view of src/core only. core is the bottom folder, so this
// include of a protocol header must not be found: the build test that
// compiles this file passes only when the compiler says so.
#include "core/result.hpp"
#include "protocol/group_protocol.hpp"
