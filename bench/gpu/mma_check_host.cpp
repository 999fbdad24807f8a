// Compares the hardware's cvt.rna.tf32.f32 and mma.sync.m16n8k8 (TF32) results, as
// bench/gpu/mma_check.cu wrote them, with the simulated device's (native/cuda/sim):
// cnn4j_sim::cvt_rna_tf32 and cnn4j_sim::mma_m16n8k8_tf32_reference on the same inputs.
//
//   (from the repository root)
//   g++ -std=c++17 -O2 -I native/cuda/sim bench/gpu/mma_check_host.cpp native/cuda/sim/sim.cpp -lpthread -o mma_check_host
//   mma_check_host FILE              compares FILE (written by mma_check on a GPU)
//   mma_check_host --self-test FILE  writes FILE from the simulated device itself (cvt_rna_tf32,
//                                    and the mma as a simulated warp: a launch of one 32-thread
//                                    block per set, each lane loading its fragments as
//                                    mma_check.cu does), then compares it: the dry run
//
// The verdict (exit 0 when it passes, 1 when not, 2 when the file cannot be read):
// - cvt: every output bit-identical to the simulator's (NaN payloads and the low 13 bits
//   included: the simulator claims them).
// - the simulator's fragment tables are those of the PTX ISA (mma_check_inputs.h).
// - mma, integer-valued sets (every result exact): each element equal to the simulator's
//   (+0 and -0 alike).
// - mma, every other set: each element within 2 ulps of the simulator's result, or within
//   32 ulps of the largest term of its dot product (|c| or the largest |a_k * b_k|). The
//   simulator sums the nine terms exactly and rounds once; a tensor core that aligns the terms
//   to the largest and cuts them at 24 bits or so, possibly in two k = 4 halves with an FP32
//   intermediate (Fasi, Higham, Mikaitis, Pranesh, "Numerical behavior of NVIDIA tensor
//   cores", 2021), stays well inside that, while a wrong fragment layout or operands used at
//   other than TF32 precision (an error of 2^-11 of a product, 4096 of its ulps) fall far
//   outside. With cancellation the result's own ulps are much finer than the terms', so the
//   bound is on the terms.
// - unrounded sets (A and B with low 13 bits set) are judged against the simulator, which
//   cuts those bits (sim.cpp's tf32_value); the report also says which of "cut", "rounded
//   first" and "all 23 bits used" the hardware is closest to.
#include "cuda_runtime.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mma_check_inputs.h"

