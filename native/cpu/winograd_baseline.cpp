// Winograd passes for any x86-64 (SSE2): the fallback; 2 tiles per register block.
#define CNN4J_WINO_MR 2
#define CNN4J_WINO_ISA winograd_baseline
#include "winograd_kernel.inc"
