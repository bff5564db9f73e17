/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_EXPORT_H
#define SOTTO_EXPORT_H

/* The library is built with -fvisibility=hidden; only names marked here are
 * part of the ABI. */
#if defined(SOTTO_BUILDING) && defined(__GNUC__)
#define SOTTO_EXPORT __attribute__((visibility("default")))
#else
#define SOTTO_EXPORT
#endif

#if defined(__GNUC__)
#define SOTTO_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SOTTO_WARN_UNUSED
#endif

#endif