namespace {

using mma_check::as_bits;
using mma_check::as_float;

struct Set {
  std::string name;
  unsigned flags = 0;
  uint32_t a[128], b[64], c[128], d[128];
};

struct Results {
  std::string device;
  std::vector<uint32_t> cvt_in, cvt_out;
  std::vector<Set> sets;
};

// ---- reading ---------------------------------------------------------------------------------
bool parse_words(const std::string &line, const char *tag, uint32_t *w, int n, std::string *why) {
  std::istringstream in(line);
  std::string t;
  in >> t;
  if (t != tag) {
    *why = std::string("expected '") + tag + "', got '" + line.substr(0, 40) + "'";
    return false;
  }
  for (int i = 0; i < n; i++) {
    std::string x;
    if (!(in >> x) || x.size() != 8 || x.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      *why = std::string("'") + tag + "': word " + std::to_string(i) + " missing or not 8 hex digits";
      return false;
    }
    w[i] = static_cast<uint32_t>(std::strtoul(x.c_str(), nullptr, 16));
  }
  std::string extra;
  if (in >> extra) {
    *why = std::string("'") + tag + "': more than " + std::to_string(n) + " words";
    return false;
  }
  return true;
}

bool read_results(const char *path, Results *r, std::string *why) {
  std::ifstream f(path);
  if (!f) {
    *why = std::string("cannot open ") + path;
    return false;
  }
  std::string line;
  auto next = [&](const char *what) {
    if (std::getline(f, line)) return true;
    *why = std::string("file ends before ") + what;
    return false;
  };
  if (!next("the header")) return false;
  if (line != mma_check::kMagic) {
    *why = "not a cnn4j-mma-check 1 file (first line '" + line.substr(0, 40) + "')";
    return false;
  }
  if (!next("the device line")) return false;
  if (line.rfind("device ", 0) != 0) {
    *why = "no device line";
    return false;
  }
  r->device = line.substr(7);
  if (!next("the cvt count")) return false;
  size_t n = 0;
  if (std::sscanf(line.c_str(), "cvt %zu", &n) != 1) {
    *why = "no cvt count";
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (!next("the cvt values")) return false;
    unsigned in = 0, out = 0;
    char extra;
    if (std::sscanf(line.c_str(), "%8x %8x %c", &in, &out, &extra) != 2) {
      *why = "cvt line " + std::to_string(i) + ": '" + line + "'";
      return false;
    }
    r->cvt_in.push_back(in);
    r->cvt_out.push_back(out);
  }
  if (!next("the mma count")) return false;
  size_t sets = 0;
  if (std::sscanf(line.c_str(), "mma %zu", &sets) != 1) {
    *why = "no mma count";
    return false;
  }
  for (size_t s = 0; s < sets; s++) {
    Set st;
    if (!next("a set")) return false;
    std::istringstream h(line);
    std::string tag;
    if (!(h >> tag >> st.name >> st.flags) || tag != "set") {
      *why = "set " + std::to_string(s) + ": '" + line.substr(0, 40) + "'";
      return false;
    }
    const char *tags[] = {"a", "b", "c", "d"};
    uint32_t *dst[] = {st.a, st.b, st.c, st.d};
    const int len[] = {128, 64, 128, 128};
    for (int m = 0; m < 4; m++) {
      if (!next("a matrix")) return false;
      if (!parse_words(line, tags[m], dst[m], len[m], why)) {
        *why = "set " + st.name + ": " + *why;
        return false;
      }
    }
    r->sets.push_back(st);
  }
  if (!next("'end'")) return false;
  if (line != "end") {
    *why = "no 'end' line";
    return false;
  }
  return true;
}

// ---- arithmetic ------------------------------------------------------------------------------
bool is_nan(uint32_t u) { return (u & 0x7F800000u) == 0x7F800000u && (u & 0x7FFFFFu); }

// Distance in representable floats (+0 and -0 the same point); two NaNs are 0 apart, a NaN
// and a number infinitely far.
uint64_t ulp_distance(uint32_t x, uint32_t y) {
  if (is_nan(x) || is_nan(y)) return is_nan(x) && is_nan(y) ? 0 : UINT64_MAX;
  auto ordered = [](uint32_t u) { return (u & 0x80000000u) ? -int64_t(u & 0x7FFFFFFFu) : int64_t(u); };
  int64_t d = ordered(x) - ordered(y);
  return static_cast<uint64_t>(d < 0 ? -d : d);
}

// The spacing of floats at |x| (the smallest subnormal spacing below the normal range).
double ulp_of(double x) {
  x = std::fabs(x);
  if (!(x >= 0x1p-126)) return 0x1p-149;
  if (std::isinf(x)) return INFINITY;
  int e;
  std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0, e - 24);
}

float tf32_cut(uint32_t u) { return as_float(u & 0xFFFFE000u); }

void to_floats(const uint32_t *w, float *f, int n) {
  for (int i = 0; i < n; i++) f[i] = as_float(w[i]);
}

// D by the simulator (the reference: operands cut to TF32, exact sum, one rounding).
void reference(const Set &s, uint32_t *d) {
  float a[128], b[64], c[128], out[128];
  to_floats(s.a, a, 128);
  to_floats(s.b, b, 64);
  to_floats(s.c, c, 128);
  cnn4j_sim::mma_m16n8k8_tf32_reference(a, b, c, out);
  for (int i = 0; i < 128; i++) d[i] = as_bits(out[i]);
}

// The two other readings of unrounded operands: rounded first (cvt.rna), or used in full.
void reference_rounded(const Set &s, uint32_t *d) {
  Set t = s;
  for (auto &x : t.a) x = cnn4j_sim::cvt_rna_tf32(as_float(x));
  for (auto &x : t.b) x = cnn4j_sim::cvt_rna_tf32(as_float(x));
  reference(t, d);
}
void reference_full(const Set &s, uint32_t *d) {
  for (int r = 0; r < 16; r++)
    for (int n = 0; n < 8; n++) {
      double sum = as_float(s.c[r * 8 + n]);
      for (int k = 0; k < 8; k++) sum += double(as_float(s.a[r * 8 + k])) * double(as_float(s.b[k * 8 + n]));
      d[r * 8 + n] = as_bits(static_cast<float>(sum));
    }
}

