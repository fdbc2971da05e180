/* weft: work-stealing task runtime. The one header users include. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/runtime.h"
#include "weft/graph.h"

#endif
