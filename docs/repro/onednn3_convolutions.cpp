// The convolutions of this project's models on oneDNN 3.x's C API, stand-alone: what
// ms_gan/native/convolution.cpp (written for the oneDNN 2.2 that MindSpore 2.8.0 ships) would
// run on the libdnnl.so.3 of a newer MindSpore (docs/native.md#mindspore-210-and-onednn-3).
// Forward, backward-data and backward-weights of each layer, oneDNN's own layouts ("any")
// with the reorders from and to NCHW included, as the project's kernels do, on a 2-thread
// pool handed to a THREADPOOL build's stream; median ms of 20 runs after 3. ONEDNN_VERBOSE=1
// names the kernels oneDNN chose.
//
//   g++ -O2 -std=c++17 docs/repro/onednn3_convolutions.cpp -o /tmp/onednn3 \
//       -L<mindspore>/lib -l:libdnnl.so.3 -Wl,-rpath,<mindspore>/lib -lpthread && /tmp/onednn3
//
// The declarations below are written from oneDNN's documented v3 C API (dnnl.h,
// dnnl_threadpool.h); enums are passed as int. Nothing here needs MindSpore itself.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

extern "C" {
struct dnnl_engine;
struct dnnl_stream;
struct dnnl_memory;
struct dnnl_memory_desc;
struct dnnl_primitive_desc;
struct dnnl_primitive;
typedef int64_t dnnl_dims[12];
struct dnnl_exec_arg { int arg; dnnl_memory *memory; };
struct dnnl_version_info { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; };
int dnnl_engine_create(dnnl_engine **engine, int kind, size_t index);
int dnnl_threadpool_interop_stream_create(dnnl_stream **stream, dnnl_engine *engine, void *threadpool);
int dnnl_stream_wait(dnnl_stream *stream);
int dnnl_memory_desc_create_with_tag(dnnl_memory_desc **md, int ndims, const dnnl_dims dims, int data_type, int tag);
int dnnl_memory_desc_equal(const dnnl_memory_desc *a, const dnnl_memory_desc *b);
int dnnl_memory_create(dnnl_memory **memory, const dnnl_memory_desc *md, dnnl_engine *engine, void *handle);
int dnnl_convolution_forward_primitive_desc_create(
    dnnl_primitive_desc **pd, dnnl_engine *engine, int prop_kind, int alg_kind, const dnnl_memory_desc *src,
    const dnnl_memory_desc *weights, const dnnl_memory_desc *bias, const dnnl_memory_desc *dst,
    const dnnl_dims strides, const dnnl_dims dilates, const dnnl_dims padding_l, const dnnl_dims padding_r,
    const void *attr);
int dnnl_convolution_backward_data_primitive_desc_create(
    dnnl_primitive_desc **pd, dnnl_engine *engine, int alg_kind, const dnnl_memory_desc *diff_src,
    const dnnl_memory_desc *weights, const dnnl_memory_desc *diff_dst, const dnnl_dims strides,
    const dnnl_dims dilates, const dnnl_dims padding_l, const dnnl_dims padding_r,
    const dnnl_primitive_desc *hint_forward, const void *attr);
int dnnl_convolution_backward_weights_primitive_desc_create(
    dnnl_primitive_desc **pd, dnnl_engine *engine, int alg_kind, const dnnl_memory_desc *src,
    const dnnl_memory_desc *diff_weights, const dnnl_memory_desc *diff_bias, const dnnl_memory_desc *diff_dst,
    const dnnl_dims strides, const dnnl_dims dilates, const dnnl_dims padding_l, const dnnl_dims padding_r,
    const dnnl_primitive_desc *hint_forward, const void *attr);
int dnnl_reorder_primitive_desc_create(dnnl_primitive_desc **pd, const dnnl_memory_desc *src, dnnl_engine *src_engine,
                                       const dnnl_memory_desc *dst, dnnl_engine *dst_engine, const void *attr);
const dnnl_memory_desc *dnnl_primitive_desc_query_md(const dnnl_primitive_desc *pd, int what, int index);
int dnnl_primitive_create(dnnl_primitive **primitive, const dnnl_primitive_desc *pd);
int dnnl_primitive_execute(const dnnl_primitive *primitive, dnnl_stream *stream, int nargs, const dnnl_exec_arg *args);
const dnnl_version_info *dnnl_version(void);
}

