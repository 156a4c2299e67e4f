// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault tracepoints: the one place they are created.
 */
#define CREATE_TRACE_POINTS
#include "vmfault_trace.h"
