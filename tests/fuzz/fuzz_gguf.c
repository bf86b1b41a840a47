/* SPDX-License-Identifier: MIT */
/* fuzz_gguf.c - GGUF headers through parse, layout and plan (model.inc). */
#define FUZZ_SOURCE MFS_SOURCE_GGUF
#include "model.inc"
