// What the native CPU kernels share (docs/native.md): the part of oneDNN's 2.x C API they call,
// the thread pool oneDNN's THREADPOOL runtime needs, and the one engine, stream and lock.
#pragma once
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
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
int dnnl_threadpool_interop_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha,
                                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                                  int64_t ldc, void *threadpool);
}

namespace ms_gan {

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

extern thread_local bool in_parallel;

// threads - 1 workers and the calling thread run the n closures. Waking a sleeping thread
// took 50-130 us on this project's machine, longer than most kernels at batch 32
// (docs/native.md#threads), so no thread sleeps where the wait is short: the caller polls for
// the workers' last closures, and a worker that finished a job polls for the next one for
// kLinger (as OpenMP runtimes do) before it sleeps on a condition variable. Polling yields
// the core to any thread that wants it; a plain busy loop beside the kernels halved their
// speed (docs/bench_ops.md#the-spinning-wait).
class Pool : public ThreadpoolInterface {
  public:
    static constexpr std::chrono::microseconds kLinger{1000};

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
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = nullptr;
        }
        while (busy_.load() != 0) sched_yield();
    }

  private:
    void run_closures(const std::function<void(int, int)> *job, int n) {
        for (int i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) (*job)(i, n);
    }
    void work() {
        in_parallel = true;
        uint64_t seen = 0;
        for (;;) {
            const auto until = std::chrono::steady_clock::now() + kLinger;
            while (generation_.load() == seen && std::chrono::steady_clock::now() < until) sched_yield();
            const std::function<void(int, int)> *job;
            int n;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load() != seen; });
                seen = generation_.load();
                if (job_ == nullptr) continue;   // the caller ran that job alone
                job = job_;
                n = count_;
                ++busy_;   // under the lock, so the caller, clearing job_, then sees it
            }
            run_closures(job, n);
            --busy_;
        }
    }
    int threads_;
    std::vector<std::thread> workers_;   // live as long as the process (the pool is never destroyed)
    std::mutex mutex_;
    std::condition_variable wake_;
    const std::function<void(int, int)> *job_ = nullptr;
    int count_ = 0;
    std::atomic<int> next_{0}, busy_{0};
    std::atomic<uint64_t> generation_{0};
};

inline int cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
}

// What every kernel shares: oneDNN's engine, the stream on our thread pool, and one lock
// (MindSpore may launch two kernels at once: one native kernel runs at a time).
struct Runtime {
    dnnl_engine *engine = nullptr;
    dnnl_stream *stream = nullptr;
    Pool *pool = nullptr;
    std::mutex mutex;
};

Runtime &runtime();

#define CHECK(call)                                                                    \
    do {                                                                               \
        int status_ = (call);                                                          \
        if (status_ != 0) {                                                            \
            std::fprintf(stderr, "ms_gan native: %s failed (oneDNN status %d)\n", #call, status_); \
            return false;                                                              \
        }                                                                              \
    } while (0)

// Makes the engine, the pool and the stream on first use; false (and a line on stderr) if oneDNN fails.
bool ensure_engine();

// fn(begin, end) over [0, n) in chunks of at least `grain`, on the pool's threads (the calling
// thread one of them); the same split for the same n every time.
inline void parallel(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
    Pool *pool = runtime().pool;
    int64_t chunks = pool ? std::min<int64_t>(pool->get_num_threads(), n / (grain > 0 ? grain : 1)) : 1;
    if (chunks <= 1) {
        if (n > 0) fn(0, n);
        return;
    }
    pool->parallel_for(static_cast<int>(chunks), [&](int i, int count) { fn(n * i / count, n * (i + 1) / count); });
}

// Whether this CPU has AVX2 and FMA: the loops built twice (Adam's, tanh's) take their
// vector clone there, the plain one elsewhere; both round alike.
inline bool has_avx2_fma() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

// The element count of params[i], and whether it is float32.
inline int64_t elements(int *ndims, int64_t **shapes, int i) {
    int64_t n = 1;
    for (int d = 0; d < ndims[i]; ++d) n *= shapes[i][d];
    return n;
}
inline bool is_float32(const char **dtypes, int i) { return std::strcmp(dtypes[i], "float32") == 0; }

}  // namespace ms_gan

// MindSpore's aot signature of every entry point: params holds the inputs, then the outputs.
#define MS_GAN_ENTRY(name) \
    extern "C" int name(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *, void *)
