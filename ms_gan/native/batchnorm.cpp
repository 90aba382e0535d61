// Native BatchNorm in training mode (docs/native.md#batchnorm), forward and backward, over
// (N, C) or (N, C, H, W) float32 tensors: per channel, statistics over N and the spatial axes.
//   ms_gan_batchnorm_forward  (x, gamma, beta, eps)                -> y, mean, invstd, unbiased variance
//   ms_gan_batchnorm_backward (dy, x, gamma, mean, invstd)          -> dx, dgamma, dbeta
//   ms_gan_batchnorm_update   (moving_mean, moving_variance, mean, unbiased variance, momentum) -> done
//   ms_gan_batchnorm_inference (x, gamma, beta, moving_mean, moving_variance, eps)   -> y
// eps and momentum: float32, 1 element; momentum PyTorch's (MindSpore's op attribute). The update
// writes the running statistics in place, as MindSpore's BatchNorm and PyTorch update them,
//   moving_mean     = (1 - momentum) * moving_mean     + momentum * mean
//   moving_variance = (1 - momentum) * moving_variance + momentum * variance * M / (M - 1)
// (the unbiased variance; M = N * H * W), and y = (x - mean) * invstd * gamma + beta with
// invstd = 1 / sqrt(variance + eps), the biased variance. Eval mode (inference) is the same
// y with the running statistics for mean and variance. Sums are taken in double, in a fixed
// order per channel: the same bits on every run.
#include <cmath>

#include "native.h"

