/* weft: work-stealing task runtime. The one header users include. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/runtime.h"
#include "weft/graph.h"
#include "weft/config.h"
#if WEFT_HAVE_DIST
#include "weft/dist.h"
#endif

#endif
