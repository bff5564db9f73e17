/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Umbrella header: everything libsotto exports. */
#ifndef SOTTO_SOTTO_H
#define SOTTO_SOTTO_H

#include "sotto/aead.h"
#include "sotto/aes.h"
#include "sotto/curve.h"
#include "sotto/ed25519.h"
#include "sotto/error.h"
#include "sotto/export.h"
#include "sotto/fingerprint.h"
#include "sotto/group.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/kt.h"
#include "sotto/noise.h"
#include "sotto/protocol.h"
#include "sotto/pwhash.h"
#include "sotto/sealed.h"
#include "sotto/session.h"
#include "sotto/util.h"

#define SOTTO_VERSION_STRING "0.1.0"

#endif
