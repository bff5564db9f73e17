/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ctgrind: under valgrind memcheck, bytes marked undefined behave as secrets;
 * memcheck then reports every conditional jump and every memory address
 * computed from them. Outputs are declassified before a test looks at them. */
#ifndef SOTTO_TEST_CT_H
#define SOTTO_TEST_CT_H

#include <valgrind/memcheck.h>

#define CT_SECRET(p, len) VALGRIND_MAKE_MEM_UNDEFINED((p), (len))
#define CT_PUBLIC(p, len) VALGRIND_MAKE_MEM_DEFINED((p), (len))
#define CT_UNDER_VALGRIND() RUNNING_ON_VALGRIND

#endif
