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
#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

// ---------------------------------------------------------------- oneDNN 2.x C API
// Declared here from oneDNN's documented C API (docs/native.md#the-onednn-c-api). Enums are
// passed as int (their C ABI). The descriptor structs are opaque to this file: only oneDNN's
// own init functions fill them; their sizes are those of oneDNN 2.2 to 2.6.
extern "C" {
struct dnnl_engine;
struct dnnl_stream;
struct dnnl_memory;
struct dnnl_primitive_desc;
struct dnnl_primitive;
typedef int64_t dnnl_dims[12];
struct alignas(8) dnnl_memory_desc { unsigned char opaque[696]; };
struct alignas(8) dnnl_convolution_desc { unsigned char opaque[5976]; };
struct dnnl_exec_arg { int arg; dnnl_memory *memory; };
struct dnnl_version_info { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; };

int dnnl_engine_create(dnnl_engine **engine, int kind, size_t index);
int dnnl_threadpool_interop_stream_create(dnnl_stream **stream, dnnl_engine *engine, void *threadpool);
int dnnl_stream_wait(dnnl_stream *stream);
int dnnl_memory_desc_init_by_tag(dnnl_memory_desc *md, int ndims, const dnnl_dims dims, int data_type, int tag);
int dnnl_memory_desc_equal(const dnnl_memory_desc *a, const dnnl_memory_desc *b);
size_t dnnl_memory_desc_get_size(const dnnl_memory_desc *md);
int dnnl_memory_create(dnnl_memory **memory, const dnnl_memory_desc *md, dnnl_engine *engine, void *handle);
int dnnl_memory_set_data_handle(dnnl_memory *memory, void *handle);
int dnnl_convolution_forward_desc_init(dnnl_convolution_desc *desc, int prop_kind, int alg_kind,
                                       const dnnl_memory_desc *src, const dnnl_memory_desc *weights,
                                       const dnnl_memory_desc *bias, const dnnl_memory_desc *dst,
                                       const dnnl_dims strides, const dnnl_dims padding_l, const dnnl_dims padding_r);
int dnnl_convolution_backward_data_desc_init(dnnl_convolution_desc *desc, int alg_kind,
                                             const dnnl_memory_desc *diff_src, const dnnl_memory_desc *weights,
                                             const dnnl_memory_desc *diff_dst, const dnnl_dims strides,
                                             const dnnl_dims padding_l, const dnnl_dims padding_r);
int dnnl_convolution_backward_weights_desc_init(dnnl_convolution_desc *desc, int alg_kind,
                                                const dnnl_memory_desc *src, const dnnl_memory_desc *diff_weights,
                                                const dnnl_memory_desc *diff_bias, const dnnl_memory_desc *diff_dst,
                                                const dnnl_dims strides, const dnnl_dims padding_l,
                                                const dnnl_dims padding_r);
int dnnl_primitive_desc_create(dnnl_primitive_desc **pd, const void *op_desc, const void *attr, dnnl_engine *engine,
                               const dnnl_primitive_desc *hint_forward);
int dnnl_reorder_primitive_desc_create(dnnl_primitive_desc **pd, const dnnl_memory_desc *src, dnnl_engine *src_engine,
                                       const dnnl_memory_desc *dst, dnnl_engine *dst_engine, const void *attr);
const dnnl_memory_desc *dnnl_primitive_desc_query_md(const dnnl_primitive_desc *pd, int what, int index);
int dnnl_primitive_create(dnnl_primitive **primitive, const dnnl_primitive_desc *pd);
int dnnl_primitive_execute(const dnnl_primitive *primitive, dnnl_stream *stream, int nargs, const dnnl_exec_arg *args);
const dnnl_version_info *dnnl_version(void);
}

namespace {

// enum values of the oneDNN 2.x C API
const int kCpuEngine = 1, kF32 = 3, kTagAny = 1, kTagA = 2, kTagAbcd = 5;
const int kForwardTraining = 64;
const int kConvolutionDirect = 1;
const int kQuerySrc = 129, kQueryDiffSrc = 130, kQueryWeights = 131, kQueryDiffWeights = 132,
          kQueryDst = 133, kQueryDiffDst = 134;
const int kArgSrc = 1, kArgDst = 17, kArgWeights = 33, kArgBias = 41, kArgDiffSrc = 129, kArgDiffDst = 145,
          kArgDiffWeights = 161, kArgDiffBias = 169;
const unsigned kRuntimeThreadpool = 8;
void *const kAllocate = reinterpret_cast<void *>(static_cast<size_t>(-1));

// ---------------------------------------------------------------- the thread pool
// oneDNN's threadpool interface (dnnl::threadpool_interop::threadpool_iface): the same virtual
// methods in the same order. Without a pool, a THREADPOOL build runs every chunk on the
// calling thread.
struct ThreadpoolInterface {
    virtual int get_num_threads() const = 0;
    virtual bool get_in_parallel() const = 0;
    virtual void parallel_for(int n, const std::function<void(int, int)> &fn) = 0;
    virtual uint64_t get_flags() const = 0;
    virtual ~ThreadpoolInterface() {}
};

thread_local bool in_parallel = false;

// threads - 1 workers and the calling thread run the n closures; idle workers sleep on a
// condition variable (a spinning worker would take a core from MindSpore's own threads).
class Pool : public ThreadpoolInterface {
  public:
    explicit Pool(int threads) : threads_(threads) {
        for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
    }
    int get_num_threads() const override { return threads_; }
    bool get_in_parallel() const override { return in_parallel; }
    uint64_t get_flags() const override { return 0; }   // synchronous: parallel_for returns when all ran
    void parallel_for(int n, const std::function<void(int, int)> &fn) override {
        if (n <= 1 || threads_ == 1 || in_parallel) {
            for (int i = 0; i < n; ++i) fn(i, n);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &fn;
            count_ = n;
            next_.store(0);
            ++generation_;
        }
        wake_.notify_all();
        in_parallel = true;
        run_closures(&fn, n);
        in_parallel = false;
        // done when every closure ran and no worker still holds this job (a worker that
        // found no closure left must not take one of the next job's indices as this one's)
        std::unique_lock<std::mutex> lock(mutex_);
        job_ = nullptr;
        finished_.wait(lock, [&] { return busy_ == 0; });
    }

