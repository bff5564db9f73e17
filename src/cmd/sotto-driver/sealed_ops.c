/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender ops (tests/interop/README.md). */
#include "driver.h"

const drv_op drv_sealed_ops[] = {
	{ NULL, NULL },
};
