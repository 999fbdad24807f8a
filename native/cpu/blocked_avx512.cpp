// Blocked direct convolution for AVX-512 (compiled with -mavx512f -mfma): register blocks of
// up to 28 accumulator vectors, 2 output vectors at a time; backward-filter 4 x 6, 2 x 10 or
// 1 x 12 (vectors x (tap, channel) pairs).
#define CNN4J_BLK_ACC 28
#define CNN4J_BLK_NB 2
#define CNN4J_BLK_FJ 10
#define CNN4J_BLK_F1 12
#define CNN4J_BLK_ISA blocked_avx512
#include "blocked_kernel.inc"
