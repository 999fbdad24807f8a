// Inputs of the mma/cvt check (bench/gpu/mma_check.cu on a GPU, mma_check_host.cpp against the
// simulated device), the fragment layout both use, and the file they exchange. Plain C++:
// nvcc's host compiler and g++ generate the same values (integer arithmetic only).
//
// File format (text, one record a line, every number an 8-digit hex bit pattern):
//   cnn4j-mma-check 1
//   device <free text>
//   cvt <n>
//   <input> <output>                      n lines
//   mma <sets>
//   set <name> <flags>                    then four lines per set:
//   a <128 words>                         A 16x8, row-major, as handed to the mma (not rounded)
//   b <64 words>                          B 8x8, B[k][n] at k*8+n
//   c <128 words>                         C 16x8, row-major
//   d <128 words>                         D 16x8, row-major, placed by the C/D fragment layout
//   end
#ifndef CNN4J_MMA_CHECK_INPUTS_H
#define CNN4J_MMA_CHECK_INPUTS_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if defined(__CUDACC__)
#define MMA_CHECK_HD __host__ __device__
#else
#define MMA_CHECK_HD
#endif

namespace mma_check {

constexpr const char *kMagic = "cnn4j-mma-check 1";
constexpr uint64_t kSeed = 0x636e6e346a6d6d61ull;

// ---- fragment layout of mma.m16n8k8 with .tf32 operands (PTX ISA, "Matrix Fragments for
// mma.m16n8k8"): groupID = lane >> 2, threadID_in_group = lane % 4. Written here from the ISA,
// not taken from the simulator, whose tables mma_check_host compares with these.
MMA_CHECK_HD inline void a_coord(int lane, int i, int *row, int *col) {
  *row = (lane >> 2) + ((i == 1 || i == 3) ? 8 : 0);  // a1, a3: groupID + 8
  *col = (lane % 4) + ((i == 2 || i == 3) ? 4 : 0);   // a2, a3: threadID_in_group + 4
}
MMA_CHECK_HD inline void b_coord(int lane, int i, int *row, int *col) {
  *row = (lane % 4) + (i == 1 ? 4 : 0);  // b1: threadID_in_group + 4
  *col = lane >> 2;
}
MMA_CHECK_HD inline void c_coord(int lane, int i, int *row, int *col) {
  *row = (lane >> 2) + (i >= 2 ? 8 : 0);  // c2, c3: groupID + 8
  *col = (lane % 4) * 2 + (i & 1);
}

// ---- generation ------------------------------------------------------------------------------
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<uint32_t>(hi - lo + 1))); }
};

inline float as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t as_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A float with a random sign and mantissa and an unbiased exponent in [emin, emax] (normal).
inline uint32_t random_normal(Rng &r, int emin, int emax) {
  // one draw a statement: the order of the draws is fixed for every compiler
  const uint32_t e = static_cast<uint32_t>(r.range(emin, emax) + 127);
  const uint32_t sign = r.below(2);
  const uint32_t m = static_cast<uint32_t>(r.next() & 0x7FFFFFu);
  return (sign << 31) | (e << 23) | m;
}
// Rounded to TF32 by the rule the check is about (round half away from zero on the low 13
// bits); the generator's own copy, so that inputs do not depend on the code under test. Only
// used on normal values far from the largest finite one.
inline uint32_t round_tf32(uint32_t u) { return (u + 0x1000u) & 0xFFFFE000u; }
// An integer-valued float in [lo, hi].
inline uint32_t int_value(Rng &r, int lo, int hi) { return as_bits(static_cast<float>(r.range(lo, hi))); }

