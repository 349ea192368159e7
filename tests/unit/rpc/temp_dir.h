// The rpc tests use the shared test TempDir.
#pragma once

#include "tests/util/temp_dir.h"

namespace wattline::rpc {
using wattline::test::TempDir;
}  // namespace wattline::rpc