namespace ms_gan {
namespace {

struct Layout {
    int64_t n, c, s;   // batch, channels, spatial size (1 for (N, C))
};

// (N, C) or (N, C, H, W); batch statistics need more than one value per channel, eval mode one.
bool layout(int *ndims, int64_t **shapes, int i, Layout *l, int64_t least_per_channel = 2) {
    if (ndims[i] != 2 && ndims[i] != 4) return false;
    l->n = shapes[i][0], l->c = shapes[i][1], l->s = ndims[i] == 4 ? shapes[i][2] * shapes[i][3] : 1;
    return l->n * l->s >= least_per_channel;
}

bool channel_vector(int *ndims, int64_t **shapes, const char **dtypes, int i, int64_t c) {
    return ndims[i] == 1 && shapes[i][0] == c && is_float32(dtypes, i);
}

// fn(channel, index) for each element of the channels [begin, end), spatial runs innermost.
template <typename F>
void over_channels(const Layout &l, int64_t begin, int64_t end, F fn) {
    if (l.s == 1) {   // (N, C): rows outermost, so that memory is read in order
        for (int64_t r = 0; r < l.n; ++r)
            for (int64_t ch = begin; ch < end; ++ch) fn(ch, r * l.c + ch);
        return;
    }
    for (int64_t ch = begin; ch < end; ++ch)
        for (int64_t r = 0; r < l.n; ++r) {
            const int64_t base = (r * l.c + ch) * l.s;
            for (int64_t k = 0; k < l.s; ++k) fn(ch, base + k);
        }
}

// sums[ch - begin] = the sum of term(ch, i) over channel ch's elements i, in double, for the
// channels [begin, end). (N, C): one running sum per channel, rows in order. (N, C, H, W):
// eight partial sums per channel (element k of each spatial run into sum k % 8), added in a
// fixed order at the end, so that a long channel is not one chain of dependent additions.
// Either way the same bits on every run and for every split of the channels over threads.
template <typename F>
void channel_sums(const Layout &l, int64_t begin, int64_t end, double *sums, F term) {
    if (l.s == 1) {
        std::fill(sums, sums + (end - begin), 0.0);
        over_channels(l, begin, end, [&](int64_t ch, int64_t i) { sums[ch - begin] += term(ch, i); });
        return;
    }
    for (int64_t ch = begin; ch < end; ++ch) {
        double part[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (int64_t r = 0; r < l.n; ++r) {
            const int64_t base = (r * l.c + ch) * l.s;
            int64_t k = 0;
            for (; k + 8 <= l.s; k += 8)
                for (int j = 0; j < 8; ++j) part[j] += term(ch, base + k + j);
            for (; k < l.s; ++k) part[k & 7] += term(ch, base + k);
        }
        sums[ch - begin] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    }
}

// y[i] = (x[i] - mean[ch]) * scale[ch - begin] + beta[ch] over the channels [begin, end), in
// loops the compiler vectorizes: rows of (N, C), spatial runs of (N, C, H, W)
void rows(const float *__restrict x, const float *__restrict mean, const float *__restrict scale,
          const float *__restrict beta, float *__restrict y, int64_t n) {
    for (int64_t k = 0; k < n; ++k) y[k] = (x[k] - mean[k]) * scale[k] + beta[k];
}
void run(const float *__restrict x, float mean, float scale, float beta, float *__restrict y, int64_t n) {
    for (int64_t k = 0; k < n; ++k) y[k] = (x[k] - mean) * scale + beta;
}
void normalize(const Layout &l, int64_t begin, int64_t end, const float *x, const float *mean, const float *scale,
               const float *beta, float *y) {
    if (l.s == 1) {
        for (int64_t r = 0; r < l.n; ++r) {
            const int64_t base = r * l.c + begin;
            rows(x + base, mean + begin, scale, beta + begin, y + base, end - begin);
        }
        return;
    }
    for (int64_t ch = begin; ch < end; ++ch)
        for (int64_t r = 0; r < l.n; ++r) {
            const int64_t base = (r * l.c + ch) * l.s;
            run(x + base, mean[ch], scale[ch - begin], beta[ch], y + base, l.s);
        }
}

// dx[k] = a * (x[k] - mean) + b * dy[k] + c over one spatial run, vectorized
void gradient_run(const float *__restrict x, const float *__restrict dy, float mean, float a, float b, float c,
                  float *__restrict dx, int64_t n) {
    for (int64_t k = 0; k < n; ++k) dx[k] = a * (x[k] - mean) + b * dy[k] + c;
}

int forward(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    Layout l{0, 0, 0};
    bool ok = nparam == 8 && layout(ndims, shapes, 0, &l) && is_float32(dtypes, 0) && ndims[4] == ndims[0] &&
              is_float32(dtypes, 4) && is_float32(dtypes, 3) && elements(ndims, shapes, 3) == 1;
    for (int i : {1, 2, 5, 6, 7}) ok = ok && channel_vector(ndims, shapes, dtypes, i, l.c);
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: batchnorm forward: unexpected shapes or dtypes\n");
        return 1;
    }
    auto f = [&](int i) { return static_cast<float *>(params[i]); };
    const float *x = f(0), *gamma = f(1), *beta = f(2);
    float *y = f(4), *mean_out = f(5), *invstd_out = f(6), *unbiased_out = f(7);
    const double eps = *f(3), m = static_cast<double>(l.n * l.s);
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(l.c, 1, [&](int64_t begin, int64_t end) {
        std::vector<double> sum(end - begin), squares(end - begin);
        channel_sums(l, begin, end, sum.data(), [&](int64_t, int64_t i) { return static_cast<double>(x[i]); });
        for (auto &v : sum) v /= m;
        channel_sums(l, begin, end, squares.data(), [&](int64_t ch, int64_t i) {
            const double d = x[i] - sum[ch - begin];
            return d * d;
        });
        std::vector<float> scale(end - begin);
        for (int64_t ch = begin; ch < end; ++ch) {
            const double variance = squares[ch - begin] / m, invstd = 1.0 / std::sqrt(variance + eps);
            mean_out[ch] = static_cast<float>(sum[ch - begin]);
            invstd_out[ch] = static_cast<float>(invstd);
            unbiased_out[ch] = static_cast<float>(squares[ch - begin] / (m - 1.0));
            scale[ch - begin] = static_cast<float>(invstd * gamma[ch]);
        }
        normalize(l, begin, end, x, mean_out, scale.data(), beta, y);
    });
    return 0;
}

int inference(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    Layout l{0, 0, 0};
    bool ok = nparam == 7 && layout(ndims, shapes, 0, &l, 1) && is_float32(dtypes, 0) && ndims[6] == ndims[0] &&
              is_float32(dtypes, 6) && is_float32(dtypes, 5) && elements(ndims, shapes, 5) == 1;
    for (int i : {1, 2, 3, 4}) ok = ok && channel_vector(ndims, shapes, dtypes, i, l.c);
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: batchnorm inference: unexpected shapes or dtypes\n");
        return 1;
    }
    auto f = [&](int i) { return static_cast<float *>(params[i]); };
    const float *x = f(0), *gamma = f(1), *beta = f(2), *mean = f(3), *variance = f(4);
    float *y = f(6);
    const double eps = *f(5);
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    // chunks of at least 16384 elements: handing a smaller one to the pool's worker (and waking
    // it, where it already sleeps: docs/native.md#threads) costs more than it takes
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, l.n * l.s));
    parallel(l.c, grain, [&](int64_t begin, int64_t end) {
        std::vector<float> scale(end - begin);
        for (int64_t ch = begin; ch < end; ++ch)
            scale[ch - begin] =
                static_cast<float>(1.0 / std::sqrt(static_cast<double>(variance[ch]) + eps) * gamma[ch]);
        normalize(l, begin, end, x, mean, scale.data(), beta, y);
    });
    return 0;
}

