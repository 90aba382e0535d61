// Native CPU convolutions for MindSpore 2.8 (docs/native.md): oneDNN's direct kernels, called
// through the oneDNN library MindSpore itself ships (mindspore/lib/libdnnl.so.2, v2.x, built
// for the THREADPOOL CPU runtime), as MindSpore Custom ops of type "aot".
//
// Every entry point has MindSpore's aot signature; params holds the inputs, then the outputs.
// What the layers' training steps call (a Conv2d; a transposed convolution is the data gradient
// of the convolution out -> in):
//   ms_gan_conv_forward_keep             (x, weight, config)             -> y, kept
//   ms_gan_conv_forward_bias_keep        (x, weight, bias, config)       -> y, kept
//   ms_gan_conv_backward                 (dy, weight, x, kept, config)   -> dx, dweight
//   ms_gan_conv_backward_bias            (dy, weight, x, kept, config)   -> dx, dweight, dbias
//   ms_gan_conv_transpose_forward_keep   (x, weight, config)             -> y, kept
//   ms_gan_conv_transpose_backward       (dy, weight, x, kept, config)   -> dx, dweight
// `kept` (float32, 1-d) is the forward's blocked copy of its input, which the backward reads
// instead of reordering that input again; it is used only where it fits and the backward's
// layout is the forward's (docs/native.md#layouts). The backward reorders dy once for both of
// its gradients where their layouts agree. One direction alone (parity bench-convs times them):
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
    dnnl_memory_desc inner_md;           // where there is a reorder: the primitive's layout,
    void *own = nullptr;                 // the plan's buffer for it,
    size_t inner_bytes = 0;              // and its size
};

