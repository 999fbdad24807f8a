// cnn4j's simulated CUDA device (see cuda_runtime.h beside this file).
//
// Execution model
// - A kernel launch is queued on its stream. Queued work runs, in order, when something waits
//   for it (a stream, event or device synchronisation, a copy to pageable host memory, a
//   stream that waits for an event): a host read that does not wait sees stale data, as it may
//   on a GPU.
// - A grid runs on a pool of host worker threads. A worker runs one block at a time, each of
//   the block's threads a fiber with its own stack; the worker's scheduler resumes the runnable
//   fibers in index order (or in an order drawn from the seed), each until it finishes, waits
//   at __syncthreads or waits for its warp at mma.sync.
// - A fault (threads that diverge at a barrier, a warp collective with lanes missing, static
//   shared memory over 48 KiB, a queued copy that touches freed memory) stops the grid. It is
//   sticky, as on a GPU: every later synchronising call reports it.
//
// Sanitizers
// - AddressSanitizer: every allocation is a host allocation of its exact size; fiber switches
//   are announced; shared-memory variables are separated by poisoned red zones.
// - ThreadSanitizer: each simulated thread is a TSan fiber; switches carry no synchronisation,
//   so only real ones count: the block barrier, the start and end of a block. The scheduler's
//   own bookkeeping is not instrumented.
#define CNN4J_SIM_IMPLEMENTATION
#include "cuda_runtime.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CNN4J_SIM_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define CNN4J_SIM_TSAN 1
extern "C" {
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
}
#define NO_TSAN __attribute__((no_sanitize_thread))
#else
#define NO_TSAN
#endif

namespace cnn4j_sim {

thread_local Builtins tl_builtins __attribute__((tls_model("initial-exec")));

namespace {

// ---- limits of the simulated device (those of an H100 SXM) ----------------------------------
constexpr int kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockZ = 64;
constexpr size_t kStaticSharedLimit = 48 * 1024;   // without an opt-in, static + dynamic
constexpr unsigned long long kMaxGridX = 2147483647ull;
constexpr unsigned kMaxGridYZ = 65535;
constexpr int kSMs = 132;
constexpr size_t kRedZone = 64;                    // between shared variables
constexpr size_t kArenaBytes = kStaticSharedLimit + 32 * kRedZone;
constexpr unsigned char kPoison = 0xFF;            // NaN as float and double, -1 as int
#if defined(CNN4J_SIM_ASAN) || defined(CNN4J_SIM_TSAN)
constexpr size_t kStackBytes = 512 * 1024;
#else
constexpr size_t kStackBytes = 128 * 1024;
#endif
constexpr size_t kQuarantineBytes = size_t(64) << 20;

// ---- errors ----------------------------------------------------------------------------------
std::recursive_mutex g_mu;  // the runtime's state: memory, streams, events, graphs
thread_local cudaError_t tl_last = cudaSuccess;
thread_local cudaError_t tl_detail_code = cudaSuccess;
thread_local std::string tl_detail;       // what the last error of this thread was about
thread_local std::string tl_message;      // cudaGetErrorString's answer for it
std::atomic<bool> g_faulted{false};
std::string g_fault;                      // under g_mu once g_faulted is set

const char *base_string(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
  }
  return "unknown error";
}

// An API error of this thread (not sticky), with what it was about.
cudaError_t err(cudaError_t e, const std::string &detail) {
  tl_last = e;
  tl_detail_code = e;
  tl_detail = detail;
  return e;
}

// A fault of the device: sticky, reported by every later synchronising call.
void fault(const std::string &msg) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_faulted.load()) {
    g_fault = msg;
    g_faulted.store(true);
    std::fprintf(stderr, "cnn4j simulated device: %s\n", msg.c_str());
    std::fflush(stderr);
  }
}

cudaError_t sticky() { return g_faulted.load() ? cudaErrorLaunchFailure : cudaSuccess; }

// ---- memory ----------------------------------------------------------------------------------
enum class Kind { Device, Pool, Pinned };
struct Graph;
struct Alloc {
  size_t size;
  Kind kind;
  Graph *graph = nullptr;    // memory of a graph: freed with the graph
  bool free_queued = false;  // cudaFreeAsync called, the free not yet run
};
std::map<uintptr_t, Alloc> g_allocs;
std::map<uintptr_t, size_t> g_freed;  // quarantined, poisoned: a copy that touches it is a use after free
#if !defined(CNN4J_SIM_ASAN)
std::deque<std::pair<uintptr_t, size_t>> g_quarantine;
size_t g_quarantine_bytes = 0;
#endif
int64_t g_pool_used = 0;

const char *kind_name(Kind k) {
  return k == Kind::Pinned ? "page-locked host memory" : "device memory";
}

std::string hex(const void *p) {
  char b[32];
  std::snprintf(b, sizeof b, "%p", p);
  return b;
}

// The live allocation holding [p, p + bytes), or null.
Alloc *find(const void *p, size_t bytes, uintptr_t *base = nullptr) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return nullptr;
  --it;
  // a zero-length range is looked up as its first byte: the end of one allocation is not inside it
  if (a < it->first || a + std::max<size_t>(bytes, 1) > it->first + std::max<size_t>(it->second.size, 1)) return nullptr;
  if (base) *base = it->first;
  return &it->second;
}

bool was_freed(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_freed.upper_bound(a);
  if (it == g_freed.begin()) return false;
  --it;
  return a < it->first + it->second;
}

void *host_alloc(size_t bytes, Kind kind, Graph *graph) {
  void *p = nullptr;
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) return nullptr;
#if !defined(CNN4J_SIM_ASAN)
  std::memset(p, kPoison, bytes);  // fresh device memory is not zero on a GPU either
#endif
  g_freed.erase(reinterpret_cast<uintptr_t>(p));
  g_allocs[reinterpret_cast<uintptr_t>(p)] = Alloc{bytes, kind, graph};
  if (kind == Kind::Pool) g_pool_used += static_cast<int64_t>(bytes);
  return p;
}

// Frees an allocation now. Memory is poisoned and held back for a while (AddressSanitizer
// keeps its own quarantine), so that a late read sees the poison and a late copy is named.
void host_release(uintptr_t base) {
  auto it = g_allocs.find(base);
  if (it == g_allocs.end()) return;
  size_t size = it->second.size;
  if (it->second.kind == Kind::Pool) g_pool_used -= static_cast<int64_t>(size);
  g_allocs.erase(it);
#if defined(CNN4J_SIM_ASAN)
  std::free(reinterpret_cast<void *>(base));
#else
  std::memset(reinterpret_cast<void *>(base), kPoison, size);
  g_freed[base] = std::max<size_t>(size, 1);
  g_quarantine.emplace_back(base, size);
  g_quarantine_bytes += size;
  while (g_quarantine_bytes > kQuarantineBytes) {
    auto [b, s] = g_quarantine.front();
    g_quarantine.pop_front();
    g_quarantine_bytes -= s;
    g_freed.erase(b);
    std::free(reinterpret_cast<void *>(b));
  }
#endif
}