// The largest term of each dot product: |c| or the largest |a_k * b_k| (TF32 operands).
void largest_terms(const Set &s, double *m) {
  for (int r = 0; r < 16; r++)
    for (int n = 0; n < 8; n++) {
      double big = std::fabs(double(as_float(s.c[r * 8 + n])));
      for (int k = 0; k < 8; k++) big = std::fmax(big, std::fabs(double(tf32_cut(s.a[r * 8 + k])) * tf32_cut(s.b[k * 8 + n])));
      m[r * 8 + n] = big;
    }
}

constexpr double kTermUlps = 32;  // see the top of the file
constexpr uint64_t kResultUlps = 2;

struct Compare {
  int identical = 0, within = 0;
  int hist[4] = {};  // 0, 1, 2, more ulps
  uint64_t max_ulp = 0;
  double max_rel = 0, max_term_ulps = 0;
  std::vector<int> bad;  // elements outside the bound
};

Compare compare(const Set &s, const uint32_t *hw, const uint32_t *ref, const double *big) {
  Compare c;
  const bool exact = s.flags & mma_check::kExact;
  for (int i = 0; i < 128; i++) {
    uint64_t u = ulp_distance(hw[i], ref[i]);
    c.identical += hw[i] == ref[i];
    c.hist[u > 2 ? 3 : u]++;
    if (u > c.max_ulp) c.max_ulp = u;
    double h = as_float(hw[i]), f = as_float(ref[i]);
    double diff = u == 0 ? 0 : std::fabs(h - f);
    if (std::isnan(diff)) diff = INFINITY;
    double rel = diff == 0 ? 0 : (f == 0 ? INFINITY : diff / std::fabs(f));
    if (rel > c.max_rel) c.max_rel = rel;
    double tu = diff == 0 ? 0 : diff / ulp_of(big[i]);
    if (std::isnan(tu)) tu = INFINITY;
    if (tu > c.max_term_ulps) c.max_term_ulps = tu;
    bool ok = exact ? u == 0
                    : (u <= kResultUlps ||
                       (std::isfinite(f) && std::isfinite(h) && diff <= kTermUlps * ulp_of(big[i])));
    c.within += ok;
    if (!ok) c.bad.push_back(i);
  }
  return c;
}

std::string ulps(uint64_t u) { return u == UINT64_MAX ? std::string("inf") : std::to_string(u); }

