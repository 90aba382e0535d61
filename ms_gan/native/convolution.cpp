// Native CPU convolutions for MindSpore 2.8 (docs/native.md): oneDNN's direct kernels, called
// through the oneDNN library MindSpore itself ships (mindspore/lib/libdnnl.so.2, v2.x, built
// for the THREADPOOL CPU runtime), as MindSpore Custom ops of type "aot".
//
// Every entry point has MindSpore's aot signature; params holds the inputs, then the output:
//   ms_gan_conv_forward               (x, weight, config)             -> y
//   ms_gan_conv_forward_bias          (x, weight, bias, config)       -> y
//   ms_gan_conv_backward_data         (dy, weight, [ignored], config) -> dx (its shape says the geometry)
//   ms_gan_conv_backward_weights      (x, dy, config)                 -> dweight
//   ms_gan_conv_backward_weights_bias (x, dy, config)                 -> dweight, dbias
// config: int64 [stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, kernel_h, kernel_w].
// All tensors float32, NCHW; weights (out, in, kh, kw).
#include <map>

#include "native.h"

namespace ms_gan {
namespace {

// ---------------------------------------------------------------- plans
// One convolution direction at one geometry: the primitive, and per argument the user's
// NCHW memory, and the reorder into and out of the primitive's own layout where they differ.
struct Argument {
    int arg;
    bool output;
    dnnl_memory *user = nullptr;
    dnnl_memory *inner = nullptr;        // the primitive's memory when its layout is not the user's
    dnnl_primitive *reorder = nullptr;   // user -> inner for an input, inner -> user for an output
};

struct Plan {
    dnnl_primitive *primitive = nullptr;
    std::vector<Argument> arguments;
};

enum Direction { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

struct Geometry {
    int64_t x[4], w[4], y[4];
    int64_t stride[2], pad_l[2], pad_r[2];
    int64_t bias;   // 1: the forward adds a bias, the weight gradient also gives the bias gradient
    bool operator<(const Geometry &o) const { return std::memcmp(this, &o, sizeof(Geometry)) < 0; }
};

// A float32 memory descriptor of a 4-d tensor, or of a 1-d one (a bias) where shape[1..3] are 0.
bool init_md(dnnl_memory_desc *md, const int64_t *shape, int tag) {
    dnnl_dims dims = {shape[0], shape[1], shape[2], shape[3]};
    int ndims = shape[1] ? 4 : 1;
    CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, kF32, ndims == 4 ? tag : kTagA));
    return true;
}

bool add_argument(Plan *plan, int arg, bool output, const int64_t *shape, const dnnl_memory_desc *inner_md) {
    Runtime &s = runtime();
    Argument a;
    a.arg = arg;
    a.output = output;
    dnnl_memory_desc user_md;
    if (!init_md(&user_md, shape, kTagAbcd)) return false;
    CHECK(dnnl_memory_create(&a.user, &user_md, s.engine, nullptr));
    if (!dnnl_memory_desc_equal(&user_md, inner_md)) {
        CHECK(dnnl_memory_create(&a.inner, inner_md, s.engine, kAllocate));
        dnnl_primitive_desc *pd;
        if (output)
            CHECK(dnnl_reorder_primitive_desc_create(&pd, inner_md, s.engine, &user_md, s.engine, nullptr));
        else
            CHECK(dnnl_reorder_primitive_desc_create(&pd, &user_md, s.engine, inner_md, s.engine, nullptr));
        CHECK(dnnl_primitive_create(&a.reorder, pd));
    }
    plan->arguments.push_back(a);
    return true;
}

// The layout oneDNN works in, per direction (docs/native.md#layouts): its own choice ("any",
// blocked by 16 channels on AVX-512) except where an operand has fewer than 16 channels on
// the side the op writes, which a blocked layout pads to 16 (a first layer's data gradient,
// a last layer's output): there plain NCHW.
int layout(int direction, const Geometry &g) {
    int64_t written = direction == kForward ? g.y[1] : direction == kBackwardData ? g.x[1] : 16;
    return written < 16 ? kTagAbcd : kTagAny;
}

Plan *make_plan(int direction, const Geometry &g) {
    Runtime &s = runtime();
    if (!ensure_engine()) return nullptr;
    int tag = layout(direction, g);
    dnnl_memory_desc x_md, w_md, y_md, b_md;
    const int64_t bias_shape[4] = {g.w[0], 0, 0, 0};
    if (!init_md(&x_md, g.x, tag) || !init_md(&w_md, g.w, tag) || !init_md(&y_md, g.y, tag) ||
        !init_md(&b_md, bias_shape, tag))
        return nullptr;
    const dnnl_memory_desc *bias_md = g.bias ? &b_md : nullptr;
    dnnl_dims stride = {g.stride[0], g.stride[1]}, pad_l = {g.pad_l[0], g.pad_l[1]}, pad_r = {g.pad_r[0], g.pad_r[1]};
    static dnnl_convolution_desc forward_desc, desc;
    auto fail = [](const char *what, int status) {
        std::fprintf(stderr, "ms_gan native: %s failed (oneDNN status %d)\n", what, status);
        return nullptr;
    };
    int status = dnnl_convolution_forward_desc_init(&forward_desc, kForwardTraining, kConvolutionDirect, &x_md, &w_md,
                                                    bias_md, &y_md, stride, pad_l, pad_r);
    if (status) return fail("convolution forward desc", status);
    dnnl_primitive_desc *forward_pd = nullptr, *pd = nullptr;
    status = dnnl_primitive_desc_create(&forward_pd, &forward_desc, nullptr, s.engine, nullptr);
    if (status) return fail("convolution forward primitive desc", status);
    if (direction == kForward) {
        pd = forward_pd;
    } else {
        if (direction == kBackwardData)
            status = dnnl_convolution_backward_data_desc_init(&desc, kConvolutionDirect, &x_md, &w_md, &y_md, stride,
                                                              pad_l, pad_r);
        else
            status = dnnl_convolution_backward_weights_desc_init(&desc, kConvolutionDirect, &x_md, &w_md, bias_md,
                                                                 &y_md, stride, pad_l, pad_r);
        if (status) return fail("convolution backward desc", status);
        status = dnnl_primitive_desc_create(&pd, &desc, nullptr, s.engine, forward_pd);
        if (status) return fail("convolution backward primitive desc", status);
    }
    Plan *plan = new Plan;
    if (dnnl_primitive_create(&plan->primitive, pd)) return fail("convolution primitive", -1);
    bool ok;
    if (direction == kForward)
        ok = add_argument(plan, kArgSrc, false, g.x, dnnl_primitive_desc_query_md(pd, kQuerySrc, 0)) &&
             add_argument(plan, kArgWeights, false, g.w, dnnl_primitive_desc_query_md(pd, kQueryWeights, 0)) &&
             add_argument(plan, kArgDst, true, g.y, dnnl_primitive_desc_query_md(pd, kQueryDst, 0)) &&
             (!g.bias ||
              add_argument(plan, kArgBias, false, bias_shape, dnnl_primitive_desc_query_md(pd, kQueryWeights, 1)));
    else if (direction == kBackwardData)
        ok = add_argument(plan, kArgDiffDst, false, g.y, dnnl_primitive_desc_query_md(pd, kQueryDiffDst, 0)) &&
             add_argument(plan, kArgWeights, false, g.w, dnnl_primitive_desc_query_md(pd, kQueryWeights, 0)) &&
             add_argument(plan, kArgDiffSrc, true, g.x, dnnl_primitive_desc_query_md(pd, kQueryDiffSrc, 0));
    else
        ok = add_argument(plan, kArgSrc, false, g.x, dnnl_primitive_desc_query_md(pd, kQuerySrc, 0)) &&
             add_argument(plan, kArgDiffDst, false, g.y, dnnl_primitive_desc_query_md(pd, kQueryDiffDst, 0)) &&
             add_argument(plan, kArgDiffWeights, true, g.w, dnnl_primitive_desc_query_md(pd, kQueryDiffWeights, 0)) &&
             (!g.bias || add_argument(plan, kArgDiffBias, true, bias_shape,
                                      dnnl_primitive_desc_query_md(pd, kQueryDiffWeights, 1)));
    return ok ? plan : nullptr;
}

Plan *plan_for(int direction, const Geometry &g) {
    static std::map<std::pair<int, Geometry>, Plan *> plans;   // under runtime().mutex
    auto key = std::make_pair(direction, g);
    auto found = plans.find(key);
    if (found != plans.end()) return found->second;
    Plan *plan = make_plan(direction, g);
    if (plan) plans[key] = plan;
    return plan;
}

bool run(Plan *plan, void *const *handles) {
    Runtime &s = runtime();
    std::vector<dnnl_exec_arg> args;
    for (size_t i = 0; i < plan->arguments.size(); ++i) {
        Argument &a = plan->arguments[i];
        CHECK(dnnl_memory_set_data_handle(a.user, handles[i]));
        if (a.reorder && !a.output) {
            dnnl_exec_arg reorder_args[2] = {{kArgSrc, a.user}, {kArgDst, a.inner}};
            CHECK(dnnl_primitive_execute(a.reorder, s.stream, 2, reorder_args));
        }
        args.push_back({a.arg, a.inner ? a.inner : a.user});
    }
    CHECK(dnnl_primitive_execute(plan->primitive, s.stream, static_cast<int>(args.size()), args.data()));
    for (Argument &a : plan->arguments) {
        if (a.reorder && a.output) {
            dnnl_exec_arg reorder_args[2] = {{kArgSrc, a.inner}, {kArgDst, a.user}};
            CHECK(dnnl_primitive_execute(a.reorder, s.stream, 2, reorder_args));
        }
    }
    CHECK(dnnl_stream_wait(s.stream));
    return true;
}

// The geometry from the shapes and the config tensor at params[config]; x, w, y index the
// three float32 NCHW tensors, bias the float32 bias (or -1).
bool geometry(int *ndims, int64_t **shapes, const char **dtypes, void **params, int x, int w, int y, int bias,
              int config, Geometry *g) {
    for (int i : {x, w, y})
        if (ndims[i] != 4 || std::strcmp(dtypes[i], "float32") != 0) return false;
    if (bias >= 0 && (ndims[bias] != 1 || shapes[bias][0] != shapes[w][0] || std::strcmp(dtypes[bias], "float32")))
        return false;
    if (ndims[config] != 1 || shapes[config][0] != 8 || std::strcmp(dtypes[config], "int64") != 0) return false;
    const int64_t *c = static_cast<const int64_t *>(params[config]);
    std::memset(g, 0, sizeof(Geometry));
    std::memcpy(g->x, shapes[x], sizeof(g->x));
    std::memcpy(g->w, shapes[w], sizeof(g->w));
    std::memcpy(g->y, shapes[y], sizeof(g->y));
    g->stride[0] = c[0], g->stride[1] = c[1];
    g->pad_l[0] = c[2], g->pad_l[1] = c[3];
    g->pad_r[0] = c[4], g->pad_r[1] = c[5];
    g->bias = bias >= 0;
    return g->w[2] == c[6] && g->w[3] == c[7];
}

// A stride-1 forward that writes fewer than 16 channels (a generator's last layer) runs as the
// data gradient of its adjoint: the convolution y -> x with the weights' channels swapped and
// flipped in space, padded by kernel - 1 - padding. Its plain-layout forward would be gemm:jit
// on an im2col copy of x, k*k times its size (cnn_gan's 64 -> 1 at 32x32: 15 ms), where the
// data gradient multiplies first and scatters after (0.8 ms): docs/native.md#layouts.
bool runs_as_adjoint(const Geometry &g) {
    if (layout(kForward, g) != kTagAbcd) return false;
    for (int i : {0, 1})
        if (g.stride[i] != 1 || g.pad_l[i] > g.w[2 + i] - 1 || g.pad_r[i] > g.w[2 + i] - 1) return false;
    return true;
}

Geometry adjoint(const Geometry &g) {
    Geometry a;
    std::memset(&a, 0, sizeof(Geometry));
    std::memcpy(a.x, g.y, sizeof(a.x));
    std::memcpy(a.y, g.x, sizeof(a.y));
    a.w[0] = g.w[1], a.w[1] = g.w[0], a.w[2] = g.w[2], a.w[3] = g.w[3];
    for (int i : {0, 1}) {
        a.stride[i] = 1;
        a.pad_l[i] = g.w[2 + i] - 1 - g.pad_l[i];
        a.pad_r[i] = g.w[2 + i] - 1 - g.pad_r[i];
    }
    return a;
}

// y = conv(x, w) [+ bias] through the adjoint's data gradient; under runtime().mutex.
bool forward_by_adjoint(const Geometry &g, void *x, const float *w, const float *bias, float *y) {
    static std::vector<float> adjoint_w;
    const int64_t out = g.w[0], in = g.w[1], kh = g.w[2], kw = g.w[3];
    adjoint_w.resize(in * out * kh * kw);
    for (int64_t o = 0; o < out; ++o)
        for (int64_t c = 0; c < in; ++c)
            for (int64_t i = 0; i < kh; ++i)
                for (int64_t j = 0; j < kw; ++j)
                    adjoint_w[((c * out + o) * kh + i) * kw + j] = w[((o * in + c) * kh + kh - 1 - i) * kw + kw - 1 - j];
    Plan *plan = plan_for(kBackwardData, adjoint(g));
    void *handles[3] = {x, adjoint_w.data(), y};
    if (!plan || !run(plan, handles)) return false;
    if (bias) {
        const int64_t plane = g.y[2] * g.y[3];
        for (int64_t n = 0; n < g.y[0]; ++n)
            for (int64_t o = 0; o < out; ++o) {
                float *row = y + (n * out + o) * plane;
                for (int64_t q = 0; q < plane; ++q) row[q] += bias[o];
            }
    }
    return true;
}

// params: the inputs, then the outputs, as in the table at the top of this file.
int convolve(int direction, bool bias, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    Runtime &s = runtime();
    std::lock_guard<std::mutex> lock(s.mutex);
    Geometry g;
    void *handles[4];   // in the order make_plan adds the arguments
    bool ok;
    if (direction == kForward) {              // x, weight, [bias,] config -> y
        const int y = nparam - 1, b = bias ? 2 : -1;
        ok = geometry(ndims, shapes, dtypes, params, 0, 1, y, b, nparam - 2, &g);
        handles[0] = params[0], handles[1] = params[1], handles[2] = params[y], handles[3] = bias ? params[2] : 0;
    } else if (direction == kBackwardData) {  // dy, weight, [shape donor,] config -> dx
        const int dx = nparam - 1;
        ok = geometry(ndims, shapes, dtypes, params, dx, 1, 0, -1, nparam - 2, &g);
        handles[0] = params[0], handles[1] = params[1], handles[2] = params[dx];
    } else {                                  // x, dy, config -> dweight, [dbias]
        ok = nparam == (bias ? 5 : 4) && geometry(ndims, shapes, dtypes, params, 0, 3, 1, bias ? 4 : -1, 2, &g);
        handles[0] = params[0], handles[1] = params[1], handles[2] = params[3], handles[3] = bias ? params[4] : 0;
    }
    if (!ok) {
        std::fprintf(stderr, "ms_gan native: unexpected shapes or dtypes\n");
        return 1;
    }
    if (direction == kForward && runs_as_adjoint(g))
        return forward_by_adjoint(g, handles[0], static_cast<const float *>(handles[1]),
                                  static_cast<const float *>(handles[3]), static_cast<float *>(handles[2])) ? 0 : 1;
    Plan *plan = plan_for(direction, g);
    return plan && run(plan, handles) ? 0 : 1;
}

}  // namespace
}  // namespace ms_gan


#define ENTRY(name, direction, bias) \
    MS_GAN_ENTRY(name) { return ms_gan::convolve(ms_gan::direction, bias, nparam, params, ndims, shapes, dtypes); }
ENTRY(ms_gan_conv_forward, kForward, false)
ENTRY(ms_gan_conv_forward_bias, kForward, true)
ENTRY(ms_gan_conv_backward_data, kBackwardData, false)
ENTRY(ms_gan_conv_backward_weights, kBackwardWeights, false)
ENTRY(ms_gan_conv_backward_weights_bias, kBackwardWeights, true)
