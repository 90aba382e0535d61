// Native memory-bound layers (docs/native.md#upsampling-and-leakyrelu): one pass over memory
// each, on our thread pool, where MindSpore's CPU runs one or several kernels of its own.
//   ms_gan_upsample2x          (x (N, C, H, W))          -> y (N, C, 2H, 2W), nearest: y[2i+a, 2j+b] = x[i, j]
//   ms_gan_upsample2x_backward (dy (N, C, 2H, 2W))       -> dx (N, C, H, W), the sum of each 2x2 block
//   ms_gan_tanh                (x)                       -> y = tanh(x), to float32 rounding
//   ms_gan_tanh_backward       (dy, y)                   -> dx = dy * (1 - y * y), PyTorch's bits
//   ms_gan_leaky_relu          (x, alpha (1))            -> y = x where x > 0, else alpha * x
//   ms_gan_leaky_relu_backward (dy, x, alpha (1))        -> dx = dy where x > 0, else alpha * dy
//   ms_gan_channel_scale       (x (N, C, H, W), scale (N or 1, C, 1, 1)) -> y = x * scale[n, c]
//   ms_gan_channel_scale_keep  (x, scale)                -> y, scale[n, c] as (N, C, 1, 1): what the
//                                                           backward multiplies by, as it was at the forward
// All float32. Every output element is a copy or one float32 product, the same bits as MindSpore's
// ResizeNearestNeighborV2, its leaky_relu (maximum(alpha x, x)), the mask arithmetic of
// ms_gan.models.layers.LeakyReLUKernel's backward (1 * dy or alpha * dy) and its broadcasting
// Mul (dropout's mask, forward and backward); the upsampling's backward sums each block in the
// order PyTorch's CPU kernel does (row by row, left to right), its bits. tanh is computed in
// double and rounded once (within float32's rounding of the true value, as PyTorch's; MindSpore's
// own CPU tanh is off by up to 1e-4), its backward with PyTorch's float32 operations (its bits).
#include <cmath>

#include "native.h"

namespace ms_gan {
namespace {

// 1 / k! for k = 0..14
constexpr double kInverseFactorial[15] = {
    1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
    1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0, 1.0 / 87178291200.0};

// input row `in` (w values) -> output rows 2r and 2r + 1 of its image plane, `out` (4 w values)
void upsample_row(const float *__restrict in, float *__restrict out, int64_t w) {
    for (int64_t j = 0; j < w; ++j) out[2 * j] = out[2 * j + 1] = in[j];
    std::memcpy(out + 2 * w, out, 2 * w * sizeof(float));
}

// output rows 2r and 2r + 1 of an image plane (4 w values) -> input row r (w values)
void upsample_backward_row(const float *__restrict dy, float *__restrict dx, int64_t w) {
    const float *top = dy, *bottom = dy + 2 * w;
    for (int64_t j = 0; j < w; ++j) dx[j] = ((top[2 * j] + top[2 * j + 1]) + bottom[2 * j]) + bottom[2 * j + 1];
}

// params: the small tensor (N, C, H, W) and the large one (N, C, 2H, 2W): x, y forward; dy, dx backward.
int upsample2x(bool backward, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    const int small = backward ? 1 : 0, large = 1 - small;
    bool ok = nparam == 2 && ndims[0] == 4 && ndims[1] == 4 && is_float32(dtypes, 0) && is_float32(dtypes, 1) &&
              shapes[large][0] == shapes[small][0] && shapes[large][1] == shapes[small][1] &&
              shapes[large][2] == 2 * shapes[small][2] && shapes[large][3] == 2 * shapes[small][3];
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: upsample2x: unexpected shapes or dtypes\n");
        return 1;
    }
    float *x = static_cast<float *>(params[small]), *y = static_cast<float *>(params[large]);
    const int64_t rows = shapes[small][0] * shapes[small][1] * shapes[small][2], w = shapes[small][3];
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(rows, 16, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            if (backward)
                upsample_backward_row(y + r * 4 * w, x + r * w, w);
            else
                upsample_row(x + r * w, y + r * 4 * w, w);
        }
    });
    return 0;
}

// exp(u) for u in [-20, 0], in double to about 1e-15 relative: exp(u / 32) by its Taylor series
// to the 15th power (|u / 32| <= 0.625: the rest is under 3e-17), squared five times. Only
// arithmetic, so the loop that calls it vectorizes.
inline double exp_nonpositive(double u) {
    const double v = u * (1.0 / 32);
    double p = 1.0 / 1307674368000.0;                          // 1 / 15!
    for (int k = 14; k >= 0; --k) p = p * v + kInverseFactorial[k];
    p *= p, p *= p, p *= p, p *= p, p *= p;
    return p;
}

