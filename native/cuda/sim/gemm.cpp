// The simulated device compiles the CUDA source unchanged with the host compiler.
#include "../gemm.cu"