namespace {
const int kCpu = 1, kF32 = 3, kTagAny = 1, kTagAbcd = 5, kForwardTraining = 64, kDirect = 1;
const int kQuerySrc = 129, kQueryDiffSrc = 130, kQueryWeights = 131, kQueryDiffWeights = 132, kQueryDst = 133,
          kQueryDiffDst = 134;
const int kArgSrc = 1, kArgDst = 17, kArgWeights = 33, kArgDiffSrc = 129, kArgDiffDst = 145, kArgDiffWeights = 161;
void *const kAllocate = reinterpret_cast<void *>(static_cast<size_t>(-1));

#define CHECK(call)                                                                   \
    do {                                                                              \
        int status_ = (call);                                                         \
        if (status_) {                                                                \
            std::fprintf(stderr, "%s failed: oneDNN status %d\n", #call, status_);    \
            std::exit(1);                                                             \
        }                                                                             \
    } while (0)

// dnnl::threadpool_interop::threadpool_iface's virtual methods, in its order
struct ThreadpoolInterface {
    virtual int get_num_threads() const = 0;
    virtual bool get_in_parallel() const = 0;
    virtual void parallel_for(int n, const std::function<void(int, int)> &fn) = 0;
    virtual uint64_t get_flags() const = 0;
    virtual ~ThreadpoolInterface() {}
};

thread_local bool in_parallel = false;

// One worker beside the caller; it sleeps between jobs.
class TwoThreads : public ThreadpoolInterface {
  public:
    TwoThreads() : worker_([this] { work(); }) { worker_.detach(); }
    int get_num_threads() const override { return 2; }
    bool get_in_parallel() const override { return in_parallel; }
    uint64_t get_flags() const override { return 0; }
    void parallel_for(int n, const std::function<void(int, int)> &fn) override {
        if (n <= 1 || in_parallel) {
            for (int i = 0; i < n; ++i) fn(i, n);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &fn, count_ = n, next_ = 0, ++generation_;
        }
        wake_.notify_all();
        in_parallel = true;
        run(&fn, n);
        in_parallel = false;
        std::unique_lock<std::mutex> lock(mutex_);
        job_ = nullptr;
        done_.wait(lock, [&] { return busy_ == 0; });
    }

  private:
    void run(const std::function<void(int, int)> *job, int n) {
        for (int i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) (*job)(i, n);
    }
    void work() {
        in_parallel = true;
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return generation_ != seen && job_ != nullptr; });
            seen = generation_;
            auto *job = job_;
            int n = count_;
            ++busy_;
            lock.unlock();
            run(job, n);
            lock.lock();
            if (--busy_ == 0) done_.notify_all();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int, int)> *job_ = nullptr;
    int count_ = 0, busy_ = 0;
    std::atomic<int> next_{0};
    uint64_t generation_ = 0;
    std::thread worker_;
};

struct Layer {
    const char *name;
    int64_t n, c, h, w, o, k, stride, pad;
};

dnnl_engine *engine;
dnnl_stream *stream;

dnnl_memory_desc *plain(const dnnl_dims dims, int tag) {
    dnnl_memory_desc *md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, 4, dims, kF32, tag));
    return md;
}

// One operand: NCHW memory of the caller, and oneDNN's layout with a reorder where they differ.
struct Operand {
    dnnl_memory *user, *inner = nullptr;
    dnnl_primitive *reorder = nullptr;
    bool output;
    int arg;
};

Operand operand(int arg, bool output, const dnnl_dims dims, const dnnl_memory_desc *inner_md, float *data) {
    Operand a{nullptr, nullptr, nullptr, output, arg};
    dnnl_memory_desc *user_md = plain(dims, kTagAbcd);
    CHECK(dnnl_memory_create(&a.user, user_md, engine, data));
    if (!dnnl_memory_desc_equal(user_md, inner_md)) {
        CHECK(dnnl_memory_create(&a.inner, inner_md, engine, kAllocate));
        dnnl_primitive_desc *pd;
        if (output)
            CHECK(dnnl_reorder_primitive_desc_create(&pd, inner_md, engine, user_md, engine, nullptr));
        else
            CHECK(dnnl_reorder_primitive_desc_create(&pd, user_md, engine, inner_md, engine, nullptr));
        CHECK(dnnl_primitive_create(&a.reorder, pd));
    }
    return a;
}

