"""mindspore.mint.optim.Adam with its step as one native kernel (adam.cpp, docs/native.md#adam).

mint.optim.Adam (PyTorch's Adam: docs/framework_differences.md#adam-epsilon) issues about
twelve kernels a parameter; on CPU each costs MindSpore's fixed time per kernel, which for the
MLP models is most of the train step. `Adam` keeps its parameters, state and their names
(exp_avg.*, exp_avg_sq.*, state_step: checkpoints are unchanged) and the bias corrections it
computes in the graph, and hands the elementwise update of every parameter to one kernel that
does the same float32 operations in the same order: the same bits, in place.

Where ms_gan.native is off, or for what the kernel does not cover (weight decay, amsgrad,
maximize, several parameter groups, a dtype other than float32), it is mint.optim.Adam itself.
"""
import mindspore as ms
from mindspore import mint, ops
from mindspore.ops import signature

from ms_gan import native


def _in_place_op(library, count):
    """The aot op ms_gan_adam over `count` parameters: hyper, step, then p, g, m, v of each;
    p, m and v are written in place (declared to MindSpore so that every later read of them
    waits for it)."""
    written = {"p", "m", "v"}
    names = ["hyper", "step"] + [f"{kind}{i}" for kind in "pgmv" for i in range(count)]

    class AdamStep(ops.Custom):
        __mindspore_signature__ = tuple(
            signature.make_sig(name, signature.sig_rw.RW_WRITE if name[0] in written and name != "hyper"
                               else signature.sig_rw.RW_READ) for name in names)

    op = AdamStep(f"{library}:ms_gan_adam", out_shape=lambda *shapes: (1,), out_dtype=lambda *dtypes: ms.float32,
                  func_type="aot")
    op.add_prim_attr("side_effect_mem", True)
    return op


class Adam(mint.optim.Adam):
    """mint.optim.Adam, its step one native kernel where ms_gan.native is on (see the module)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
        library = native.library()
        covered = (len(self.param_groups) == 1 and not weight_decay and not amsgrad and not maximize
                   and all(p.dtype == ms.float32 for p in self.parameters))
        self.fused = library is not None and covered
        if self.fused:
            self.step_op = _in_place_op(library, len(self.parameters))

    def construct(self, gradients):
        if not self.fused:
            return super().construct(gradients)
        self.assignadd(self.state_step, self.increase_tensor)
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        # the scalars as mint.optim.Adam's arithmetic takes them: 1 - beta is float32 arithmetic
        # under ms.jit (9.99987e-4 for 0.999), Python's (then rounded: 1.0e-3) in PyNative mode
        hyper = ms.Tensor([beta1, 1 - beta1, beta2, 1 - beta2, group["eps"]], ms.float32)
        bias_correction1 = 1 - beta1 ** self.state_step
        bias_correction2 = 1 - beta2 ** self.state_step
        neg_step_size = -mint.div(group.get("lr"), bias_correction1)
        sqrt_bias_correction2 = mint.sqrt(bias_correction2)
        step = ops.concat((neg_step_size.reshape(1), sqrt_bias_correction2.reshape(1)))
        self.step_op(hyper, step, *self.parameters, *gradients, *self.exp_avg, *self.exp_avg_sq)
        return True
