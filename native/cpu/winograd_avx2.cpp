// Winograd passes for AVX2 + FMA (compiled with -mavx2 -mfma); 4 tiles per register block.
#define CNN4J_WINO_MR 4
#define CNN4J_WINO_ISA winograd_avx2
#include "winograd_kernel.inc"