// Why `p` cannot be freed as `want`, or "".
std::string free_problem(const char *call, void *p, bool pinned, uintptr_t *base) {
  Alloc *a = find(p, 0, base);
  if (a == nullptr || *base != reinterpret_cast<uintptr_t>(p)) {
    if (was_freed(p)) return std::string(call) + ": double free of " + hex(p);
    return std::string(call) + ": " + hex(p) + " is not the start of a live allocation";
  }
  if (pinned != (a->kind == Kind::Pinned)) {
    return std::string(call) + ": " + hex(p) + " is " + kind_name(a->kind);
  }
  if (a->free_queued) return std::string(call) + ": double free of " + hex(p) + " (a free is already queued)";
  if (a->graph != nullptr) return std::string(call) + ": " + hex(p) + " belongs to a graph";
  return "";
}

// ---- streams, events, graphs -----------------------------------------------------------------
struct Op {
  const char *what;
  std::function<void()> run;
};

struct Graph {
  std::vector<Op> ops;
  std::vector<uintptr_t> memory;  // allocated while recording; freed with the graph
};

}  // namespace
}  // namespace cnn4j_sim

struct CUstream_st {
  std::deque<cnn4j_sim::Op> queue;
  uint64_t queued = 0, done = 0;
  cnn4j_sim::Graph *capture = nullptr;
  bool capture_invalid = false;
  std::thread::id capture_thread;
};
struct CUevent_st {
  CUstream_st *stream = nullptr;
  uint64_t seq = 0;
  cnn4j_sim::Graph *capture = nullptr;
};
struct CUgraph_st {
  cnn4j_sim::Graph g;
};
struct CUgraphExec_st {
  cnn4j_sim::Graph g;
};
struct CUmemPoolHandle_st {
  int unused;
};

namespace cnn4j_sim {
namespace {

CUstream_st g_legacy;
std::vector<CUstream_st *> g_streams{&g_legacy};
CUmemPoolHandle_st g_pool;
thread_local int tl_device = 0;

CUstream_st *resolve(cudaStream_t s) { return s ? s : &g_legacy; }

// The capture this thread runs, if any (the thread-local mode forbids waiting calls in it).
CUstream_st *my_capture() {
  for (CUstream_st *s : g_streams) {
    if (s->capture && s->capture_thread == std::this_thread::get_id()) return s;
  }
  return nullptr;
}

// A call that waits for the device, made while this thread records: the recording is
// invalidated and the call fails, as in CUDA's thread-local capture mode.
bool refused_in_capture(const char *call) {
  if (CUstream_st *s = my_capture()) {
    s->capture_invalid = true;
    err(cudaErrorStreamCaptureUnsupported, std::string(call) + " while this thread records a graph");
    return true;
  }
  return false;
}

void enqueue(CUstream_st *s, const char *what, std::function<void()> run) {
  if (s->capture) {
    s->capture->ops.push_back(Op{what, std::move(run)});
    return;
  }
  s->queue.push_back(Op{what, std::move(run)});
  s->queued++;
}

// Runs the work queued on s up to its `upto`-th op.
void flush(CUstream_st *s, uint64_t upto) {
  while (s->done < upto && !s->queue.empty()) {
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    s->done++;
    if (!g_faulted.load()) op.run();
  }
}

void flush_all() {
  bool more = true;
  while (more) {
    more = false;
    for (size_t i = 0; i < g_streams.size(); i++) {
      CUstream_st *s = g_streams[i];
      if (!s->queue.empty()) {
        flush(s, s->queued);
        more = true;
      }
    }
  }
}

// ---- fibers --------------------------------------------------------------------------------------
#if defined(__x86_64__)
extern "C" void cnn4j_sim_switch(void **save_sp, void *to_sp);
asm(R"(
.text
.globl cnn4j_sim_switch
.hidden cnn4j_sim_switch
.type cnn4j_sim_switch,@function
cnn4j_sim_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size cnn4j_sim_switch,.-cnn4j_sim_switch
.section .note.GNU-stack,"",@progbits
.text
)");
#else
#error "the simulated CUDA device switches fibers with x86-64 code; add a switch for this architecture"
#endif

enum class State { Runnable, Barrier, Warp, Done };

struct Fiber {
  char *stack = nullptr;  // lowest address (a guard page below the usable part)
  void *sp = nullptr;
  State state = State::Done;
  uint3 idx{};
  int linear = 0;
  const char *wait_file = nullptr;
  int wait_line = 0;
  bool used = false;  // has run since its stack was last reset
#if defined(CNN4J_SIM_ASAN)
  void *fake_stack = nullptr;
#endif
#if defined(CNN4J_SIM_TSAN)
  void *tsan = nullptr;
#endif
};

struct WarpExchange {
  uint32_t a[32][4], b[32][2];
  float c[32][4], d[32][4];
  int arrived = 0;
};

struct Job;

struct SharedSite {
  const void *site;
  size_t offset;
};
constexpr int kMaxSharedSites = 32;

// A worker's state. The fibers and the shared-variable table are plain arrays: the code that
// touches them runs inside simulated threads and is not instrumented for ThreadSanitizer, and
// library code (std::vector) would be.
struct Worker {
  Fiber *fibers = nullptr;  // kMaxThreadsPerBlock of them
  int nthreads = 0;
  int cur = -1;
  void *main_sp = nullptr;
  const KernelBody *body = nullptr;
  const Job *job = nullptr;
  unsigned char *arena = nullptr;
  size_t arena_used = 0, static_shared = 0;
  SharedSite shared_sites[kMaxSharedSites];
  int nshared = 0;
  WarpExchange *warps = nullptr;  // kMaxThreadsPerBlock / 32 of them
  std::string fault;  // this block's fault, if any
  char barrier_sync = 0, block_start = 0, block_end = 0;  // TSan synchronisation objects
#if defined(CNN4J_SIM_ASAN)
  void *main_fake_stack = nullptr;
  const void *main_bottom = nullptr;
  size_t main_size = 0;
#endif
#if defined(CNN4J_SIM_TSAN)
  void *main_tsan = nullptr;
#endif
};

thread_local Worker *tl_worker = nullptr;

void tsan_acquire(void *p) {
#if defined(CNN4J_SIM_TSAN)
  __tsan_acquire(p);
#else
  (void)p;
#endif
}
void tsan_release(void *p) {
#if defined(CNN4J_SIM_TSAN)
  __tsan_release(p);
#else
  (void)p;
#endif
}

// From the running fiber back to its worker's scheduler. `exiting`: the fiber is done for good.
NO_TSAN void yield_to_scheduler(Worker &w, Fiber &f, bool exiting) {
#if defined(CNN4J_SIM_TSAN)
  __tsan_switch_to_fiber(w.main_tsan, 1 /* no synchronisation */);
#endif
#if defined(CNN4J_SIM_ASAN)
  __sanitizer_start_switch_fiber(exiting ? nullptr : &f.fake_stack, w.main_bottom, w.main_size);
#else
  (void)exiting;
#endif
  cnn4j_sim_switch(&f.sp, w.main_sp);
#if defined(CNN4J_SIM_ASAN)
  __sanitizer_finish_switch_fiber(f.fake_stack, &w.main_bottom, &w.main_size);
#endif
}

// A fault raised inside a simulated thread: recorded for the block, and the thread never runs again.
[[noreturn]] NO_TSAN void thread_fault(const std::string &msg) {
  Worker &w = *tl_worker;
  Fiber &f = w.fibers[w.cur];
  if (w.fault.empty()) w.fault = msg;
  f.state = State::Done;
  yield_to_scheduler(w, f, true);
  __builtin_unreachable();
}

NO_TSAN void fiber_entry() {
  Worker &w = *tl_worker;
  Fiber &f = w.fibers[w.cur];
#if defined(CNN4J_SIM_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &w.main_bottom, &w.main_size);
#endif
  tsan_acquire(&w.block_start);
  (*w.body)();
  tsan_release(&w.block_end);
  f.state = State::Done;
  yield_to_scheduler(w, f, true);
  __builtin_unreachable();
}

NO_TSAN void reset_fiber(Fiber &f) {
  if (f.stack == nullptr) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void *m = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "cnn4j simulated device: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(m, page, PROT_NONE);  // a stack overflow faults instead of writing past the stack
    f.stack = static_cast<char *>(m) + page;
#if defined(CNN4J_SIM_TSAN)
    f.tsan = __tsan_create_fiber(0);
#endif
  }
#if defined(CNN4J_SIM_ASAN)
  if (f.used) __asan_unpoison_memory_region(f.stack, kStackBytes);  // frames of an abandoned run
#endif
  uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + kStackBytes) & ~uintptr_t(15);
  uintptr_t *sp = reinterpret_cast<uintptr_t *>(top);
  *--sp = 0;                                             // return address of fiber_entry (never used)
  *--sp = reinterpret_cast<uintptr_t>(&fiber_entry);     // where the first switch "returns"
  for (int i = 0; i < 6; i++) *--sp = 0;                 // rbp rbx r12 r13 r14 r15
  f.sp = sp;
  f.used = false;
}

