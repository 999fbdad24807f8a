// The hardware's cvt.rna.tf32.f32 and mma.sync.m16n8k8 (TF32) on the inputs of
// mma_check_inputs.h, written to a file that mma_check_host.cpp compares with the simulated
// device (native/cuda/sim). The two asm statements are those of native/cuda/gemm.cuh
// (to_tf32, mma_tf32), character for character.
//
//   nvcc -arch=sm_90 -O2 -o mma_check bench/gpu/mma_check.cu && ./mma_check mma-hw.txt
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cuda_runtime.h>

#include "mma_check_inputs.h"

#define CHECK(call)                                                                            \
  do {                                                                                         \
    cudaError_t e_ = (call);                                                                   \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "mma_check: %s: %s (%s:%d)\n", #call, cudaGetErrorString(e_), __FILE__, \
                   __LINE__);                                                                  \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__global__ void cvt_kernel(const uint32_t *in, uint32_t *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = to_tf32(__uint_as_float(in[i]));
}

// One warp per operand set: A, B (bit patterns, as they come) and C in, D out, all full
// matrices that each lane reads and writes through the fragment layout.
__global__ void mma_kernel(const uint32_t *A, const uint32_t *B, const uint32_t *C, uint32_t *D) {
  const int set = blockIdx.x, lane = threadIdx.x;
  const uint32_t *a_m = A + set * 128, *b_m = B + set * 64, *c_m = C + set * 128;
  uint32_t a[4], b[2];
  float d[4];
  int row, col;
  for (int i = 0; i < 4; i++) {
    mma_check::a_coord(lane, i, &row, &col);
    a[i] = a_m[row * 8 + col];
    mma_check::c_coord(lane, i, &row, &col);
    d[i] = __uint_as_float(c_m[row * 8 + col]);
  }
  for (int i = 0; i < 2; i++) {
    mma_check::b_coord(lane, i, &row, &col);
    b[i] = b_m[row * 8 + col];
  }
  mma_tf32(d, a, b);
  for (int i = 0; i < 4; i++) {
    mma_check::c_coord(lane, i, &row, &col);
    D[set * 128 + row * 8 + col] = __float_as_uint(d[i]);
  }
}

template <class T>
static T *upload(const std::vector<T> &v) {
  T *p = nullptr;
  CHECK(cudaMalloc(&p, v.size() * sizeof(T)));
  CHECK(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

template <class T>
static void download(std::vector<T> &v, const T *p) {
  CHECK(cudaMemcpy(v.data(), p, v.size() * sizeof(T), cudaMemcpyDeviceToHost));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mma_check OUT_FILE\n");
    return 2;
  }
  CHECK(cudaSetDevice(0));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0, runtime = 0;
  CHECK(cudaDriverGetVersion(&driver));
  CHECK(cudaRuntimeGetVersion(&runtime));

  // cvt.rna.tf32.f32
  const std::vector<uint32_t> cin = mma_check::cvt_inputs();
  std::vector<uint32_t> cres(cin.size());
  uint32_t *d_in = upload(cin), *d_out = nullptr;
  CHECK(cudaMalloc(&d_out, cres.size() * sizeof(uint32_t)));
  const int n = static_cast<int>(cin.size());
  cvt_kernel<<<(n + 255) / 256, 256>>>(d_in, d_out, n);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  download(cres, d_out);

  // mma.sync.m16n8k8
  const std::vector<mma_check::MmaSet> sets = mma_check::mma_sets();
  const int S = static_cast<int>(sets.size());
  std::vector<uint32_t> A(S * 128), B(S * 64), C(S * 128), D(S * 128, 0xDEADBEEFu);
  for (int s = 0; s < S; s++) {
    std::memcpy(&A[s * 128], sets[s].a, sizeof sets[s].a);
    std::memcpy(&B[s * 64], sets[s].b, sizeof sets[s].b);
    std::memcpy(&C[s * 128], sets[s].c, sizeof sets[s].c);
  }
  uint32_t *dA = upload(A), *dB = upload(B), *dC = upload(C), *dD = upload(D);
  mma_kernel<<<S, 32>>>(dA, dB, dC, dD);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  download(D, dD);

  char device[512];
  std::snprintf(device, sizeof device, "%s (sm_%d%d), driver %d, runtime %d", prop.name, prop.major, prop.minor,
                driver, runtime);
  if (!mma_check::write_results(argv[1], device, cin, cres, sets, D)) {
    std::perror(argv[1]);
    return 1;
  }
  for (uint32_t *p : {d_in, d_out, dA, dB, dC, dD}) CHECK(cudaFree(p));
  std::printf("mma_check: %s (sm_%d%d): %d cvt values, %d mma sets written to %s\n", prop.name, prop.major,
              prop.minor, n, S, argv[1]);
  return 0;
}