// The cvt.rna.tf32.f32 inputs: a fixed list of the awkward cases, then 2048 seeded values.
inline std::vector<uint32_t> cvt_inputs() {
  std::vector<uint32_t> v;
  const uint32_t fixed[] = {
      // zeros, infinities, NaNs (quiet, signalling, payloads low and high, both signs)
      0x00000000u, 0x7F800000u, 0x7FC00000u, 0x7FC00001u, 0x7FC01000u, 0x7FFFFFFFu, 0x7F800001u, 0x7F801000u,
      0x7F802000u, 0x7FBFFFFFu, 0x7FA00000u,
      // 1 and its neighbours: 1 + 2^-10 (one TF32 ulp), 1 + 2^-11 (a tie, kept bit even: RNE
      // goes down, RNA up), 1 + 3 * 2^-11 (a tie, kept bit odd), two more ties (even, odd),
      // one bit either side of a tie, 1 + 2^-23, just below a tie, a quarter
      0x3F800000u, 0x3F802000u, 0x3F801000u, 0x3F803000u, 0x3F805000u, 0x3F807000u, 0x3F800FFFu, 0x3F801001u,
      0x3F800001u, 0x3F801FFFu, 0x3F800800u,
      // values that round up into the next exponent: tie and above at an all-ones mantissa
      0x3FFFF000u, 0x3FFFFFFFu, 0x3FFFEFFFu, 0x3F7FF000u, 0x3F7FFFFFu, 0x407FF000u, 0x4B7FF000u,
      // the largest finite float and its TF32 neighbours (a carry into the infinity exponent)
      0x7F7FFFFFu, 0x7F7FF000u, 0x7F7FEFFFu, 0x7F7FE000u, 0x7F7FE001u, 0x7F7FD000u,
      // the smallest normal, subnormals (tie, below and above a tie, the largest one, which
      // rounds up to the smallest normal, the smallest one)
      0x00800000u, 0x00801000u, 0x00000001u, 0x00000FFFu, 0x00001000u, 0x00001001u, 0x00001FFFu, 0x00003000u,
      0x00005000u, 0x00400000u, 0x007FF000u, 0x007FFFFFu, 0x007FE000u, 0x00002000u,
      // ordinary values: pi, 0.1, 1/3, 1e-30, 1e30, 65504, 2^24, 0.5
      0x40490FDBu, 0x3DCCCCCDu, 0x3EAAAAABu, 0x0DA24260u, 0x7149F2CAu, 0x477FE000u, 0x4B800000u, 0x3F000000u};
  for (uint32_t u : fixed) {
    v.push_back(u);
    v.push_back(u ^ 0x80000000u);  // both signs
  }
  Rng r(kSeed ^ 0xC0FFEEull);
  for (int i = 0; i < 2048; i++) {
    // the exponent field over its whole range, subnormals included, infinity/NaN excepted
    uint32_t e = r.below(255);
    uint32_t m = static_cast<uint32_t>(r.next() & 0x7FFFFFu);
    switch (i % 4) {
      case 0: break;                                                         // any low bits
      case 1: m = (m & ~0x1FFFu) | 0x1000u; break;                           // an exact tie
      case 2: m = (m & ~0x1FFFu) | (r.below(2) ? 0x0FFFu : 0x1001u); break;  // next to a tie
      default: m |= 0x7FF000u; break;  // a carry through the whole mantissa (into infinity at the top)
    }
    const uint32_t sign = r.below(2);
    v.push_back((sign << 31) | (e << 23) | m);
  }
  return v;
}

// ---- mma operand sets -------------------------------------------------------------------------
enum : unsigned {
  kUnrounded = 1,  // A and B keep non-zero low 13 bits: does the tensor core cut them?
  kExact = 2,      // integer-valued: every result is exact, so it must be the same
};

struct MmaSet {
  std::string name;
  unsigned flags = 0;
  uint32_t a[128] = {}, b[64] = {}, c[128] = {};
};