double run_ms(dnnl_primitive *primitive, std::vector<Operand> &operands) {
    auto start = std::chrono::steady_clock::now();
    std::vector<dnnl_exec_arg> args;
    for (Operand &a : operands) {
        if (a.reorder && !a.output) {
            dnnl_exec_arg r[2] = {{kArgSrc, a.user}, {kArgDst, a.inner}};
            CHECK(dnnl_primitive_execute(a.reorder, stream, 2, r));
        }
        args.push_back({a.arg, a.inner ? a.inner : a.user});
    }
    CHECK(dnnl_primitive_execute(primitive, stream, static_cast<int>(args.size()), args.data()));
    for (Operand &a : operands)
        if (a.reorder && a.output) {
            dnnl_exec_arg r[2] = {{kArgSrc, a.inner}, {kArgDst, a.user}};
            CHECK(dnnl_primitive_execute(a.reorder, stream, 2, r));
        }
    CHECK(dnnl_stream_wait(stream));
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median_ms(dnnl_primitive *primitive, std::vector<Operand> &operands) {
    std::vector<double> t;
    for (int i = 0; i < 23; ++i) t.push_back(run_ms(primitive, operands));
    t.erase(t.begin(), t.begin() + 3);
    std::sort(t.begin(), t.end());
    return (t[9] + t[10]) / 2;
}

void bench(const Layer &l, bool blocked_data_gradient = false) {
    int64_t oh = (l.h + 2 * l.pad - l.k) / l.stride + 1, ow = (l.w + 2 * l.pad - l.k) / l.stride + 1;
    dnnl_dims x = {l.n, l.c, l.h, l.w}, wt = {l.o, l.c, l.k, l.k}, y = {l.n, l.o, oh, ow};
    dnnl_dims strides = {l.stride, l.stride}, dilates = {0, 0}, pad = {l.pad, l.pad};
    std::vector<float> xs(l.n * l.c * l.h * l.w, 0.5f), ws(l.o * l.c * l.k * l.k, 0.25f), ys(l.n * l.o * oh * ow, 1.f);
    // oneDNN's choice of layout, except plain NCHW where the written side has fewer than 16
    // channels (the rule of ms_gan/native/convolution.cpp)
    int fwd_tag = l.o < 16 ? kTagAbcd : kTagAny;
    int bwd_data_tag = l.c < 16 && !blocked_data_gradient ? kTagAbcd : kTagAny;
    dnnl_primitive_desc *fwd, *bwd_data, *bwd_weights;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&fwd, engine, kForwardTraining, kDirect, plain(x, fwd_tag),
                                                         plain(wt, fwd_tag), nullptr, plain(y, fwd_tag), strides,
                                                         dilates, pad, pad, nullptr));
    dnnl_primitive_desc *hint = fwd;
    if (bwd_data_tag != fwd_tag)
        CHECK(dnnl_convolution_forward_primitive_desc_create(&hint, engine, kForwardTraining, kDirect,
                                                             plain(x, bwd_data_tag), plain(wt, bwd_data_tag), nullptr,
                                                             plain(y, bwd_data_tag), strides, dilates, pad, pad,
                                                             nullptr));
    CHECK(dnnl_convolution_backward_data_primitive_desc_create(&bwd_data, engine, kDirect, plain(x, bwd_data_tag),
                                                               plain(wt, bwd_data_tag), plain(y, bwd_data_tag),
                                                               strides, dilates, pad, pad, hint, nullptr));
    dnnl_primitive_desc *any_fwd;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&any_fwd, engine, kForwardTraining, kDirect,
                                                         plain(x, kTagAny), plain(wt, kTagAny), nullptr,
                                                         plain(y, kTagAny), strides, dilates, pad, pad, nullptr));
    CHECK(dnnl_convolution_backward_weights_primitive_desc_create(&bwd_weights, engine, kDirect, plain(x, kTagAny),
                                                                  plain(wt, kTagAny), nullptr, plain(y, kTagAny),
                                                                  strides, dilates, pad, pad, any_fwd, nullptr));
    dnnl_primitive *p_fwd, *p_data, *p_weights;
    CHECK(dnnl_primitive_create(&p_fwd, fwd));
    CHECK(dnnl_primitive_create(&p_data, bwd_data));
    CHECK(dnnl_primitive_create(&p_weights, bwd_weights));
    std::vector<Operand> f = {operand(kArgSrc, false, x, dnnl_primitive_desc_query_md(fwd, kQuerySrc, 0), xs.data()),
                              operand(kArgWeights, false, wt, dnnl_primitive_desc_query_md(fwd, kQueryWeights, 0),
                                      ws.data()),
                              operand(kArgDst, true, y, dnnl_primitive_desc_query_md(fwd, kQueryDst, 0), ys.data())};
    std::vector<Operand> d = {
        operand(kArgDiffDst, false, y, dnnl_primitive_desc_query_md(bwd_data, kQueryDiffDst, 0), ys.data()),
        operand(kArgWeights, false, wt, dnnl_primitive_desc_query_md(bwd_data, kQueryWeights, 0), ws.data()),
        operand(kArgDiffSrc, true, x, dnnl_primitive_desc_query_md(bwd_data, kQueryDiffSrc, 0), xs.data())};
    std::vector<Operand> w = {
        operand(kArgSrc, false, x, dnnl_primitive_desc_query_md(bwd_weights, kQuerySrc, 0), xs.data()),
        operand(kArgDiffDst, false, y, dnnl_primitive_desc_query_md(bwd_weights, kQueryDiffDst, 0), ys.data()),
        operand(kArgDiffWeights, true, wt, dnnl_primitive_desc_query_md(bwd_weights, kQueryDiffWeights, 0),
                ws.data())};
    std::printf("| %s%s | %lldx%lldx%lld -> %lldx%lldx%lld, k%lld s%lld | %.2f / %.2f / %.2f |\n", l.name,
                blocked_data_gradient ? ", data gradient blocked" : "",
                (long long)l.c, (long long)l.h, (long long)l.w, (long long)l.o, (long long)oh, (long long)ow,
                (long long)l.k, (long long)l.stride, median_ms(p_fwd, f), median_ms(p_data, d),
                median_ms(p_weights, w));
}
}  // namespace

