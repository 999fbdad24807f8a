// The simulated device refuses what a GPU refuses: launch configurations past the hardware's
// limits and past a kernel's __launch_bounds__ (launch errors, cleared by cudaGetLastError), and
// threads that diverge at __syncthreads (a sticky fault naming the kernel and the lines).
// Built with the simulator itself (sim.cpp), by tests/sanitize-sim.sh; exits non-zero on a miss.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {
int failures = 0;

void expect(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) failures++;
}

__global__ void touch(int *p) { p[threadIdx.x] = 1; }

// Thread 0 leaves early; the others wait at the barrier for it.
__global__ void diverge(int *p) {
  if (threadIdx.x == 0) return;
  __syncthreads();
  p[threadIdx.x] = 2;
}

// Launches `kernel` and checks the launch error and what its message says.
template <class K>
void launch_fails(const char *name, dim3 grid, dim3 block, size_t smem, K kernel, int *p, cudaError_t want,
                  const char *says) {
  ::cnn4j_sim::launcher(name, grid, block, smem, nullptr, kernel)(p);
  cudaError_t e = cudaGetLastError();
  std::string msg = cudaGetErrorString(e);
  expect(e == want && msg.find(says) != std::string::npos,
         std::string(name) + ": " + msg + " (error " + std::to_string(e) + ")");
  expect(cudaGetLastError() == cudaSuccess, std::string(name) + ": the launch error is cleared once read");
}
}  // namespace

int main() {
  int *p = nullptr;
  if (cudaMalloc(&p, 2048 * sizeof(int)) != cudaSuccess) return 2;
  auto t = [](auto &&...a) { touch(a...); };
  launch_fails("touch", 1, 1025, 0, t, p, cudaErrorInvalidConfiguration, "1 to 1024 threads");
  launch_fails("touch", 1, dim3(1, 1, 65), 0, t, p, cudaErrorInvalidConfiguration, "z at most 64");
  launch_fails("touch", dim3(1, 65536), 32, 0, t, p, cudaErrorInvalidConfiguration, "y and z 1 to 65535");
  launch_fails("touch", 1, 32, 49 * 1024, t, p, cudaErrorInvalidValue, "limit 48 KiB");
  ::cnn4j_sim::register_bounds("bounded", 128);
  launch_fails("bounded<float>", 1, 256, 0, t, p, cudaErrorLaunchOutOfResources, "__launch_bounds__(128)");

  // a valid launch still runs
  ::cnn4j_sim::launcher("bounded<float>", 2, 128, 0, nullptr, t)(p);
  expect(cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess, "a launch within the limits runs");
  int host[128] = {};
  cudaMemcpy(host, p, sizeof host, cudaMemcpyDeviceToHost);
  expect(host[0] == 1 && host[127] == 1, "and writes what it should");

  // divergence at a barrier: a sticky fault, reported by the next synchronising call
  ::cnn4j_sim::launcher("diverge", 1, 64, 0, nullptr, [](auto &&...a) { diverge(a...); })(p);
  expect(cudaGetLastError() == cudaSuccess, "the diverging kernel launches (the fault comes when it runs)");
  cudaError_t e = cudaDeviceSynchronize();
  std::string msg = cudaGetErrorString(e);
  expect(e == cudaErrorLaunchFailure && msg.find("threads diverge at __syncthreads") != std::string::npos &&
             msg.find("sim_limits.cpp:") != std::string::npos && msg.find("have exited (thread 0)") != std::string::npos,
         "divergence: " + msg);
  expect(cudaGetLastError() == cudaErrorLaunchFailure, "the fault is sticky");
  cudaFree(p);  // still frees, and reports the fault again
  std::printf("sim_limits: %s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