  private:
    void run_closures(const std::function<void(int, int)> *job, int n) {
        for (int i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) (*job)(i, n);
    }
    void work() {
        in_parallel = true;
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return generation_ != seen && job_ != nullptr; });
            seen = generation_;
            const std::function<void(int, int)> *job = job_;
            int n = count_;
            ++busy_;
            lock.unlock();
            run_closures(job, n);
            lock.lock();
            if (--busy_ == 0) finished_.notify_all();
        }
    }
    int threads_;
    std::vector<std::thread> workers_;   // live as long as the process (the pool is never destroyed)
    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    const std::function<void(int, int)> *job_ = nullptr;
    int count_ = 0, busy_ = 0;
    std::atomic<int> next_{0};
    uint64_t generation_ = 0;
};

int cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
}

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

struct State {
    dnnl_engine *engine = nullptr;
    dnnl_stream *stream = nullptr;
    Pool *pool = nullptr;
    std::map<std::pair<int, Geometry>, Plan *> plans;
    std::mutex mutex;   // MindSpore may launch two kernels at once: one convolution at a time
};

State &state() {
    static State s;
    return s;
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        int status_ = (call);                                                          \
        if (status_ != 0) {                                                            \
            std::fprintf(stderr, "ms_gan native: %s failed (oneDNN status %d)\n", #call, status_); \
            return false;                                                              \
        }                                                                              \
    } while (0)

bool ensure_engine() {
    State &s = state();
    if (s.stream) return true;
    CHECK(dnnl_engine_create(&s.engine, kCpuEngine, 0));
    s.pool = new Pool(cores());
    CHECK(dnnl_threadpool_interop_stream_create(&s.stream, s.engine, static_cast<ThreadpoolInterface *>(s.pool)));
    return true;
}

// A float32 memory descriptor of a 4-d tensor, or of a 1-d one (a bias) where shape[1..3] are 0.
bool init_md(dnnl_memory_desc *md, const int64_t *shape, int tag) {
    dnnl_dims dims = {shape[0], shape[1], shape[2], shape[3]};
    int ndims = shape[1] ? 4 : 1;
    CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, kF32, ndims == 4 ? tag : kTagA));
    return true;
}

bool add_argument(Plan *plan, int arg, bool output, const int64_t *shape, const dnnl_memory_desc *inner_md) {
    State &s = state();
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
    State &s = state();
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
    State &s = state();
    auto key = std::make_pair(direction, g);
    auto found = s.plans.find(key);
    if (found != s.plans.end()) return found->second;
    Plan *plan = make_plan(direction, g);
    if (plan) s.plans[key] = plan;
    return plan;
}

bool run(Plan *plan, void *const *handles) {
    State &s = state();
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

// params: the inputs, then the outputs, as in the table at the top of this file.
int convolve(int direction, bool bias, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
    State &s = state();
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
    Plan *plan = plan_for(direction, g);
    return plan && run(plan, handles) ? 0 : 1;
}

}  // namespace

extern "C" {

// 0 when the loaded oneDNN is one this file was written for (2.x, THREADPOOL runtime) and an
// engine and stream could be made; otherwise a code that ms_gan/native/__init__.py explains.
int ms_gan_native_check(int *major, int *minor, int *patch) {
    const dnnl_version_info *v = dnnl_version();
    *major = v->major, *minor = v->minor, *patch = v->patch;
    if (v->major != 2 || v->minor < 2) return 1;
    if (v->cpu_runtime != kRuntimeThreadpool) return 2;
    std::lock_guard<std::mutex> lock(state().mutex);
    return ensure_engine() ? 0 : 3;
}

#define ENTRY(name, direction, bias)                                                                     \
    int name(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *, void *) { \
        return convolve(direction, bias, nparam, params, ndims, shapes, dtypes);                             \
    }
ENTRY(ms_gan_conv_forward, kForward, false)
ENTRY(ms_gan_conv_forward_bias, kForward, true)
ENTRY(ms_gan_conv_backward_data, kBackwardData, false)
ENTRY(ms_gan_conv_backward_weights, kBackwardWeights, false)
ENTRY(ms_gan_conv_backward_weights_bias, kBackwardWeights, true)
}
