// Native Dense (fully connected) layers: y = x w^T + b and both gradients, as oneDNN's sgemm in
// blocks over our thread pool (docs/native.md#dense), each one kernel where MindSpore runs two or three
// (MatMul and BiasAdd; MatMul, MatMul and BiasAddGrad).
//   ms_gan_dense_forward               (x (N, I), w (O, I))         -> y (N, O)
//   ms_gan_dense_forward_bias          (x, w, b (O))                -> y
//   ms_gan_dense_backward_data         (dy (N, O), w (O, I))        -> dx (N, I)
//   ms_gan_dense_backward_weights      (x, dy)                      -> dw (O, I)
//   ms_gan_dense_backward_weights_bias (x, dy)                      -> dw, db (O)
// All float32, row-major. The bias is added after the product, and its gradient summed over the
// batch in order, as MindSpore's BiasAdd and BiasAddGrad do.
#include "native.h"

namespace ms_gan {
namespace {

enum Op { kForward, kForwardBias, kBackwardData, kBackwardWeights, kBackwardWeightsBias };

bool matrix(int *ndims, const char **dtypes, int i) { return ndims[i] == 2 && is_float32(dtypes, i); }

bool sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
           int64_t ldb, float *c, int64_t ldc) {
    int status = dnnl_threadpool_interop_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, nullptr);
    if (status) std::fprintf(stderr, "ms_gan native: sgemm failed (oneDNN status %d)\n", status);
    return status == 0;
}

// One product split over the pool's threads in blocks of 16 output columns (or rows), each
// block one single-threaded sgemm: block(begin, end) computes [begin, end) of `count`, the same
// split for the same shape every time. At batch 32, over the MLPs' shapes, the forward and the
// weight gradient took 0.69x and 0.72x the time of oneDNN's own threading of one sgemm, the
// input gradient the same time (docs/native.md#dense).
bool in_blocks(int64_t count, const std::function<bool(int64_t, int64_t)> &block) {
    std::atomic<bool> ok{true};
    parallel((count + 15) / 16, 2, [&](int64_t begin, int64_t end) {
        if (!block(begin * 16, std::min(count, end * 16))) ok = false;
    });
    return ok;
}

int dense(Op op, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    auto f = [&](int i) { return static_cast<float *>(params[i]); };
    bool ok = nparam >= 3 && matrix(ndims, dtypes, 0) && matrix(ndims, dtypes, 1);
    int64_t n = 0, in = 0, out = 0;
    if (ok && (op == kForward || op == kForwardBias)) {          // x (N, I), w (O, I)
        n = shapes[0][0], in = shapes[0][1], out = shapes[1][0];
        ok = shapes[1][1] == in && nparam == (op == kForwardBias ? 4 : 3) &&
             (op == kForward || (ndims[2] == 1 && shapes[2][0] == out && is_float32(dtypes, 2)));
    } else if (ok && op == kBackwardData) {                      // dy (N, O), w (O, I)
        n = shapes[0][0], out = shapes[0][1], in = shapes[1][1];
        ok = shapes[1][0] == out && nparam == 3;
    } else if (ok) {                                             // x (N, I), dy (N, O)
        n = shapes[0][0], in = shapes[0][1], out = shapes[1][1];
        ok = shapes[1][0] == n && nparam == (op == kBackwardWeightsBias ? 4 : 3);
    }
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: dense: unexpected shapes or dtypes\n");
        return 1;
    }
    std::lock_guard<std::mutex> lock(runtime().mutex);
    if (!ensure_engine()) return 1;
    switch (op) {
        case kForward:
        case kForwardBias: {
            const float *bias = op == kForwardBias ? f(2) : nullptr;
            float *y = f(nparam - 1);
            auto columns = [&](int64_t b, int64_t e) {
                if (!sgemm('N', 'T', n, e - b, in, f(0), in, f(1) + b * in, in, y + b, out)) return false;
                if (bias)
                    for (int64_t r = 0; r < n; ++r)
                        for (int64_t o = b; o < e; ++o) y[r * out + o] += bias[o];
                return true;
            };
            return in_blocks(out, columns) ? 0 : 1;
        }
        case kBackwardData: {
            auto columns = [&](int64_t b, int64_t e) {
                return sgemm('N', 'N', n, e - b, out, f(0), out, f(1) + b, in, f(2) + b, in);
            };
            return in_blocks(in, columns) ? 0 : 1;
        }
        default: {
            const float *dy = f(1);
            float *db = op == kBackwardWeightsBias ? f(3) : nullptr;
            auto rows = [&](int64_t b, int64_t e) {
                if (!sgemm('T', 'N', e - b, in, n, dy + b, out, f(0), in, f(2) + b * in, in)) return false;
                if (db) {
                    for (int64_t o = b; o < e; ++o) db[o] = 0.0f;
                    for (int64_t r = 0; r < n; ++r)
                        for (int64_t o = b; o < e; ++o) db[o] += dy[r * out + o];
                }
                return true;
            };
            return in_blocks(out, rows) ? 0 : 1;
        }
    }
}

}  // namespace
}  // namespace ms_gan

#define ENTRY(name, op) \
    MS_GAN_ENTRY(name) { return ms_gan::dense(ms_gan::op, nparam, params, ndims, shapes, dtypes); }
ENTRY(ms_gan_dense_forward, kForward)
ENTRY(ms_gan_dense_forward_bias, kForwardBias)
ENTRY(ms_gan_dense_backward_data, kBackwardData)
ENTRY(ms_gan_dense_backward_weights, kBackwardWeights)
ENTRY(ms_gan_dense_backward_weights_bias, kBackwardWeightsBias)