// One tensor handed to a run: the user's NCHW data, and where the primitive's layout of it is:
// the plan's own buffer (inner null), or a buffer of the caller's, which the run fills from
// data (an input's copy kept for a later op) or which already holds it (ready: no reorder).
struct Operand {
    void *data;
    void *inner = nullptr;
    bool ready = false;
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
        a.inner_md = *inner_md;
        a.inner_bytes = dnnl_memory_desc_get_size(inner_md);
        a.own = std::aligned_alloc(64, (a.inner_bytes + 63) / 64 * 64);
        if (!a.own) return false;
        CHECK(dnnl_memory_create(&a.inner, inner_md, s.engine, a.own));
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

Argument *find(Plan *plan, int arg) {
    if (!plan) return nullptr;
    for (Argument &a : plan->arguments)
        if (a.arg == arg) return &a;
    return nullptr;
}

// Whether a blocked copy made for `from` is what `to` reads: both reorder, to the same layout.
bool same_layout(const Argument *from, const Argument *to) {
    return from && to && from->reorder && to->reorder && dnnl_memory_desc_equal(&from->inner_md, &to->inner_md);
}

// operands: one per plan argument, in the order make_plan adds them.
bool run(Plan *plan, const Operand *operands) {
    Runtime &s = runtime();
    std::vector<dnnl_exec_arg> args;
    for (size_t i = 0; i < plan->arguments.size(); ++i) {
        Argument &a = plan->arguments[i];
        const Operand &o = operands[i];
        CHECK(dnnl_memory_set_data_handle(a.user, o.data));
        if (a.reorder) {
            CHECK(dnnl_memory_set_data_handle(a.inner, o.inner ? o.inner : a.own));
            if (!a.output && !o.ready) {
                dnnl_exec_arg reorder_args[2] = {{kArgSrc, a.user}, {kArgDst, a.inner}};
                CHECK(dnnl_primitive_execute(a.reorder, s.stream, 2, reorder_args));
            }
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

// ---------------------------------------------------------------- the ops
// Each runs under runtime().mutex. Pointers: the NCHW tensors; kept: a caller's buffer of
// kept_bytes for a blocked copy of an input, or null.

// y = conv(x, w) [+ bias] through the adjoint's data gradient.
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
    Operand operands[3] = {{x}, {adjoint_w.data()}, {y}};
    if (!plan || !run(plan, operands)) return false;
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

// The argument of the plan for `direction` whose blocked copy a forward keeps: the convolution's
// x (forward), or a transposed convolution's x, the dy of the data gradient; null where that
// op has no blocked copy or does not run a plan.
Argument *kept_argument(int direction, const Geometry &g) {
    if (direction == kForward && runs_as_adjoint(g)) return nullptr;
    Plan *plan = plan_for(direction, g);
    Argument *a = plan ? find(plan, direction == kForward ? kArgSrc : kArgDiffDst) : nullptr;
    return a && a->reorder ? a : nullptr;
}

// The operand of a kept input: filled by the forward where the copy fits its buffer.
Operand keeping(void *data, const Argument *kept_arg, void *kept, size_t kept_bytes) {
    if (kept_arg && kept && kept_arg->inner_bytes <= kept_bytes) return {data, kept, false};
    return {data};
}

// The operand of an input the forward kept, for the argument `reader` of a later op: the kept
// copy where the forward wrote it and the reader's layout is the same.
Operand reading(void *data, const Argument *kept_arg, const Argument *reader, void *kept, size_t kept_bytes) {
    if (kept && kept_arg && kept_arg->inner_bytes <= kept_bytes && same_layout(kept_arg, reader))
        return {data, kept, true};
    return {data};
}

bool forward(const Geometry &g, void *x, void *w, void *bias, void *y, void *kept, size_t kept_bytes) {
    if (runs_as_adjoint(g))
        return forward_by_adjoint(g, x, static_cast<const float *>(w), static_cast<const float *>(bias),
                                  static_cast<float *>(y));
    Plan *plan = plan_for(kForward, g);
    if (!plan) return false;
    Operand operands[4] = {keeping(x, kept_argument(kForward, g), kept, kept_bytes), {w}, {y}, {bias}};
    return run(plan, operands);
}

bool backward_data(const Geometry &g, void *dy, void *w, void *dx, void *kept, size_t kept_bytes) {
    Plan *plan = plan_for(kBackwardData, g);
    if (!plan) return false;
    Operand operands[3] = {keeping(dy, kept_argument(kBackwardData, g), kept, kept_bytes), {w}, {dx}};
    return run(plan, operands);
}

bool backward_weights(const Geometry &g, const Operand &x, const Operand &dy, void *dw, void *dbias) {
    Plan *plan = plan_for(kBackwardWeights, g);
    if (!plan) return false;
    Operand operands[4] = {x, dy, {dw}, {dbias}};
    return run(plan, operands);
}

// A convolution's two gradients; dy reordered once where both read the same layout.
bool backward(const Geometry &g, void *dy, void *w, void *x, void *kept, size_t kept_bytes, void *dx, void *dw,
              void *dbias) {
    Plan *data = plan_for(kBackwardData, g), *weights = plan_for(kBackwardWeights, g);
    if (!data || !weights || !backward_data(g, dy, w, dx, nullptr, 0)) return false;
    Argument *dy_data = find(data, kArgDiffDst), *dy_weights = find(weights, kArgDiffDst);
    Operand dy_blocked = same_layout(dy_data, dy_weights) ? Operand{dy, dy_data->own, true} : Operand{dy};
    Operand x_blocked = reading(x, kept_argument(kForward, g), find(weights, kArgSrc), kept, kept_bytes);
    return backward_weights(g, x_blocked, dy_blocked, dw, dbias);
}

// A transposed convolution's two gradients: its input gradient is the convolution's forward
// of its dy, its weight gradient the convolution's with its dy as x and its x as dy.
bool transpose_backward(const Geometry &g, void *dy, void *w, void *x, void *kept, size_t kept_bytes, void *dx,
                        void *dw) {
    Plan *weights = plan_for(kBackwardWeights, g);
    if (!weights || !forward(g, dy, w, nullptr, dx, nullptr, 0)) return false;
    Argument *dy_forward = kept_argument(kForward, g);   // the forward just run blocked dy into its plan
    Argument *dy_weights = find(weights, kArgSrc);
    Operand dy_blocked = same_layout(dy_forward, dy_weights) ? Operand{dy, dy_forward->own, true} : Operand{dy};
    Operand x_blocked = reading(x, kept_argument(kBackwardData, g), find(weights, kArgDiffDst), kept, kept_bytes);
    return backward_weights(g, dy_blocked, x_blocked, dw, nullptr);
}

// ---------------------------------------------------------------- the entry points
// The geometry from the shapes and the config tensor at params[config]; x, w, y index the
// three float32 NCHW tensors of the convolution x -> y, bias a float32 bias (or -1); each of
// `same` (-1 where absent) must have the shape of the one it follows: {x's, y's}.
bool geometry(int *ndims, int64_t **shapes, const char **dtypes, void **params, int x, int w, int y, int bias,
              int config, Geometry *g, int same_as_x = -1, int same_as_y = -1) {
    for (int i : {x, w, y})
        if (ndims[i] != 4 || std::strcmp(dtypes[i], "float32") != 0) return false;
    for (auto pair : {std::make_pair(same_as_x, x), std::make_pair(same_as_y, y)})
        if (pair.first >= 0 && (ndims[pair.first] != 4 || !is_float32(dtypes, pair.first) ||
                                std::memcmp(shapes[pair.first], shapes[pair.second], 4 * sizeof(int64_t))))
            return false;
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

// The byte size of the kept buffer params[i] (1-d float32), or -1.
int64_t kept_size(int *ndims, int64_t **shapes, const char **dtypes, int i) {
    return ndims[i] == 1 && is_float32(dtypes, i) ? shapes[i][0] * 4 : -1;
}

int finish(bool shapes_ok, const std::function<bool()> &op) {
    if (!shapes_ok) {
        std::fprintf(stderr, "ms_gan native: unexpected shapes or dtypes\n");
        return 1;
    }
    return op() ? 0 : 1;
}

enum Entry {
    kForwardOnly, kForwardBiasOnly, kBackwardDataOnly, kBackwardWeightsOnly, kBackwardWeightsBiasOnly,
    kForwardKeep, kForwardBiasKeep, kBackwardBoth, kBackwardBothBias, kTransposeForwardKeep, kTransposeBackward,
};

// params: the inputs, then the outputs, as in the table at the top of this file.
int convolve(Entry entry, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    Runtime &s = runtime();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!ensure_engine()) return 1;
    Geometry g;
    void **p = params;
    auto count = [&](int n) { return nparam == n; };
    switch (entry) {
    case kForwardOnly:               // x, weight, config -> y
        return finish(count(4) && geometry(ndims, shapes, dtypes, p, 0, 1, 3, -1, 2, &g),
                      [&] { return forward(g, p[0], p[1], nullptr, p[3], nullptr, 0); });
    case kForwardBiasOnly:           // x, weight, bias, config -> y
        return finish(count(5) && geometry(ndims, shapes, dtypes, p, 0, 1, 4, 2, 3, &g),
                      [&] { return forward(g, p[0], p[1], p[2], p[4], nullptr, 0); });
    case kBackwardDataOnly:          // dy, weight, [shape donor,] config -> dx
        return finish(geometry(ndims, shapes, dtypes, p, nparam - 1, 1, 0, -1, nparam - 2, &g),
                      [&] { return backward_data(g, p[0], p[1], p[nparam - 1], nullptr, 0); });
    case kBackwardWeightsOnly:       // x, dy, config -> dweight
    case kBackwardWeightsBiasOnly: { // x, dy, config -> dweight, dbias
        const bool bias = entry == kBackwardWeightsBiasOnly;
        return finish(count(bias ? 5 : 4) && geometry(ndims, shapes, dtypes, p, 0, 3, 1, bias ? 4 : -1, 2, &g),
                      [&] { return backward_weights(g, {p[0]}, {p[1]}, p[3], bias ? p[4] : nullptr); });
    }
    case kForwardKeep:               // x, weight, config -> y, kept
        return finish(count(5) && geometry(ndims, shapes, dtypes, p, 0, 1, 3, -1, 2, &g) &&
                          kept_size(ndims, shapes, dtypes, 4) >= 0,
                      [&] { return forward(g, p[0], p[1], nullptr, p[3], p[4], kept_size(ndims, shapes, dtypes, 4)); });
    case kForwardBiasKeep:           // x, weight, bias, config -> y, kept
        return finish(count(6) && geometry(ndims, shapes, dtypes, p, 0, 1, 4, 2, 3, &g) &&
                          kept_size(ndims, shapes, dtypes, 5) >= 0,
                      [&] { return forward(g, p[0], p[1], p[2], p[4], p[5], kept_size(ndims, shapes, dtypes, 5)); });
    case kBackwardBoth:              // dy, weight, x, kept, config -> dx, dweight
    case kBackwardBothBias: {        // dy, weight, x, kept, config -> dx, dweight, dbias
        const bool bias = entry == kBackwardBothBias;
        return finish(count(bias ? 8 : 7) && geometry(ndims, shapes, dtypes, p, 2, 6, 0, bias ? 7 : -1, 4, &g, 5) &&
                          std::memcmp(shapes[1], shapes[6], 4 * sizeof(int64_t)) == 0 &&
                          kept_size(ndims, shapes, dtypes, 3) >= 0,
                      [&] {
                          return backward(g, p[0], p[1], p[2], p[3], kept_size(ndims, shapes, dtypes, 3), p[5], p[6],
                                          bias ? p[7] : nullptr);
                      });
    }
    case kTransposeForwardKeep:      // x, weight, config -> y, kept (the convolution y -> x's data gradient)
        return finish(count(5) && geometry(ndims, shapes, dtypes, p, 3, 1, 0, -1, 2, &g) &&
                          kept_size(ndims, shapes, dtypes, 4) >= 0,
                      [&] { return backward_data(g, p[0], p[1], p[3], p[4], kept_size(ndims, shapes, dtypes, 4)); });
    case kTransposeBackward:         // dy, weight, x, kept, config -> dx, dweight
        return finish(count(7) && geometry(ndims, shapes, dtypes, p, 0, 6, 2, -1, 4, &g, -1, 5) &&
                          std::memcmp(shapes[1], shapes[6], 4 * sizeof(int64_t)) == 0 &&
                          kept_size(ndims, shapes, dtypes, 3) >= 0,
                      [&] {
                          return transpose_backward(g, p[0], p[1], p[2], p[3], kept_size(ndims, shapes, dtypes, 3),
                                                    p[5], p[6]);
                      });
    }
    return 1;
}

}  // namespace
}  // namespace ms_gan


#define ENTRY(name, entry) \
    MS_GAN_ENTRY(name) { return ms_gan::convolve(ms_gan::entry, nparam, params, ndims, shapes, dtypes); }
ENTRY(ms_gan_conv_forward, kForwardOnly)
ENTRY(ms_gan_conv_forward_bias, kForwardBiasOnly)
ENTRY(ms_gan_conv_backward_data, kBackwardDataOnly)
ENTRY(ms_gan_conv_backward_weights, kBackwardWeightsOnly)
ENTRY(ms_gan_conv_backward_weights_bias, kBackwardWeightsBiasOnly)
ENTRY(ms_gan_conv_forward_keep, kForwardKeep)
ENTRY(ms_gan_conv_forward_bias_keep, kForwardBiasKeep)
ENTRY(ms_gan_conv_backward, kBackwardBoth)
ENTRY(ms_gan_conv_backward_bias, kBackwardBothBias)
ENTRY(ms_gan_conv_transpose_forward_keep, kTransposeForwardKeep)
ENTRY(ms_gan_conv_transpose_backward, kTransposeBackward)
