/* SPDX-License-Identifier: MIT */
/* fuzz_safetensors.c - safetensors headers through parse, layout and plan (model.inc). */
#define FUZZ_SOURCE MFS_SOURCE_SAFETENSORS
#include "model.inc"