// tanh(x) = sign(x) (1 - t) / (1 + t), t = exp(-2|x|), in double: the quotient is within 2e-11
// relative of tanh for |x| >= 2^-12 (1 - t loses at most 11 bits), so the float32 result is
// tanh rounded (a double rounding can differ in the last bit only at a midpoint within that).
// Below 2^-12, tanh(x) rounds to x; from |x| = 10, to +-1 (t is clamped there). NaN stays NaN.
#define MS_GAN_TANH_LOOP                                                                                   \
    for (int64_t i = 0; i < n; ++i) {                                                                      \
        const double a = std::fabs(static_cast<double>(x[i]));                                             \
        const double t = exp_nonpositive(-2.0 * (a < 10.0 ? a : 10.0));                                    \
        const float r = static_cast<float>(std::copysign((1.0 - t) / (1.0 + t), static_cast<double>(x[i]))); \
        y[i] = a < 0x1p-12 || a != a ? x[i] : r;                                                           \
    }

// dx = dy * (1 - y * y) as PyTorch's tanh_backward computes it: 1 - y * y fused (one rounding),
// then the product.
#define MS_GAN_TANH_BACKWARD_LOOP \
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * std::fma(-y[i], y[i], 1.0f);

// Each loop twice, as Adam's: with AVX2 and FMA 4 doubles (8 floats) a vector and fma one
// instruction, without them 2 doubles and fma a call into libm; every operation is rounded
// alike in both (no contraction: -ffp-contract=off), so both give the same bits.
__attribute__((target("avx2,fma"))) void tanh_fma(const float *__restrict x, float *__restrict y, int64_t n) {
    MS_GAN_TANH_LOOP
}
void tanh_plain(const float *__restrict x, float *__restrict y, int64_t n) { MS_GAN_TANH_LOOP }

__attribute__((target("avx2,fma"))) void tanh_backward_fma(const float *__restrict dy, const float *__restrict y,
                                                           float *__restrict dx, int64_t n) {
    MS_GAN_TANH_BACKWARD_LOOP
}
void tanh_backward_plain(const float *__restrict dy, const float *__restrict y, float *__restrict dx, int64_t n) {
    MS_GAN_TANH_BACKWARD_LOOP
}

void tanh_run(const float *x, float *y, int64_t n) { (has_avx2_fma() ? tanh_fma : tanh_plain)(x, y, n); }

void tanh_backward_run(const float *dy, const float *y, float *dx, int64_t n) {
    (has_avx2_fma() ? tanh_backward_fma : tanh_backward_plain)(dy, y, dx, n);
}

// params: the inputs, then the output, all float32 of the same element count
bool same_float32_sizes(int nparam, int *ndims, int64_t **shapes, const char **dtypes) {
    bool ok = true;
    for (int i = 0; i < nparam && ok; ++i)
        ok = is_float32(dtypes, i) && elements(ndims, shapes, i) == elements(ndims, shapes, 0);
    return ok;
}

int tanh(bool backward, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    if (nparam != (backward ? 3 : 2) || !same_float32_sizes(nparam, ndims, shapes, dtypes)) {
        std::fprintf(stderr, "ms_gan native: tanh: unexpected shapes or dtypes\n");
        return 1;
    }
    const int64_t n = elements(ndims, shapes, 0);
    const float *in = static_cast<const float *>(params[0]);
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(n, 1 << 13, [&](int64_t begin, int64_t end) {
        if (backward)
            tanh_backward_run(in + begin, static_cast<const float *>(params[1]) + begin,
                              static_cast<float *>(params[2]) + begin, end - begin);
        else
            tanh_run(in + begin, static_cast<float *>(params[1]) + begin, end - begin);
    });
    return 0;
}

bool alpha_and_same_shapes(int nparam, int *ndims, int64_t **shapes, const char **dtypes) {
    const int alpha = nparam - 2;
    bool ok = alpha >= 1 && elements(ndims, shapes, alpha) == 1 && is_float32(dtypes, alpha);
    for (int i = 0; i < nparam; ++i) ok = ok && is_float32(dtypes, i);
    for (int i = 1; i < nparam && ok; ++i)
        if (i != alpha) ok = elements(ndims, shapes, i) == elements(ndims, shapes, 0);
    return ok;
}