int update(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    const int64_t c = nparam == 6 ? elements(ndims, shapes, 0) : 0;
    bool ok = c > 0 && elements(ndims, shapes, 4) == 1 && is_float32(dtypes, 4) && is_float32(dtypes, 5);
    for (int i : {0, 1, 2, 3}) ok = ok && channel_vector(ndims, shapes, dtypes, i, c);
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: batchnorm update: unexpected shapes or dtypes\n");
        return 1;
    }
    auto f = [&](int i) { return static_cast<float *>(params[i]); };
    float *moving_mean = f(0), *moving_variance = f(1);
    const float *mean = f(2), *unbiased = f(3), momentum = *f(4);
    for (int64_t ch = 0; ch < c; ++ch) {
        moving_mean[ch] = (1.0f - momentum) * moving_mean[ch] + momentum * mean[ch];
        moving_variance[ch] = (1.0f - momentum) * moving_variance[ch] + momentum * unbiased[ch];
    }
    *f(5) = 0.0f;
    return 0;
}

int backward(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    Layout l{0, 0, 0};
    bool ok = nparam == 8 && layout(ndims, shapes, 0, &l) && is_float32(dtypes, 0) && is_float32(dtypes, 1) &&
              is_float32(dtypes, 5) && elements(ndims, shapes, 1) == elements(ndims, shapes, 0) &&
              elements(ndims, shapes, 5) == elements(ndims, shapes, 0);
    for (int i : {2, 3, 4, 6, 7}) ok = ok && channel_vector(ndims, shapes, dtypes, i, l.c);
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: batchnorm backward: unexpected shapes or dtypes\n");
        return 1;
    }
    auto f = [&](int i) { return static_cast<float *>(params[i]); };
    const float *dy = f(0), *x = f(1), *gamma = f(2), *mean = f(3), *invstd = f(4);
    float *dx = f(5), *dgamma = f(6), *dbeta = f(7);
    const double m = static_cast<double>(l.n * l.s);
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    parallel(l.c, 1, [&](int64_t begin, int64_t end) {
        std::vector<double> sum_dy(end - begin), sum_dy_xhat(end - begin);
        channel_sums(l, begin, end, sum_dy.data(), [&](int64_t, int64_t i) { return static_cast<double>(dy[i]); });
        channel_sums(l, begin, end, sum_dy_xhat.data(), [&](int64_t ch, int64_t i) {
            return dy[i] * ((x[i] - static_cast<double>(mean[ch])) * invstd[ch]);
        });
        // dx = gamma invstd (dy - sum_dy / M - xhat sum_dy_xhat / M) = a (x - mean) + b dy + c per channel
        std::vector<float> a(end - begin), b(end - begin), c(end - begin);
        for (int64_t ch = begin; ch < end; ++ch) {
            const double g = static_cast<double>(gamma[ch]) * invstd[ch];
            dgamma[ch] = static_cast<float>(sum_dy_xhat[ch - begin]);
            dbeta[ch] = static_cast<float>(sum_dy[ch - begin]);
            a[ch - begin] = static_cast<float>(-g * sum_dy_xhat[ch - begin] / m * invstd[ch]);
            b[ch - begin] = static_cast<float>(g);
            c[ch - begin] = static_cast<float>(-g * sum_dy[ch - begin] / m);
        }
        if (l.s == 1) {
            over_channels(l, begin, end, [&](int64_t ch, int64_t i) {
                dx[i] = a[ch - begin] * (x[i] - mean[ch]) + b[ch - begin] * dy[i] + c[ch - begin];
            });
            return;
        }
        for (int64_t ch = begin; ch < end; ++ch)
            for (int64_t r = 0; r < l.n; ++r) {
                const int64_t base = (r * l.c + ch) * l.s;
                gradient_run(x + base, dy + base, mean[ch], a[ch - begin], b[ch - begin], c[ch - begin], dx + base,
                             l.s);
            }
    });
    return 0;
}

}  // namespace
}  // namespace ms_gan

MS_GAN_ENTRY(ms_gan_batchnorm_forward) { return ms_gan::forward(nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_batchnorm_backward) { return ms_gan::backward(nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_batchnorm_inference) { return ms_gan::inference(nparam, params, ndims, shapes, dtypes); }
MS_GAN_ENTRY(ms_gan_batchnorm_update) { return ms_gan::update(nparam, params, ndims, shapes, dtypes); }