int main() {
    const dnnl_version_info *v = dnnl_version();
    std::printf("oneDNN %d.%d.%d (%s), CPU runtime %u (8: THREADPOOL)\n\n", v->major, v->minor, v->patch, v->hash,
                v->cpu_runtime);
    CHECK(dnnl_engine_create(&engine, kCpu, 0));
    auto *pool = new TwoThreads;   // never destroyed: its worker waits on it until the process ends
    CHECK(dnnl_threadpool_interop_stream_create(&stream, engine, static_cast<ThreadpoolInterface *>(pool)));
    std::printf("| layer (training batch) | convolution | forward / backward data / backward weights, ms |\n"
                "| --- | --- | ---: |\n");
    const Layer layers[] = {
        {"dcgan D conv2 (N=128)", 128, 64, 32, 32, 128, 4, 2, 1},
        {"dcgan D conv3 (N=128)", 128, 128, 16, 16, 256, 4, 2, 1},
        {"dcgan D conv1 (N=128)", 128, 3, 64, 64, 64, 4, 2, 1},
        {"cnn_gan 64x14x14 k3 s1 (N=32)", 32, 64, 14, 14, 64, 3, 1, 1},
        {"dcgan_mnist D conv2 (N=32)", 32, 64, 13, 13, 128, 3, 2, 0},
        {"dcgan_mnist D conv1 (N=32)", 32, 1, 28, 28, 64, 3, 2, 0},
        {"dcgan_mnist G deconv2, as a convolution (N=32)", 32, 64, 14, 14, 128, 4, 2, 1},
    };
    for (const Layer &l : layers) {
        bench(l);
        if (l.c < 16) bench(l, true);   // oneDNN 2.2 pads such a layer's data gradient to 16 channels
    }
    return 0;
}
