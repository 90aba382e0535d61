// The shared runtime of the native kernels (native.h) and the library's version check.
#include "native.h"

namespace ms_gan {

thread_local bool in_parallel = false;

Runtime &runtime() {
    static Runtime r;
    return r;
}

bool ensure_engine() {
    Runtime &s = runtime();
    if (s.stream) return true;
    CHECK(dnnl_engine_create(&s.engine, kCpuEngine, 0));
    s.pool = new Pool(cores());
    CHECK(dnnl_threadpool_interop_stream_create(&s.stream, s.engine, static_cast<ThreadpoolInterface *>(s.pool)));
    return true;
}

}  // namespace ms_gan

// 0 when the loaded oneDNN is one this library was written for (2.x, THREADPOOL runtime) and an
// engine and stream could be made; otherwise a code that ms_gan/native/__init__.py explains.
extern "C" int ms_gan_native_check(int *major, int *minor, int *patch) {
    using namespace ms_gan;
    const dnnl_version_info *v = dnnl_version();
    *major = v->major, *minor = v->minor, *patch = v->patch;
    if (v->major != 2 || v->minor < 2) return 1;
    if (v->cpu_runtime != kRuntimeThreadpool) return 2;
    std::lock_guard<std::mutex> lock(runtime().mutex);
    return ensure_engine() ? 0 : 3;
}