// ---- the report ------------------------------------------------------------------------------
int report(const Results &r) {
  std::printf("cnn4j mma/cvt check\nresults of: %s\nreference:  the simulated device (native/cuda/sim)\n",
              r.device.c_str());
  bool pass = true;

  // inputs: the same as this build generates? (a note: the comparison uses the file's)
  {
    const std::vector<uint32_t> cin = mma_check::cvt_inputs();
    const std::vector<mma_check::MmaSet> sets = mma_check::mma_sets();
    bool same = cin == r.cvt_in && sets.size() == r.sets.size();
    for (size_t s = 0; same && s < sets.size(); s++)
      same = sets[s].name == r.sets[s].name && sets[s].flags == r.sets[s].flags &&
             !std::memcmp(sets[s].a, r.sets[s].a, sizeof sets[s].a) &&
             !std::memcmp(sets[s].b, r.sets[s].b, sizeof sets[s].b) &&
             !std::memcmp(sets[s].c, r.sets[s].c, sizeof sets[s].c);
    std::printf("inputs: %s\n", same ? "those of mma_check_inputs.h" : "NOT those this build generates (compared as found)");
  }

  // fragment tables
  {
    int bad = 0;
    for (int lane = 0; lane < 32; lane++)
      for (int i = 0; i < 4; i++) {
        int r1, c1, r2, c2;
        mma_check::a_coord(lane, i, &r1, &c1);
        cnn4j_sim::mma_m16n8k8_tf32_a_coord(lane, i, &r2, &c2);
        bad += r1 != r2 || c1 != c2;
        mma_check::c_coord(lane, i, &r1, &c1);
        cnn4j_sim::mma_m16n8k8_tf32_c_coord(lane, i, &r2, &c2);
        bad += r1 != r2 || c1 != c2;
        if (i < 2) {
          mma_check::b_coord(lane, i, &r1, &c1);
          cnn4j_sim::mma_m16n8k8_tf32_b_coord(lane, i, &r2, &c2);
          bad += r1 != r2 || c1 != c2;
        }
      }
    std::printf("fragment tables: the simulator's and the PTX ISA's (mma_check_inputs.h) %s\n",
                bad ? "DIFFER" : "agree");
    if (bad) pass = false;
  }

  // cvt
  const size_t n = r.cvt_in.size();
  size_t mism = 0, nan_payload = 0, low_bits = 0;
  std::vector<size_t> first;
  for (size_t i = 0; i < n; i++) {
    uint32_t sim = cnn4j_sim::cvt_rna_tf32(as_float(r.cvt_in[i])), hw = r.cvt_out[i];
    if (sim == hw) continue;
    mism++;
    if (is_nan(sim) && is_nan(hw)) nan_payload++;
    else if ((sim & 0xFFFFE000u) == (hw & 0xFFFFE000u)) low_bits++;
    if (first.size() < 12) first.push_back(i);
  }
  std::printf("\ncvt.rna.tf32.f32: %zu values, %zu differ from the simulator", n, mism);
  if (mism) std::printf(" (%zu NaN payload only, %zu in the low 13 bits only, %zu in value)", nan_payload, low_bits,
                        mism - nan_payload - low_bits);
  std::printf("\n");
  for (size_t i : first) {
    uint32_t in = r.cvt_in[i], sim = cnn4j_sim::cvt_rna_tf32(as_float(in));
    std::printf("  in %08x (%.9g): hardware %08x (%.9g), simulator %08x (%.9g)\n", in, as_float(in), r.cvt_out[i],
                as_float(r.cvt_out[i]), sim, as_float(sim));
  }
  if (mism) pass = false;

  // mma
  std::printf("\nmma.sync.m16n8k8 (TF32): %zu sets of 128 results; bound: integer sets exact, others within %" PRIu64
              " ulps or %g ulps of the largest term\n",
              r.sets.size(), kResultUlps, kTermUlps);
  std::printf("  %-20s %9s %12s %-22s %8s %10s %11s  %s\n", "set", "identical", "within", "ulps 0/1/2/more", "max ulp",
              "max rel", "max tu", "");
  int sets_ok = 0;
  int unrounded_sets = 0, unrounded_cut = 0, unrounded_decided = 0;
  for (const Set &s : r.sets) {
    uint32_t ref[128];
    double big[128];
    reference(s, ref);
    largest_terms(s, big);
    Compare c = compare(s, s.d, ref, big);
    bool ok = c.bad.empty();
    sets_ok += ok;
    if (!ok) pass = false;
    char hist[64];
    std::snprintf(hist, sizeof hist, "%d/%d/%d/%d", c.hist[0], c.hist[1], c.hist[2], c.hist[3]);
    std::printf("  %-20s %5d/128 %8d/128 %-22s %8s %10.3g %11.3g  %s%s\n", s.name.c_str(), c.identical, c.within, hist,
                ulps(c.max_ulp).c_str(), c.max_rel, c.max_term_ulps, ok ? "ok" : "FAIL",
                (s.flags & mma_check::kExact) ? " (exact)" : "");
    for (size_t j = 0; j < c.bad.size() && j < 4; j++) {
      int i = c.bad[j];
      std::printf("    D[%d][%d]: hardware %08x (%.9g), simulator %08x (%.9g), %s ulps, largest term %.6g\n", i / 8,
                  i % 8, s.d[i], as_float(s.d[i]), ref[i], as_float(ref[i]), ulps(ulp_distance(s.d[i], ref[i])).c_str(),
                  big[i]);
    }
    if (s.flags & mma_check::kUnrounded) {
      // which reading of the low 13 bits the hardware follows
      uint32_t rnd[128], full[128];
      reference_rounded(s, rnd);
      reference_full(s, full);
      Compare cr = compare(s, s.d, rnd, big), cf = compare(s, s.d, full, big);
      std::printf("    low 13 bits: cut (simulator) %d identical, max %.3g tu; rounded first %d identical, max %.3g tu; "
                  "all used %d identical, max %.3g tu\n",
                  c.identical, c.max_term_ulps, cr.identical, cr.max_term_ulps, cf.identical, cf.max_term_ulps);
      unrounded_sets++;
      bool cut = c.bad.empty(), others = cr.bad.empty() || cf.bad.empty();
      if (cut != others) unrounded_decided++;
      if (cut && !others) unrounded_cut++;
    }
  }
  std::printf("  (within: inside the bound; tu: |hardware - simulator| in ulps of the largest term)\n");
  const char *low13 = unrounded_sets == 0                  ? "not tested"
                      : unrounded_decided < unrounded_sets ? "not decided (see the unrounded sets)"
                      : unrounded_cut == unrounded_sets    ? "yes (as the simulator assumes)"
                                                           : "NO (the simulator cuts them: fix sim.cpp's tf32_value)";
  std::printf("\nhardware ignores the low 13 bits of unrounded operands: %s\n", low13);
  std::printf("mma_check: %s: cvt %zu/%zu identical, mma %d/%zu sets within the bound, low 13 bits ignored: %s\n",
              pass ? "PASS" : "FAIL", n - mism, n, sets_ok, r.sets.size(),
              unrounded_sets == 0 ? "not tested" : unrounded_decided < unrounded_sets ? "undecided"
                                                 : unrounded_cut == unrounded_sets      ? "yes"
                                                                                        : "no");
  return pass ? 0 : 1;
}