inline std::vector<MmaSet> mma_sets() {
  std::vector<MmaSet> sets;
  Rng r(kSeed);
  auto add = [&](const char *name, unsigned flags) -> MmaSet & {
    sets.emplace_back();
    sets.back().name = name;
    sets.back().flags = flags;
    return sets.back();
  };
  {  // B the identity: D = A exactly; any slip in the A or D layout shows as a moved value
    MmaSet &s = add("identity_int", kExact);
    for (int i = 0; i < 128; i++) s.a[i] = as_bits(static_cast<float>((i % 2 ? -1 : 1) * (i + 1)));
    for (int k = 0; k < 8; k++)
      for (int n = 0; n < 8; n++) s.b[k * 8 + n] = as_bits(k == n ? 1.f : 0.f);
    for (int i = 0; i < 128; i++) s.c[i] = 0;
  }
  {  // A, B and C none of them symmetric, B a power of two per (k, n), C distinct per
     // position: a transposed or moved fragment shows
    MmaSet &s = add("layout_int", kExact);
    for (int i = 0; i < 128; i++) s.a[i] = as_bits(static_cast<float>(1 + ((3 * (i / 8) + i % 8) % 8)));
    for (int k = 0; k < 8; k++)
      for (int n = 0; n < 8; n++) s.b[k * 8 + n] = as_bits(static_cast<float>(1 << ((k + 3 * n) % 8)));
    for (int i = 0; i < 128; i++) s.c[i] = as_bits(static_cast<float>(1000 * (i / 8) + 10 * (i % 8)));
  }
  for (int t = 0; t < 2; t++) {  // integers: products below 2^12, sums below 2^24, all exact
    MmaSet &s = add(t == 0 ? "int_random_0" : "int_random_1", kExact);
    for (auto &x : s.a) x = int_value(r, -64, 64);
    for (auto &x : s.b) x = int_value(r, -64, 64);
    for (auto &x : s.c) x = int_value(r, -4096, 4096);
  }
  for (int t = 0; t < 3; t++) {  // what gemm.cuh hands over: TF32-rounded A and B, an FP32 C
    static const char *names[] = {"rounded_random_0", "rounded_random_1", "rounded_random_2"};
    MmaSet &s = add(names[t], 0);
    for (auto &x : s.a) x = round_tf32(random_normal(r, -8, 8));
    for (auto &x : s.b) x = round_tf32(random_normal(r, -8, 8));
    for (auto &x : s.c) x = t == 0 ? 0u : random_normal(r, -6, 10);
  }
  {  // products spread over 80 binades: the alignment of the sum shows
    MmaSet &s = add("rounded_wide", 0);
    for (auto &x : s.a) x = round_tf32(random_normal(r, -40, 40));
    for (auto &x : s.b) x = round_tf32(random_normal(r, -40, 40));
    for (auto &x : s.c) x = random_normal(r, -40, 40);
  }
  for (int t = 0; t < 2; t++) {  // low 13 bits not zero, half of them at or above a half;
                                 // magnitudes close, so that no product hides another
    MmaSet &s = add(t == 0 ? "unrounded_0" : "unrounded_1", kUnrounded);
    for (auto &x : s.a) x = random_normal(r, -1, 1) | 0x1u;
    for (auto &x : s.b) x = random_normal(r, -1, 1) | 0x1u;
    for (int i = 0; i < 128; i += 2) s.a[i] |= 0x1000u;  // at or above a half: rounding would go up
    for (int i = 0; i < 64; i += 2) s.b[i] |= 0x1000u;
    for (auto &x : s.c) x = t == 0 ? 0u : random_normal(r, -1, 3);
  }
  {  // large cancellation among the products: A[r][k + 4] = -A[r][k] one TF32 ulp off, and
     // B[k + 4][n] = B[k][n]; C zero
    MmaSet &s = add("cancel_products", 0);
    for (int row = 0; row < 16; row++)
      for (int k = 0; k < 4; k++) {
        uint32_t x = round_tf32(random_normal(r, 6, 12));
        s.a[row * 8 + k] = x;
        s.a[row * 8 + k + 4] = (x ^ 0x80000000u) + (r.below(2) ? 0x2000u : 0u);
      }
    for (int k = 0; k < 4; k++)
      for (int n = 0; n < 8; n++) s.b[k * 8 + n] = s.b[(k + 4) * 8 + n] = round_tf32(random_normal(r, 6, 12));
    for (auto &x : s.c) x = 0;
  }
  {  // large cancellation against the accumulator: C = -(the products' sum, cut to FP32)
    MmaSet &s = add("cancel_accumulator", 0);
    for (auto &x : s.a) x = round_tf32(random_normal(r, -2, 6));
    for (auto &x : s.b) x = round_tf32(random_normal(r, -2, 6));
    for (int row = 0; row < 16; row++)
      for (int n = 0; n < 8; n++) {
        double sum = 0;
        for (int k = 0; k < 8; k++) sum += double(as_float(s.a[row * 8 + k])) * double(as_float(s.b[k * 8 + n]));
        s.c[row * 8 + n] = as_bits(static_cast<float>(-sum));  // the host's rounding; the residue is what counts
      }
  }
  {  // small products into a large accumulator: how many bits below C's last one are kept
    MmaSet &s = add("small_into_large", 0);
    for (auto &x : s.a) x = round_tf32(random_normal(r, -3, -1));
    for (auto &x : s.b) x = round_tf32(random_normal(r, -3, -1));
    for (auto &x : s.c) x = random_normal(r, 18, 22);
  }
  {  // subnormals: rows 0-7 normal A near 2^-67 against columns 0-3 of B near 2^-67 give
     // subnormal results; rows 8-15 hold subnormal A, which columns 4-7 (near 2^55) lift to
     // normal results. Flushed or kept?
    MmaSet &s = add("subnormal", 0);
    for (int row = 0; row < 16; row++)
      for (int k = 0; k < 8; k++) {
        if (row < 8) {
          s.a[row * 8 + k] = round_tf32(random_normal(r, -70, -64));
        } else {
          const uint32_t sign = r.below(2);
          s.a[row * 8 + k] = (sign << 31) | (static_cast<uint32_t>(r.range(1, 0x3FF)) << 13);  // subnormal, TF32
        }
      }
    for (int k = 0; k < 8; k++)
      for (int n = 0; n < 8; n++) s.b[k * 8 + n] = round_tf32(n < 4 ? random_normal(r, -70, -64) : random_normal(r, 50, 60));
    for (auto &x : s.c) x = 0;
  }
  return sets;
}