NO_TSAN void resume(Worker &w, int i) {
  Fiber &f = w.fibers[i];
  w.cur = i;
  f.used = true;
  tl_builtins.thread_idx = f.idx;
#if defined(CNN4J_SIM_TSAN)
  __tsan_switch_to_fiber(f.tsan, 1 /* no synchronisation */);
#endif
#if defined(CNN4J_SIM_ASAN)
  __sanitizer_start_switch_fiber(&w.main_fake_stack, f.stack, kStackBytes);
#endif
  cnn4j_sim_switch(&w.main_sp, f.sp);
#if defined(CNN4J_SIM_ASAN)
  __sanitizer_finish_switch_fiber(w.main_fake_stack, nullptr, nullptr);
#endif
  w.cur = -1;
}

// ---- grids -----------------------------------------------------------------------------------------
uint64_t g_seed = 0;
int g_workers = 0;
std::atomic<int64_t> g_kernels{0}, g_blocks{0}, g_threads{0};
std::mutex g_bounds_mu;
std::unordered_map<std::string, int> &bounds() {
  static auto *m = new std::unordered_map<std::string, int>();
  return *m;
}

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Job {
  const char *name;
  dim3 grid, block;
  size_t dynamic_smem;
  const KernelBody *body;
  uint64_t nblocks;
  uint64_t launch_id;
  uint64_t stride = 1, offset = 0;  // blocks are taken in the order (i * stride + offset) mod nblocks
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex fault_mu;
  std::string fault;
};

// The order in which the block's threads start or resume after barrier `round`.
NO_TSAN void thread_order(const Job &job, uint64_t block, int round, std::vector<int> &order, int n) {
  order.resize(n);
  for (int i = 0; i < n; i++) order[i] = i;
  if (g_seed == 0) return;
  uint64_t r = mix(g_seed ^ mix(job.launch_id * 0x100000001B3ull ^ mix(block * 31 + round)));
  for (int i = n - 1; i > 0; i--) {
    r = mix(r);
    std::swap(order[i], order[static_cast<int>(r % uint64_t(i + 1))]);
  }
}

std::string where(const char *file, int line) {
  const char *slash = file ? std::strrchr(file, '/') : nullptr;
  return std::string(slash ? slash + 1 : (file ? file : "?")) + ":" + std::to_string(line);
}

std::string block_name(const Job &job) {
  const uint3 &b = tl_builtins.block_idx;
  return std::string(job.name) + " block (" + std::to_string(b.x) + "," + std::to_string(b.y) + "," +
         std::to_string(b.z) + ")";
}