// out[i] = value[i] where x[i] > 0, else alpha * value[i], for i in [0, n); a loop the compiler
// vectorizes (restrict, and -fno-trapping-math to compute both sides and select): a branch per
// element of random sign ran 22x slower
void leaky_relu_run(const float *__restrict value, const float *__restrict x, float alpha, float *__restrict out,
                    int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.0f ? value[i] : alpha * value[i];
}

// the forward (value = x) and backward (value = dy)
int leaky_relu(const float *value, const float *x, float alpha, float *out, int64_t n) {
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(n, 1 << 14, [&](int64_t begin, int64_t end) {
        leaky_relu_run(value + begin, x + begin, alpha, out + begin, end - begin);
    });
    return 0;
}

// y = x * scale over one image plane of n values
void scale_run(const float *__restrict x, float scale, float *__restrict y, int64_t n) {
    for (int64_t k = 0; k < n; ++k) y[k] = x[k] * scale;
}

// params: x, scale, y, and with `keep` scale as it is now, one value per image and channel (its
// shape follows x's: PyNative may infer outputs from the shape a Parameter had at an earlier call)
int channel_scale(bool keep, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    bool ok = nparam == (keep ? 4 : 3) && ndims[0] == 4 && ndims[1] == 4 && ndims[2] == 4;
    for (int i = 0; i < nparam && ok; ++i) ok = is_float32(dtypes, i);
    ok = ok && (shapes[1][0] == shapes[0][0] || shapes[1][0] == 1) && shapes[1][1] == shapes[0][1] &&
         shapes[1][2] == 1 && shapes[1][3] == 1;
    for (int d = 0; d < 4 && ok; ++d) ok = shapes[2][d] == shapes[0][d];
    ok = ok && (!keep || elements(ndims, shapes, 3) == shapes[0][0] * shapes[0][1]);
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: channel_scale: unexpected shapes or dtypes\n");
        return 1;
    }
    const float *x = static_cast<const float *>(params[0]), *scale = static_cast<const float *>(params[1]);
    float *y = static_cast<float *>(params[2]);
    const int64_t n = shapes[0][0], c = shapes[0][1], plane = shapes[0][2] * shapes[0][3];
    const bool per_image = shapes[1][0] == n;
    if (keep) {   // one value per image and channel, whatever scale's first dimension
        float *kept = static_cast<float *>(params[3]);
        for (int64_t i = 0; i < n * c; ++i) kept[i] = scale[per_image ? i : i % c];
    }
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(n * c, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, plane)), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
            scale_run(x + i * plane, scale[per_image ? i : i % c], y + i * plane, plane);
    });
    return 0;
}

}  // namespace
}  // namespace ms_gan

MS_GAN_ENTRY(ms_gan_upsample2x) { return ms_gan::upsample2x(false, nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_upsample2x_backward) { return ms_gan::upsample2x(true, nparam, params, ndims, shapes, dtypes); }

MS_GAN_ENTRY(ms_gan_tanh) { return ms_gan::tanh(false, nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_tanh_backward) { return ms_gan::tanh(true, nparam, params, ndims, shapes, dtypes); }

MS_GAN_ENTRY(ms_gan_leaky_relu) {
    if (nparam != 3 || !ms_gan::alpha_and_same_shapes(nparam, ndims, shapes, dtypes)) {
        std::fprintf(stderr, "ms_gan native: leaky_relu: unexpected shapes or dtypes\n");
        return 1;
    }
    const float *x = static_cast<const float *>(params[0]);
    return ms_gan::leaky_relu(x, x, *static_cast<const float *>(params[1]), static_cast<float *>(params[2]),
                              ms_gan::elements(ndims, shapes, 0));
}

MS_GAN_ENTRY(ms_gan_leaky_relu_backward) {
    if (nparam != 4 || !ms_gan::alpha_and_same_shapes(nparam, ndims, shapes, dtypes)) {
        std::fprintf(stderr, "ms_gan native: leaky_relu backward: unexpected shapes or dtypes\n");
        return 1;
    }
    return ms_gan::leaky_relu(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                              *static_cast<const float *>(params[2]), static_cast<float *>(params[3]),
                              ms_gan::elements(ndims, shapes, 0));
}

// Two names, one per number of outputs: PyNative caches an op's output structure by its function.
MS_GAN_ENTRY(ms_gan_channel_scale) { return ms_gan::channel_scale(false, nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_channel_scale_keep) { return ms_gan::channel_scale(true, nparam, params, ndims, shapes, dtypes); }
