// One Adam step over all of an optimizer's parameters in one kernel (docs/native.md#adam), in
// place, with the float32 arithmetic of mindspore.mint.optim.Adam (PyTorch's Adam, without
// weight decay, amsgrad or maximize), operation for operation, so its results are the same bits:
//   m = fma(1 - beta1, g, m * beta1)      (MindSpore's AddExt, mint.add with alpha, rounds once)
//   v = v * beta2 + (g * g) * (1 - beta2)
//   p = p + neg_step_size * (m / (sqrt(v) / sqrt_bias_correction2 + eps))
// Built with -ffp-contract=off: everything else rounds after every operation, as MindSpore's does.
//
//   ms_gan_adam (hyper, step, p_0..p_{n-1}, g_0.., m_0.., v_0..) -> done
// hyper: float32 [beta1, 1 - beta1, beta2, 1 - beta2, eps], each rounded to float32 from the
// Python float as MindSpore rounds it; step: float32 [neg_step_size, sqrt_bias_correction2],
// computed by the graph as mint.optim.Adam computes them. p, m and v are written in place;
// done (float32, 1 element) is 0.
#include <cmath>

#include "native.h"

namespace ms_gan {
namespace {

struct Hyper {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, neg_step_size, sqrt_bias_correction2;
};

#define MS_GAN_ADAM_LOOP                                                      \
    for (int64_t i = begin; i < end; ++i) {                                   \
        float mi = std::fma(h.one_minus_beta1, g[i], m[i] * h.beta1);         \
        float vi = v[i] * h.beta2 + (g[i] * g[i]) * h.one_minus_beta2;        \
        float denom = std::sqrt(vi) / h.sqrt_bias_correction2 + h.eps;        \
        p[i] = p[i] + h.neg_step_size * (mi / denom);                         \
        m[i] = mi;                                                            \
        v[i] = vi;                                                            \
    }

// The same loop twice: std::fma is exact either way; with the CPU's FMA instructions it is
// one instruction and the loop vectorises, without them a call into libm.
__attribute__((target("avx2,fma"))) void update_fma(const Hyper &h, float *p, const float *g, float *m, float *v,
                                                    int64_t begin, int64_t end) {
    MS_GAN_ADAM_LOOP
}

void update_plain(const Hyper &h, float *p, const float *g, float *m, float *v, int64_t begin, int64_t end) {
    MS_GAN_ADAM_LOOP
}

void update(const Hyper &h, float *p, const float *g, float *m, float *v, int64_t begin, int64_t end) {
    (has_avx2_fma() ? update_fma : update_plain)(h, p, g, m, v, begin, end);
}

int adam(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    const int tensors = nparam - 3;   // hyper, step, the 4 n tensors, done
    if (tensors <= 0 || tensors % 4 != 0 || elements(ndims, shapes, 0) != 5 || elements(ndims, shapes, 1) != 2) {
        std::fprintf(stderr, "ms_gan native: adam: unexpected arguments\n");
        return 1;
    }
    const int n = tensors / 4;
    for (int i = 0; i < nparam; ++i)
        if (!is_float32(dtypes, i)) {
            std::fprintf(stderr, "ms_gan native: adam: argument %d is %s, not float32\n", i, dtypes[i]);
            return 1;
        }
    const float *hyper = static_cast<const float *>(params[0]), *step = static_cast<const float *>(params[1]);
    const Hyper h{hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], step[0], step[1]};
    // every parameter's elements as one range, split over the threads
    std::vector<int64_t> offsets(n + 1, 0);
    for (int j = 0; j < n; ++j) {
        int64_t size = elements(ndims, shapes, 2 + j);
        for (int k = 1; k < 4; ++k)
            if (elements(ndims, shapes, 2 + k * n + j) != size) {
                std::fprintf(stderr, "ms_gan native: adam: parameter %d and its state differ in size\n", j);
                return 1;
            }
        offsets[j + 1] = offsets[j] + size;
    }
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(offsets[n], 1 << 14, [&](int64_t begin, int64_t end) {
        for (int j = 0; j < n; ++j) {
            int64_t from = std::max(begin, offsets[j]), to = std::min(end, offsets[j + 1]);
            if (from >= to) continue;
            auto at = [&](int k) { return static_cast<float *>(params[2 + k * n + j]); };
            update(h, at(0), at(1), at(2), at(3), from - offsets[j], to - offsets[j]);
        }
    });
    *static_cast<float *>(params[nparam - 1]) = 0.0f;
    return 0;
}

}  // namespace
}  // namespace ms_gan

MS_GAN_ENTRY(ms_gan_adam) { return ms_gan::adam(nparam, params, ndims, shapes, dtypes); }