// Runs one block on this worker; returns false on a fault (recorded in the job).
NO_TSAN bool run_block(Worker &w, Job &job, uint64_t linear_block) {
  const dim3 bd = job.block;
  const int n = static_cast<int>(bd.x * bd.y * bd.z);
  tl_builtins.block_idx = uint3{static_cast<unsigned>(linear_block % job.grid.x),
                                static_cast<unsigned>((linear_block / job.grid.x) % job.grid.y),
                                static_cast<unsigned>(linear_block / (uint64_t(job.grid.x) * job.grid.y))};
  tl_builtins.block_dim = bd;
  tl_builtins.grid_dim = job.grid;
  w.body = job.body;
  w.job = &job;
  w.nthreads = n;
  w.fault.clear();
  // Shared memory: poisoned again where the last block used it, its variables placed on first use.
  if (w.arena_used > 0) {
#if defined(CNN4J_SIM_ASAN)
    __asan_unpoison_memory_region(w.arena, w.arena_used);
#endif
    std::memset(w.arena, kPoison, w.arena_used);
#if defined(CNN4J_SIM_ASAN)
    __asan_poison_memory_region(w.arena, w.arena_used);
#endif
  }
  w.arena_used = 0;
  w.static_shared = job.dynamic_smem;
  w.nshared = 0;
  for (int i = 0; i < (n + 31) / 32; i++) w.warps[i].arrived = 0;
  for (int i = 0; i < n; i++) {
    Fiber &f = w.fibers[i];
    reset_fiber(f);
    f.state = State::Runnable;
    f.linear = i;
    f.idx = uint3{static_cast<unsigned>(i % bd.x), static_cast<unsigned>((i / bd.x) % bd.y),
                  static_cast<unsigned>(i / (bd.x * bd.y))};
  }
  tsan_release(&w.block_start);
  std::vector<int> order;
  int round = 0;
  thread_order(job, linear_block, round, order, n);
  for (;;) {
    bool ran = false;
    for (int k = 0; k < n; k++) {
      int i = order[k];
      if (w.fibers[i].state != State::Runnable) continue;
      resume(w, i);
      ran = true;
      if (!w.fault.empty()) break;
    }
    if (!w.fault.empty()) break;
    if (ran) continue;
    int done = 0, at_barrier = 0, at_warp = 0, first_barrier = -1, first_done = -1, first_warp = -1;
    for (int i = 0; i < n; i++) {
      switch (w.fibers[i].state) {
        case State::Done: done++; if (first_done < 0) first_done = i; break;
        case State::Barrier: at_barrier++; if (first_barrier < 0) first_barrier = i; break;
        case State::Warp: at_warp++; if (first_warp < 0) first_warp = i; break;
        case State::Runnable: break;
      }
    }
    if (done == n) break;
    if (at_warp > 0) {
      const Fiber &f = w.fibers[first_warp];
      int warp = f.linear / 32;
      w.fault = block_name(job) + ": thread " + std::to_string(f.linear) + " waits at mma.sync (" +
                where(f.wait_file, f.wait_line) + ") for lanes of warp " + std::to_string(warp) +
                " that " + (at_barrier > 0 ? "wait at __syncthreads" : "have exited") +
                " (a warp collective needs all 32 lanes)";
      break;
    }
    const Fiber &fb = w.fibers[first_barrier];
    if (done > 0) {
      w.fault = block_name(job) + ": threads diverge at __syncthreads: " + std::to_string(at_barrier) +
                " threads wait at " + where(fb.wait_file, fb.wait_line) + " (thread " + std::to_string(fb.linear) +
                ") while " + std::to_string(done) + " have exited (thread " + std::to_string(first_done) +
                ") without reaching it";
      break;
    }
    for (int i = 0; i < n; i++) {
      const Fiber &f = w.fibers[i];
      if (f.wait_line != fb.wait_line || std::strcmp(f.wait_file, fb.wait_file) != 0) {
        w.fault = block_name(job) + ": threads diverge at __syncthreads: thread " + std::to_string(fb.linear) +
                  " waits at " + where(fb.wait_file, fb.wait_line) + ", thread " + std::to_string(i) + " at " +
                  where(f.wait_file, f.wait_line);
        break;
      }
    }
    if (!w.fault.empty()) break;
    for (int i = 0; i < n; i++) w.fibers[i].state = State::Runnable;
    thread_order(job, linear_block, ++round, order, n);
  }
  g_threads.fetch_add(n, std::memory_order_relaxed);
  if (!w.fault.empty()) {
    std::lock_guard<std::mutex> lk(job.fault_mu);
    if (job.fault.empty()) job.fault = w.fault;
    job.failed.store(true, std::memory_order_relaxed);
    return false;
  }
  tsan_acquire(&w.block_end);
  return true;
}

// A pool of workers that run the blocks of one grid at a time.
struct Pool {
  std::mutex mu;
  std::condition_variable wake, finished;
  Job *job = nullptr;
  uint64_t generation = 0;
  int busy = 0;
  std::vector<std::thread> threads;
};

Pool &pool() {
  static Pool *p = new Pool();  // never destroyed: the workers may outlive static destruction
  return *p;
}

NO_TSAN void work(Job &job) {
  Worker &w = *tl_worker;
  for (;;) {
    uint64_t i = job.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job.nblocks || job.failed.load(std::memory_order_relaxed)) return;
    uint64_t b = (i * job.stride + job.offset) % job.nblocks;
    g_blocks.fetch_add(1, std::memory_order_relaxed);
    if (!run_block(w, job, b)) return;
  }
}

void worker_main() {
  Worker *w = new Worker();  // lives as long as the thread
  w->fibers = new Fiber[kMaxThreadsPerBlock];
  w->warps = new WarpExchange[kMaxThreadsPerBlock / 32];
  w->arena = static_cast<unsigned char *>(std::aligned_alloc(256, kArenaBytes));
  std::memset(w->arena, kPoison, kArenaBytes);
#if defined(CNN4J_SIM_ASAN)
  __asan_poison_memory_region(w->arena, kArenaBytes);
#endif
#if defined(CNN4J_SIM_TSAN)
  w->main_tsan = __tsan_get_current_fiber();
#endif
  tl_worker = w;
  Pool &p = pool();
  uint64_t seen = 0;
  for (;;) {
    Job *job;
    {
      std::unique_lock<std::mutex> lk(p.mu);
      p.wake.wait(lk, [&] { return p.generation != seen; });
      seen = p.generation;
      job = p.job;
    }
    work(*job);
    {
      std::lock_guard<std::mutex> lk(p.mu);
      if (--p.busy == 0) p.finished.notify_all();
    }
  }
}

int worker_count() {
  if (g_workers > 0) return g_workers;
  int n = 0;
  if (const char *e = std::getenv("CNN4J_SIM_WORKERS")) n = std::atoi(e);
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  g_workers = std::clamp(n, 1, 64);
  return g_workers;
}

void run_grid(const char *name, dim3 grid, dim3 block, size_t smem, const KernelBody &body) {
  static std::atomic<uint64_t> launches{0};
  Job job;
  job.name = name;
  job.grid = grid;
  job.block = block;
  job.dynamic_smem = smem;
  job.body = &body;
  job.nblocks = uint64_t(grid.x) * grid.y * grid.z;
  job.launch_id = launches.fetch_add(1);
  if (g_seed != 0 && job.nblocks > 1) {
    // a drawn stride coprime to the block count, and a drawn start
    uint64_t r = mix(g_seed ^ job.launch_id);
    job.offset = r % job.nblocks;
    uint64_t s = 1 + mix(r) % job.nblocks;
    while (std::gcd(s, job.nblocks) != 1) s++;
    job.stride = s;
  }
  g_kernels.fetch_add(1, std::memory_order_relaxed);
  Pool &p = pool();
  std::unique_lock<std::mutex> lk(p.mu);
  if (p.threads.empty()) {
    int n = worker_count();
    for (int i = 0; i < n; i++) {
      p.threads.emplace_back(worker_main);
      p.threads.back().detach();
    }
  }
  p.job = &job;
  p.busy = static_cast<int>(p.threads.size());
  p.generation++;
  p.wake.notify_all();
  p.finished.wait(lk, [&] { return p.busy == 0; });
  p.job = nullptr;
  lk.unlock();
  if (job.failed.load()) fault(job.fault);
}

