// Blocked direct convolution for AVX2 (compiled with -mavx2 -mfma; a 16-float vector is two
// registers): register blocks of up to 6 accumulator vectors, one output vector at a time.
#define CNN4J_BLK_ACC 6
#define CNN4J_BLK_NB 1
#define CNN4J_BLK_FJ 6
#define CNN4J_BLK_F1 6
#define CNN4J_BLK_ISA blocked_avx2
#include "blocked_kernel.inc"