// ---- the dry run -----------------------------------------------------------------------------
bool self_test(const char *path) {
  const std::vector<uint32_t> cin = mma_check::cvt_inputs();
  std::vector<uint32_t> cres(cin.size());
  for (size_t i = 0; i < cin.size(); i++) cres[i] = cnn4j_sim::cvt_rna_tf32(as_float(cin[i]));
  const std::vector<mma_check::MmaSet> sets = mma_check::mma_sets();
  const int S = static_cast<int>(sets.size());
  std::vector<uint32_t> D(S * 128, 0xDEADBEEFu);
  // mma_check.cu's mma_kernel, as a simulated grid: one warp per set
  cnn4j_sim::launch("mma_check", dim3(S), dim3(32), 0, nullptr, [&sets, &D]() {
    const int set = blockIdx.x, lane = threadIdx.x;
    const mma_check::MmaSet &m = sets[set];
    uint32_t a[4], b[2];
    float d[4];
    int row, col;
    for (int i = 0; i < 4; i++) {
      mma_check::a_coord(lane, i, &row, &col);
      a[i] = m.a[row * 8 + col];
      mma_check::c_coord(lane, i, &row, &col);
      d[i] = as_float(m.c[row * 8 + col]);
    }
    for (int i = 0; i < 2; i++) {
      mma_check::b_coord(lane, i, &row, &col);
      b[i] = m.b[row * 8 + col];
    }
    cnn4j_sim::mma_m16n8k8_tf32(d, a, b);
    for (int i = 0; i < 4; i++) {
      mma_check::c_coord(lane, i, &row, &col);
      D[set * 128 + row * 8 + col] = as_bits(d[i]);
    }
  });
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess) {
    std::fprintf(stderr, "mma_check_host: the simulated launch failed: %s\n", cudaGetErrorString(e));
    return false;
  }
  std::string device = "cnn4j simulated device (native/cuda/sim), seed " + std::to_string(cnn4j_sim::seed());
  if (!mma_check::write_results(path, device, cin, cres, sets, D)) {
    std::perror(path);
    return false;
  }
  std::printf("self-test: the simulator's own results written to %s\n\n", path);
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  const char *path = nullptr;
  bool self = false;
  if (argc == 2 && argv[1][0] != '-') {
    path = argv[1];
  } else if (argc == 3 && std::strcmp(argv[1], "--self-test") == 0) {
    path = argv[2];
    self = true;
  } else {
    std::fprintf(stderr, "usage: mma_check_host FILE | mma_check_host --self-test OUT_FILE\n");
    return 2;
  }
  if (self && !self_test(path)) return 2;
  Results r;
  std::string why;
  if (!read_results(path, &r, &why)) {
    std::fprintf(stderr, "mma_check_host: %s: %s\n", path, why.c_str());
    return 2;
  }
  return report(r);
}