std::string base_kernel_name(const char *name) {
  std::string s(name);
  size_t lt = s.find('<');
  if (lt != std::string::npos) s.resize(lt);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

// ---- the simulator's interface ----------------------------------------------------------------
bool register_bounds(const char *kernel, int max_threads) {
  std::lock_guard<std::mutex> lk(g_bounds_mu);
  bounds()[kernel] = max_threads;
  return true;
}

void launch(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t stream, KernelBody body) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (g_faulted.load()) {
    err(cudaErrorLaunchFailure, "");
    return;
  }
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  auto cfg = [&] {  // for the error messages only
    return std::string("launch of ") + name + " with grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) +
           "," + std::to_string(grid.z) + ") and block (" + std::to_string(block.x) + "," +
           std::to_string(block.y) + "," + std::to_string(block.z) + ")";
  };
  if (block.x == 0 || block.y == 0 || block.z == 0 || block.x > 1024 || block.y > 1024 || block.z > kMaxBlockZ ||
      threads > static_cast<unsigned long long>(kMaxThreadsPerBlock)) {
    err(cudaErrorInvalidConfiguration, cfg() + ": a block holds 1 to 1024 threads, z at most 64");
    return;
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > kMaxGridX || grid.y > kMaxGridYZ ||
      grid.z > kMaxGridYZ) {
    err(cudaErrorInvalidConfiguration, cfg() + ": grid x is 1 to 2^31-1, y and z 1 to 65535");
    return;
  }
  if (smem > kStaticSharedLimit) {
    err(cudaErrorInvalidValue, cfg() + ": " + std::to_string(smem) + " bytes of dynamic shared memory (limit 48 KiB)");
    return;
  }
  {
    std::lock_guard<std::mutex> bl(g_bounds_mu);
    auto it = bounds().find(base_kernel_name(name));
    if (it != bounds().end() && threads > static_cast<unsigned long long>(it->second)) {
      err(cudaErrorLaunchOutOfResources,
          cfg() + ": " + std::to_string(threads) + " threads, __launch_bounds__(" + std::to_string(it->second) + ")");
      return;
    }
  }
  CUstream_st *s = resolve(stream);
  enqueue(s, name, [name, grid, block, smem, body = std::move(body)]() { run_grid(name, grid, block, smem, body); });
}

NO_TSAN void syncthreads(const char *file, int line) {
  Worker *w = tl_worker;
  if (w == nullptr || w->cur < 0) {
    std::fprintf(stderr, "cnn4j simulated device: __syncthreads outside a kernel (%s:%d)\n", file, line);
    std::abort();
  }
  Fiber &f = w->fibers[w->cur];
  f.state = State::Barrier;
  f.wait_file = file;
  f.wait_line = line;
  tsan_release(&w->barrier_sync);
  yield_to_scheduler(*w, f, false);
  tsan_acquire(&w->barrier_sync);
}

NO_TSAN void *shared(const void *site, size_t bytes, size_t align) {
  Worker &w = *tl_worker;
  for (int i = 0; i < w.nshared; i++) {
    if (w.shared_sites[i].site == site) return w.arena + w.shared_sites[i].offset;
  }
  if (w.static_shared + bytes > kStaticSharedLimit) {
    thread_fault(block_name(*w.job) + ": shared memory of " + std::to_string(w.static_shared + bytes) +
                 " bytes per block (limit 48 KiB)");
  }
  size_t a = std::max<size_t>(align, 16);
  size_t off = (w.arena_used + kRedZone + a - 1) / a * a;
  if (off + bytes + kRedZone > kArenaBytes || w.nshared == kMaxSharedSites) {
    thread_fault(block_name(*w.job) + ": too many shared variables for the simulator's arena");
  }
  w.arena_used = off + bytes;
  w.static_shared += bytes;
  w.shared_sites[w.nshared++] = SharedSite{site, off};
#if defined(CNN4J_SIM_ASAN)
  __asan_unpoison_memory_region(w.arena + off, bytes);
#endif
  return w.arena + off;
}

uint32_t cvt_rna_tf32(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7F800000u) == 0x7F800000u) return (u & 0x007FFFFFu) ? 0x7FFFFFFFu : u;  // NaN, +-inf
  // Ties away from zero: add half of the last kept bit to the magnitude, then cut. A carry
  // moves into the exponent (and from the largest values to infinity), as rounding should.
  u += 0x1000u;
  return u & 0xFFFFE000u;
}

// Fragment tables of mma.m16n8k8 with .tf32 operands (PTX ISA, "Matrix Fragments for
// mma.m16n8k8"): groupID = lane >> 2, threadID_in_group = lane % 4.
void mma_m16n8k8_tf32_a_coord(int lane, int i, int *row, int *col) {
  *row = (lane >> 2) + ((i & 1) ? 8 : 0);  // a0, a2: groupID; a1, a3: groupID + 8
  *col = (lane & 3) + ((i & 2) ? 4 : 0);   // a0, a1: threadID_in_group; a2, a3: + 4
}
void mma_m16n8k8_tf32_b_coord(int lane, int i, int *row, int *col) {
  *row = (lane & 3) + (i ? 4 : 0);  // b0: threadID_in_group; b1: + 4
  *col = lane >> 2;                 // groupID
}
void mma_m16n8k8_tf32_c_coord(int lane, int i, int *row, int *col) {
  *row = (lane >> 2) + ((i & 2) ? 8 : 0);  // c0, c1: groupID; c2, c3: groupID + 8
  *col = (lane & 3) * 2 + (i & 1);
}

