// Winograd passes for AVX-512 (compiled with -mavx512f -mfma); 16 tiles per register block.
#define CNN4J_WINO_MR 16
#define CNN4J_WINO_ISA winograd_avx512
#include "winograd_kernel.inc"