// ---- the file --------------------------------------------------------------------------------
inline void write_words(FILE *f, const char *tag, const uint32_t *w, int n) {
  std::fprintf(f, "%s", tag);
  for (int i = 0; i < n; i++) std::fprintf(f, " %08x", w[i]);
  std::fprintf(f, "\n");
}

// Writes the results: cvt_out[i] for cvt_in[i], d[s * 128 ...] for sets[s]. False if the file
// cannot be written.
inline bool write_results(const char *path, const std::string &device, const std::vector<uint32_t> &cvt_in,
                          const std::vector<uint32_t> &cvt_out, const std::vector<MmaSet> &sets,
                          const std::vector<uint32_t> &d) {
  FILE *f = std::fopen(path, "w");
  if (!f) return false;
  std::fprintf(f, "%s\ndevice %s\ncvt %zu\n", kMagic, device.c_str(), cvt_in.size());
  for (size_t i = 0; i < cvt_in.size(); i++) std::fprintf(f, "%08x %08x\n", cvt_in[i], cvt_out[i]);
  std::fprintf(f, "mma %zu\n", sets.size());
  for (size_t s = 0; s < sets.size(); s++) {
    std::fprintf(f, "set %s %u\n", sets[s].name.c_str(), sets[s].flags);
    write_words(f, "a", sets[s].a, 128);
    write_words(f, "b", sets[s].b, 64);
    write_words(f, "c", sets[s].c, 128);
    write_words(f, "d", &d[s * 128], 128);
  }
  std::fprintf(f, "end\n");
  bool ok = !std::ferror(f);
  return std::fclose(f) == 0 && ok;
}

}  // namespace mma_check

#endif