namespace {
float tf32_value(uint32_t bits) {
  bits &= 0xFFFFE000u;  // the tensor core reads only the TF32 bits of its operand registers
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

// D = A * B + C: every product is exact (two 11-bit significands), the eight of a dot product
// and C are summed in double and rounded once to float.
void mma_m16n8k8_tf32_reference(const float *a, const float *b, const float *c, float *d) {
  for (int r = 0; r < 16; r++) {
    for (int n = 0; n < 8; n++) {
      double s = c[r * 8 + n];
      for (int k = 0; k < 8; k++) {
        uint32_t ua, ub;
        std::memcpy(&ua, &a[r * 8 + k], 4);
        std::memcpy(&ub, &b[k * 8 + n], 4);
        s += double(tf32_value(ua)) * double(tf32_value(ub));
      }
      d[r * 8 + n] = static_cast<float>(s);
    }
  }
}

NO_TSAN void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  Worker &w = *tl_worker;
  Fiber &f = w.fibers[w.cur];
  const int warp = f.linear / 32, lane = f.linear % 32;
  if ((warp + 1) * 32 > w.nthreads) {
    thread_fault(block_name(*w.job) + ": mma.sync in warp " + std::to_string(warp) + " of a block of " +
                 std::to_string(w.nthreads) + " threads (a warp collective needs all 32 lanes)");
  }
  WarpExchange &x = w.warps[warp];
  std::memcpy(x.a[lane], a, sizeof a);
  std::memcpy(x.b[lane], b, sizeof b);
  std::memcpy(x.c[lane], d, sizeof d);
  if (++x.arrived < 32) {
    f.state = State::Warp;
    f.wait_file = "mma.sync.m16n8k8";
    f.wait_line = 0;
    yield_to_scheduler(w, f, false);
  } else {
    float A[16 * 8], B[8 * 8], C[16 * 8], D[16 * 8];
    for (int l = 0; l < 32; l++) {
      int r, c;
      for (int i = 0; i < 4; i++) {
        mma_m16n8k8_tf32_a_coord(l, i, &r, &c);
        std::memcpy(&A[r * 8 + c], &x.a[l][i], 4);
        mma_m16n8k8_tf32_c_coord(l, i, &r, &c);
        C[r * 8 + c] = x.c[l][i];
      }
      for (int i = 0; i < 2; i++) {
        mma_m16n8k8_tf32_b_coord(l, i, &r, &c);
        std::memcpy(&B[r * 8 + c], &x.b[l][i], 4);
      }
    }
    mma_m16n8k8_tf32_reference(A, B, C, D);
    for (int l = 0; l < 32; l++) {
      int r, c;
      for (int i = 0; i < 4; i++) {
        mma_m16n8k8_tf32_c_coord(l, i, &r, &c);
        x.d[l][i] = D[r * 8 + c];
      }
    }
    x.arrived = 0;
    for (int l = 0; l < 32; l++) {
      Fiber &o = w.fibers[warp * 32 + l];
      if (o.state == State::Warp) o.state = State::Runnable;
    }
  }
  std::memcpy(d, x.d[lane], sizeof d);
}

namespace {
template <class T, class U>
T atomic_add_bits(T *p, T v) {
  static_assert(sizeof(T) == sizeof(U));
  U *q = reinterpret_cast<U *>(p);
  U old = __atomic_load_n(q, __ATOMIC_RELAXED);
  for (;;) {
    T f;
    std::memcpy(&f, &old, sizeof f);
    T n = f + v;
    U nu;
    std::memcpy(&nu, &n, sizeof nu);
    if (__atomic_compare_exchange_n(q, &old, nu, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return f;
  }
}
}  // namespace

float atomic_add(float *p, float v) { return atomic_add_bits<float, uint32_t>(p, v); }
double atomic_add(double *p, double v) { return atomic_add_bits<double, uint64_t>(p, v); }
int atomic_add(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
unsigned atomic_add(unsigned *p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

void configure(uint64_t s, int workers) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  g_seed = s;
  if (workers > 0 && pool().threads.empty()) g_workers = workers;
}

uint64_t seed() { return g_seed; }

void live_allocations(int64_t *count, int64_t *bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *count = static_cast<int64_t>(g_allocs.size());
  int64_t b = 0;
  for (auto &[p, a] : g_allocs) b += static_cast<int64_t>(a.size);
  *bytes = b;
}

void counters(int64_t *kernels, int64_t *blocks, int64_t *threads) {
  *kernels = g_kernels.load();
  *blocks = g_blocks.load();
  *threads = g_threads.load();
}

namespace {
// Reads the settings from the environment, and reports leaks when the process ends.
struct Lifetime {
  Lifetime() {
    if (const char *e = std::getenv("CNN4J_SIM_SEED")) g_seed = std::strtoull(e, nullptr, 10);
  }
  ~Lifetime() {
    std::unique_lock<std::recursive_mutex> lk(g_mu, std::try_to_lock);
    if (!lk.owns_lock()) return;
    size_t bytes = 0, count = 0;
    for (auto &[p, a] : g_allocs) {
      if (!a.free_queued) bytes += a.size, count++;  // a queued free counts as done
    }
    if (count == 0) return;
    std::fprintf(stderr, "cnn4j simulated device: %zu allocations (%zu bytes) were never freed", count, bytes);
    int shown = 0;
    for (auto &[p, a] : g_allocs) {
      if (a.free_queued) continue;
      if (shown++ == 5) break;
      std::fprintf(stderr, "%s %s of %zu bytes at %p", shown == 1 ? ":" : ",", kind_name(a.kind), a.size,
                   reinterpret_cast<void *>(p));
    }
    std::fprintf(stderr, "\n");
  }
};
Lifetime g_lifetime;
}  // namespace

}  // namespace cnn4j_sim

// ---- the runtime API ------------------------------------------------------------------------------
using namespace cnn4j_sim;
using Lock = std::lock_guard<std::recursive_mutex>;

const char *cudaGetErrorString(cudaError_t e) {
  if (e == cudaErrorLaunchFailure && g_faulted.load()) {
    Lock lk(g_mu);
    tl_message = std::string(base_string(e)) + " (simulated device: " + g_fault + ")";
    return tl_message.c_str();
  }
  if (e == tl_detail_code && !tl_detail.empty()) {
    tl_message = std::string(base_string(e)) + " (" + tl_detail + ")";
    return tl_message.c_str();
  }
  return base_string(e);
}

cudaError_t cudaGetLastError() {
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  cudaError_t e = tl_last;
  tl_last = cudaSuccess;  // tl_detail stays for cudaGetErrorString
  return e;
}

cudaError_t cudaPeekAtLastError() { return g_faulted.load() ? cudaErrorLaunchFailure : tl_last; }

cudaError_t cudaDriverGetVersion(int *v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int d) {
  if (d != 0) return err(cudaErrorInvalidDevice, "the simulated device is device 0");
  tl_device = d;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int *d) {
  *d = tl_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
  if (d != 0) return err(cudaErrorInvalidDevice, "the simulated device is device 0");
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "cnn4j simulated device (%d host threads%s)", worker_count(),
                g_seed ? ", threads in a seeded order" : "");
  p->totalGlobalMem = size_t(16) << 30;
  p->sharedMemPerBlock = kStaticSharedLimit;
  p->maxThreadsPerBlock = kMaxThreadsPerBlock;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = kSMs;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
  if (d != 0) return err(cudaErrorInvalidDevice, "the simulated device is device 0");
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = kSMs; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *v = kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = static_cast<int>(kStaticSharedLimit); return cudaSuccess;
  }
  return err(cudaErrorInvalidValue, "attribute not simulated");
}

cudaError_t cudaDeviceSynchronize() {
  Lock lk(g_mu);
  if (refused_in_capture("cudaDeviceSynchronize")) return cudaErrorStreamCaptureUnsupported;
  flush_all();
  return sticky();
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
  Lock lk(g_mu);
  *p = nullptr;
  if (refused_in_capture("cudaMalloc")) return cudaErrorStreamCaptureUnsupported;
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  *p = host_alloc(bytes, Kind::Device, nullptr);
  return *p ? cudaSuccess : err(cudaErrorMemoryAllocation, "host memory exhausted");
}

cudaError_t cudaFree(void *p) {
  Lock lk(g_mu);
  if (p == nullptr) return cudaSuccess;
  if (refused_in_capture("cudaFree")) return cudaErrorStreamCaptureUnsupported;
  flush_all();  // cudaFree waits for the device
  uintptr_t base;
  std::string why = free_problem("cudaFree", p, false, &base);
  if (!why.empty()) return err(cudaErrorInvalidValue, why);
  host_release(base);
  return sticky();
}

cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t stream) {
  Lock lk(g_mu);
  *p = nullptr;
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  CUstream_st *s = resolve(stream);
  if (s->capture) {
    // A memory node of the graph: allocated now, kept for the graph's lifetime.
    *p = host_alloc(bytes, Kind::Device, s->capture);
    if (*p) s->capture->memory.push_back(reinterpret_cast<uintptr_t>(*p));
  } else {
    *p = host_alloc(bytes, Kind::Pool, nullptr);
  }
  return *p ? cudaSuccess : err(cudaErrorMemoryAllocation, "host memory exhausted");
}

