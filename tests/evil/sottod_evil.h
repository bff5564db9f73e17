/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Forced into src/cmd/sottod/main.c when it is compiled for sottod-evil
 * with -Dmain=sotto__evil_sottod_main (tests/evil/CMakeLists.txt). */
#ifndef SOTTO_SOTTOD_EVIL_H
#define SOTTO_SOTTOD_EVIL_H

int sotto__evil_sottod_main(int argc, char **argv);

#endif