cudaError_t cudaFreeAsync(void *p, cudaStream_t stream) {
  Lock lk(g_mu);
  if (p == nullptr) return cudaSuccess;
  CUstream_st *s = resolve(stream);
  uintptr_t base;
  Alloc *a = find(p, 0, &base);
  if (s->capture && a != nullptr && a->graph == s->capture && base == reinterpret_cast<uintptr_t>(p)) {
    return cudaSuccess;  // the graph's own memory: released with the graph
  }
  std::string why = free_problem("cudaFreeAsync", p, false, &base);
  if (!why.empty()) return err(cudaErrorInvalidValue, why);
  if (s->capture) {
    s->capture_invalid = true;
    return err(cudaErrorStreamCaptureUnsupported, "cudaFreeAsync of memory allocated outside the recording");
  }
  a->free_queued = true;
  enqueue(s, "cudaFreeAsync", [base]() { host_release(base); });
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes) {
  Lock lk(g_mu);
  *p = nullptr;
  if (refused_in_capture("cudaMallocHost")) return cudaErrorStreamCaptureUnsupported;
  *p = host_alloc(bytes, Kind::Pinned, nullptr);
  return *p ? cudaSuccess : err(cudaErrorMemoryAllocation, "host memory exhausted");
}

cudaError_t cudaFreeHost(void *p) {
  Lock lk(g_mu);
  if (p == nullptr) return cudaSuccess;
  if (refused_in_capture("cudaFreeHost")) return cudaErrorStreamCaptureUnsupported;
  flush_all();  // queued copies may still read or write it
  uintptr_t base;
  std::string why = free_problem("cudaFreeHost", p, true, &base);
  if (!why.empty()) return err(cudaErrorInvalidValue, why);
  host_release(base);
  return cudaSuccess;
}

namespace {
enum class Space { Device, Pinned, Pageable, Freed };

Space space_of(const void *p, size_t bytes) {
  Alloc *a = find(p, bytes);
  if (a != nullptr) return a->kind == Kind::Pinned ? Space::Pinned : Space::Device;
  if (find(p, 0) != nullptr) return Space::Freed;  // starts inside an allocation, runs past its end
  if (was_freed(p)) return Space::Freed;
  return Space::Pageable;
}

std::string range(const char *side, const void *p, size_t bytes) {
  return std::string(side) + " " + hex(p) + " (" + std::to_string(bytes) + " bytes)";
}

// Checks one side of a copy: device memory where `device`, host memory otherwise.
std::string check_side(const char *call, const char *side, const void *p, size_t bytes, bool device) {
  Space sp = space_of(p, bytes);
  if (sp == Space::Freed) {
    if (find(p, 0) != nullptr) return std::string(call) + ": " + range(side, p, bytes) + " runs past the end of its allocation";
    return std::string(call) + ": " + range(side, p, bytes) + " is freed memory";
  }
  if (device && sp != Space::Device) return std::string(call) + ": " + range(side, p, bytes) + " is not device memory";
  if (!device && sp == Space::Device) return std::string(call) + ": " + range(side, p, bytes) + " is device memory, not host memory";
  return "";
}

// At the time a queued copy runs: its device memory must still be live.
void check_live(const char *call, const void *p, size_t bytes) {
  if (find(p, bytes) == nullptr) fault(std::string(call) + " queued earlier: " + range("memory", p, bytes) + " was freed before the copy ran");
}
}  // namespace

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lk(g_mu);
  if (bytes == 0) return cudaSuccess;
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost) {
    bool sd = space_of(src, bytes) == Space::Device, dd = space_of(dst, bytes) == Space::Device;
    kind = sd ? (dd ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
              : (dd ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
  }
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  std::string why = check_side("cudaMemcpyAsync", "source", src, bytes, src_dev);
  if (why.empty()) why = check_side("cudaMemcpyAsync", "destination", dst, bytes, dst_dev);
  if (!why.empty()) return err(cudaErrorInvalidValue, why);
  CUstream_st *s = resolve(stream);
  const bool src_pageable = !src_dev && space_of(src, bytes) == Space::Pageable;
  const bool dst_pageable = !dst_dev && space_of(dst, bytes) == Space::Pageable;
  if (s->capture && (src_pageable || dst_pageable)) {
    s->capture_invalid = true;
    return err(cudaErrorStreamCaptureUnsupported, "cudaMemcpyAsync with pageable host memory while recording");
  }
  if (dst_pageable) {
    // To pageable memory the copy is synchronous: it waits for the stream, then copies.
    flush(s, s->queued);
    if (g_faulted.load()) return cudaErrorLaunchFailure;
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
  }
  if (src_pageable) {
    // From pageable memory the source is staged before the call returns.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char *>(src),
                                                               static_cast<const unsigned char *>(src) + bytes);
    enqueue(s, "cudaMemcpyAsync", [dst, staged, bytes]() {
      check_live("cudaMemcpyAsync", dst, bytes);
      if (!g_faulted.load()) std::memcpy(dst, staged->data(), bytes);
    });
    return cudaSuccess;
  }
  enqueue(s, "cudaMemcpyAsync", [dst, src, bytes]() {
    check_live("cudaMemcpyAsync", src, bytes);
    check_live("cudaMemcpyAsync", dst, bytes);
    if (!g_faulted.load()) std::memmove(dst, src, bytes);
  });
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  Lock lk(g_mu);
  if (refused_in_capture("cudaMemcpy")) return cudaErrorStreamCaptureUnsupported;
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
  if (e != cudaSuccess) return e;
  flush_all();
  return sticky();
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lk(g_mu);
  if (width == 0 || height == 0) return cudaSuccess;
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  if (kind != cudaMemcpyDeviceToDevice) return err(cudaErrorInvalidValue, "cudaMemcpy2DAsync: the simulator copies device to device only");
  if (width > dpitch || width > spitch) return err(cudaErrorInvalidValue, "cudaMemcpy2DAsync: width exceeds a pitch");
  size_t dspan = dpitch * (height - 1) + width, sspan = spitch * (height - 1) + width;
  std::string why = check_side("cudaMemcpy2DAsync", "source", src, sspan, true);
  if (why.empty()) why = check_side("cudaMemcpy2DAsync", "destination", dst, dspan, true);
  if (!why.empty()) return err(cudaErrorInvalidValue, why);
  enqueue(resolve(stream), "cudaMemcpy2DAsync", [=]() {
    check_live("cudaMemcpy2DAsync", src, sspan);
    check_live("cudaMemcpy2DAsync", dst, dspan);
    if (g_faulted.load()) return;
    for (size_t r = 0; r < height; r++) {
      std::memmove(static_cast<char *>(dst) + r * dpitch, static_cast<const char *>(src) + r * spitch, width);
    }
  });
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int) {
  Lock lk(g_mu);
  *s = new CUstream_st();
  g_streams.push_back(*s);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  Lock lk(g_mu);
  if (s == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaStreamDestroy of the legacy stream");
  flush(s, s->queued);
  g_streams.erase(std::remove(g_streams.begin(), g_streams.end(), s), g_streams.end());
  delete s;
  return sticky();
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  Lock lk(g_mu);
  CUstream_st *s = resolve(stream);
  if (s->capture) {
    s->capture_invalid = true;
    return err(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize of a stream that records a graph");
  }
  if (refused_in_capture("cudaStreamSynchronize")) return cudaErrorStreamCaptureUnsupported;
  flush(s, s->queued);
  return sticky();
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t e, unsigned int) {
  Lock lk(g_mu);
  if (e == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: no event");
  CUstream_st *s = resolve(stream);
  if (s->capture) {
    if (e->capture == s->capture) return cudaSuccess;  // recorded in this recording: already in order
    s->capture_invalid = true;
    return err(cudaErrorStreamCaptureUnsupported, "cudaStreamWaitEvent on an event recorded outside the recording");
  }
  if (e->stream == nullptr || e->stream == s) return cudaSuccess;
  CUstream_st *other = e->stream;
  uint64_t seq = e->seq;
  enqueue(s, "cudaStreamWaitEvent", [other, seq]() { flush(other, seq); });
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status) {
  Lock lk(g_mu);
  CUstream_st *s = resolve(stream);
  *status = !s->capture ? cudaStreamCaptureStatusNone
                        : (s->capture_invalid ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive);
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  Lock lk(g_mu);
  if (stream == nullptr) return err(cudaErrorStreamCaptureUnsupported, "the legacy stream cannot record");
  if (stream->capture) return err(cudaErrorInvalidValue, "cudaStreamBeginCapture: the stream already records");
  stream->capture = new Graph();
  stream->capture_invalid = false;
  stream->capture_thread = std::this_thread::get_id();
  return cudaSuccess;
}

namespace {
void free_graph_memory(Graph &g) {
  for (uintptr_t p : g.memory) host_release(p);
  g.memory.clear();
}
}  // namespace

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  Lock lk(g_mu);
  *graph = nullptr;
  CUstream_st *s = resolve(stream);
  if (!s->capture) return err(cudaErrorInvalidValue, "cudaStreamEndCapture: the stream does not record");
  if (s->capture_thread != std::this_thread::get_id()) {
    return err(cudaErrorStreamCaptureWrongThread, "cudaStreamEndCapture from a thread that did not begin it");
  }
  Graph *g = s->capture;
  s->capture = nullptr;
  if (s->capture_invalid) {
    s->capture_invalid = false;
    free_graph_memory(*g);
    delete g;
    return err(cudaErrorStreamCaptureInvalidated, "a call during the recording was not permitted");
  }
  auto *cg = new CUgraph_st();
  cg->g = std::move(*g);
  for (uintptr_t p : cg->g.memory) g_allocs[p].graph = &cg->g;
  delete g;
  *graph = cg;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long) {
  Lock lk(g_mu);
  if (graph == nullptr) return err(cudaErrorInvalidValue, "cudaGraphInstantiate: no graph");
  auto *x = new CUgraphExec_st();
  x->g.ops = graph->g.ops;
  x->g.memory = std::move(graph->g.memory);  // the memory nodes belong to the executable graph
  graph->g.memory.clear();
  for (uintptr_t p : x->g.memory) g_allocs[p].graph = &x->g;
  *exec = x;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  Lock lk(g_mu);
  if (graph == nullptr) return cudaSuccess;
  free_graph_memory(graph->g);
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  Lock lk(g_mu);
  if (exec == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaGraphLaunch: no graph");
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  CUstream_st *s = resolve(stream);
  for (const Op &op : exec->g.ops) enqueue(s, op.what, op.run);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  Lock lk(g_mu);
  if (exec == nullptr) return cudaSuccess;
  flush_all();  // queued replays still use its memory
  free_graph_memory(exec->g);
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int) {
  *e = new CUevent_st();
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  Lock lk(g_mu);
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t stream) {
  Lock lk(g_mu);
  if (e == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaEventRecord: no event");
  CUstream_st *s = resolve(stream);
  if (s->capture) {
    e->capture = s->capture;
    e->stream = nullptr;
    return cudaSuccess;
  }
  e->capture = nullptr;
  e->stream = s;
  e->seq = s->queued;  // the work queued so far
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  Lock lk(g_mu);
  if (e == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: no event");
  if (refused_in_capture("cudaEventSynchronize")) return cudaErrorStreamCaptureUnsupported;
  if (e->stream != nullptr) flush(e->stream, e->seq);
  return sticky();
}

cudaError_t cudaEventQuery(cudaEvent_t e) {
  Lock lk(g_mu);
  if (e == nullptr) return err(cudaErrorInvalidResourceHandle, "cudaEventQuery: no event");
  if (g_faulted.load()) return cudaErrorLaunchFailure;
  return e->stream == nullptr || e->stream->done >= e->seq ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *p, int d) {
  if (d != 0) return err(cudaErrorInvalidDevice, "the simulated device is device 0");
  *p = &g_pool;
  return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void *) { return cudaSuccess; }

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t, cudaMemPoolAttr a, void *v) {
  Lock lk(g_mu);
  // The simulated pool caches nothing: what it holds is what is in use.
  if (a == cudaMemPoolAttrReservedMemCurrent || a == cudaMemPoolAttrUsedMemCurrent) {
    *static_cast<uint64_t *>(v) = static_cast<uint64_t>(g_pool_used);
    return cudaSuccess;
  }
  return err(cudaErrorInvalidValue, "pool attribute not simulated");
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t, size_t) { return cudaSuccess; }

cudaError_t cudaDeviceGraphMemTrim(int) { return cudaSuccess; }
