"""`python -m parity trajectory MODEL --steps N`: both twins train N steps, and where they part.

Both start from the same weights (one seed) and train on the same real batches (the
embedded MNIST digits at the model's image shape) and the same noise, both drawn once in
numpy, each with its framework's trainer (ms_gan.train.TrainStep, torch_gan.train.TrainStep:
a D step, then a G step through the same G forward, Adam with PyTorch's math). After every
step it records both frameworks' D and G losses, D(x), D(G(z)) before and after the D step,
and the largest difference of any parameter or running statistic.

Beside the MindSpore run that the trainer makes (mint.optim.Adam), it runs MindSpore with
`mindspore.nn.Adam`, which puts epsilon in TensorFlow's place (docs/framework_differences.md#adam-epsilon), and
PyTorch against itself with every weight moved by one float32 ulp: how far one rounding
step at the start carries, the yardstick for the cross-framework runs.

Dropout layers stay off (as in the parity check): their masks come from each framework's RNG.
"""
from dataclasses import asdict, dataclass, field

import mindspore as ms
import numpy as np
import torch

import ms_gan.train
import torch_gan.train
from ms_gan.init import state_arrays as ms_state
from parity.common.streams import step_noise
from parity.common.configs import get_config
from parity.common.datasets import embedded_digits, epoch_order, labelled_images, load_image
from parity.common.files import write_text_atomic
from parity.common.frameworks import FRAMEWORKS, MINDSPORE as MS_KEY, TORCH as TORCH_KEY
from parity.common.pictures import save_line_plot
from parity.twins import Twins
from torch_gan.init import state_arrays as torch_state

TOLERANCES = (1e-4, 1e-2)    # relative difference of the losses
UPDATE_TOL = 1e-6            # absolute difference of the parameters after one step
# the variants' labels; a step's record keeps each side under its framework's key ("mindspore", "torch")
MS_NAME, TORCH_NAME = FRAMEWORKS[MS_KEY].display, FRAMEWORKS[TORCH_KEY].display
MINDSPORE, NN_ADAM, TORCH_ULP = MS_NAME, f"{MS_NAME} nn.Adam", f"{TORCH_NAME}, weights +1 ulp"
VARIANTS = (MINDSPORE, NN_ADAM, TORCH_ULP)
RUNNING_STATS = ("moving_mean", "moving_variance")


class NNAdam(ms.nn.Adam):
    """mindspore.nn.Adam with the optimizer factory's signature, which TrainStep calls."""
    lrs = ()    # nn.Adam's learning rate is its own parameter, renamed with the others

    def __init__(self, params, lr, betas):
        super().__init__(params, learning_rate=lr, beta1=betas[0], beta2=betas[1], eps=1e-8)


def real_batches(config, steps, batch, seed):
    """(steps, batch, C, H, W) float32 real digits in [-1, 1], in the trainers' epoch order,
    and their (steps, batch) classes, every one seen (None for a model without a class head)."""
    paths, labels = labelled_images(embedded_digits(), 10)
    channels, size, _ = config.image_shape
    order = np.concatenate([epoch_order(len(paths), seed, epoch)
                            for epoch in range(-(-steps * batch // len(paths)))])[:steps * batch]
    images = np.stack([load_image(paths[i], size, channels) for i in order])
    classes = labels[order].reshape(steps, batch) if config.num_classes else [None] * steps
    return images.reshape(steps, batch, *config.image_shape), classes


def noise(config, steps, batch, seed):
    return [step_noise(seed, 0, i, batch, config.noise_shape) for i in range(steps)]


@dataclass
class Side:
    """One framework's training run: its TrainStep and its two networks."""
    step: object
    nets: tuple

    def state(self):
        """{"G name" / "D name": array} of every trainable parameter. (Running statistics are
        left out: a variance of 100 carries float32 rounding of 1e-5.)"""
        get = ms_state if isinstance(self.nets[0], ms.nn.Cell) else torch_state
        return {f"{net} {name}": np.array(value) for net, model in zip("GD", self.nets)   # a copy: numpy views share memory
                for name, value in get(model).items() if not name.endswith(RUNNING_STATS)}


def _sides(model, seed, device, mode, lr, beta1, variants):
    """{"PyTorch": reference Side, variant: Side}, all from the same weights."""
    def ms_side(twins, optimizer):
        step = ms_gan.train.TrainStep(twins.ms_g, twins.ms_d, lr, beta1, twins.config.loss,
                                      optimizer=optimizer, mode=mode)
        return Side(step, (twins.ms_g, twins.ms_d))

    def torch_side(twins):
        return Side(torch_gan.train.TrainStep(twins.torch_g, twins.torch_d, lr, beta1, twins.config.loss),
                    (twins.torch_g, twins.torch_d))

    reference = Twins(model, seed, device)
    sides = {TORCH_NAME: torch_side(reference)}
    if MINDSPORE in variants:
        sides[MINDSPORE] = ms_side(reference, ms.mint.optim.Adam)
    if NN_ADAM in variants or TORCH_ULP in variants:
        other = Twins(model, seed, device)
        if NN_ADAM in variants:
            sides[NN_ADAM] = ms_side(other, NNAdam)
        if TORCH_ULP in variants:
            with torch.no_grad():
                for p in other.torch_g.parameters():
                    p.copy_(torch.nextafter(p, torch.full_like(p, np.inf)))
                for p in other.torch_d.parameters():
                    p.copy_(torch.nextafter(p, torch.full_like(p, np.inf)))
            sides[TORCH_ULP] = torch_side(other)
    return sides


@dataclass
class Variant:
    """One run against the PyTorch reference, step by step."""
    label: str
    steps: list = field(default_factory=list)   # per step: both frameworks' stats and the differences

    def within(self, tol):
        """Steps whose losses agree to `tol` relative before the first that does not."""
        return next((i for i, s in enumerate(self.steps) if not s["loss_rel"] <= tol), len(self.steps))

    def summary(self):
        first = self.steps[0] if self.steps else {}
        return {"label": self.label, "steps": len(self.steps),
                **{f"within {tol:g}": self.within(tol) for tol in TOLERANCES},
                "first update param diff": first.get("param_diff"),
                "first update param": first.get("param_name"),
                "first update elements over 1e-6": first.get("elements_over_update_tol"),
                "elements": first.get("elements"),
                "first update max change": first.get("update"),
                "last param diff": self.steps[-1]["param_diff"] if self.steps else None}


def _differences(state, reference):
    """(largest |difference|, the parameter holding it, how many elements differ by more than UPDATE_TOL)."""
    diffs = {name: np.abs(np.asarray(state[name], np.float64) - reference[name]) for name in reference}
    name = max(diffs, key=lambda n: diffs[n].max())
    return float(diffs[name].max()), name, int(sum((d > UPDATE_TOL).sum() for d in diffs.values()))


def run_trajectory(model, steps, batch=16, seed=0, device="CPU", mode="jit", lr=2e-4, beta1=0.5,
                   variants=VARIANTS, log=None):
    """{variant: Variant} of `steps` training steps compared with PyTorch's, step by step."""
    sides = _sides(model, seed, device, mode, lr, beta1, variants)
    reference = sides.pop(TORCH_NAME)
    config = get_config(model)
    (reals, classes), zs = real_batches(config, steps, batch, seed), noise(config, steps, batch, seed)
    results = {label: Variant(label) for label in sides}
    start = reference.state()
    for i in range(steps):
        torch_stats = reference.step(reals[i], zs[i], classes[i])
        torch_params = reference.state()
        for label, side in sides.items():
            stats = side.step(reals[i], zs[i], classes[i])
            param_diff, param_name, over = _differences(side.state(), torch_params)
            loss_rel = max(abs(stats[k] - torch_stats[k]) / abs(torch_stats[k]) for k in ("loss_d", "loss_g"))
            record = {"step": i + 1, "loss_rel": loss_rel, "param_diff": param_diff, "param_name": param_name,
                      MS_KEY if label != TORCH_ULP else "torch_ulp": stats, TORCH_KEY: torch_stats}
            if i == 0:
                record["update"] = _differences(torch_params, start)[0]
                record["elements_over_update_tol"] = over
                record["elements"] = sum(p.size for p in torch_params.values())
            results[label].steps.append(record)
        if log:
            log(i, results)
    return results


# ---------------------------------------------------------------- reports

def format_summary(results):
    lines = [f"{f'run (against {TORCH_NAME})':<26}  {'steps':>5}  {'within 1e-4':>11}  {'within 1e-2':>11}  "
             f"{'step-1 param diff':>17}  {'last param diff':>15}"]
    for v in results.values():
        s = v.summary()
        lines.append(f"{v.label:<26}  {s['steps']:5d}  {s['within 0.0001']:11d}  {s['within 0.01']:11d}  "
                     f"{s['first update param diff']:17.3e}  {s['last param diff']:15.3e}")
    return "\n".join(lines)


def first_parting(results):
    """Lines saying where each run first passes each tolerance."""
    lines = []
    for v in results.values():
        for tol in TOLERANCES:
            n = v.within(tol)
            if n < len(v.steps):
                s = v.steps[n]
                lines.append(f"{v.label}: losses first differ by more than {tol:g} relative at step {s['step']} "
                             f"({s['loss_rel']:.2e}; largest parameter difference {s['param_diff']:.2e}, {s['param_name']})")
            else:
                lines.append(f"{v.label}: losses within {tol:g} relative for all {len(v.steps)} steps")
    return lines


def format_markdown(title, results):
    lines = [f"### {title}", "", f"| run (against {TORCH_NAME}) | steps | within 1e-4 | within 1e-2 | step-1 param diff | last param diff |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for v in results.values():
        s = v.summary()
        lines.append(f"| {v.label} | {s['steps']} | {s['within 0.0001']} | {s['within 0.01']} | "
                     f"{s['first update param diff']:.2e} | {s['last param diff']:.2e} |")
    lines += ["", *[f"- {line}" for line in first_parting(results)], ""]
    main = results.get(MINDSPORE) or next(iter(results.values()))
    lines += [f"{main.label} against {TORCH_NAME}, step by step:", "",
              "| step | loss D (MS / PT) | loss G (MS / PT) | loss rel diff | param diff |", "| ---: | --- | --- | ---: | ---: |"]
    key = MS_KEY if main.label != TORCH_ULP else "torch_ulp"
    for s in main.steps:
        a, b = s[key], s[TORCH_KEY]
        lines.append(f"| {s['step']} | {a['loss_d']:.6f} / {b['loss_d']:.6f} | {a['loss_g']:.6f} / {b['loss_g']:.6f} | "
                     f"{s['loss_rel']:.2e} | {s['param_diff']:.2e} |")
    return "\n".join(lines) + "\n"


def write_json(path, model, args, results):
    import json
    record = {"model": model, **args, "tolerances": list(TOLERANCES),
              "summary": [v.summary() for v in results.values()],
              "variants": {label: asdict(v) for label, v in results.items()}}
    write_text_atomic(path, json.dumps(record, indent=1) + "\n")


def save_plot(path, title, results):
    """The loss and parameter differences against PyTorch over the steps, log scale."""
    lines = []
    for (label, v), color in zip(results.items(), ("tab:blue", "tab:orange", "tab:gray")):
        steps = [s["step"] for s in v.steps]
        lines += [(steps, [max(s["loss_rel"], 1e-12) for s in v.steps], {"color": color, "label": f"{label}: loss rel diff"}),
                  (steps, [max(s["param_diff"], 1e-12) for s in v.steps],
                   {"color": color, "linestyle": "--", "label": f"{label}: max param diff"})]
    save_line_plot(path, lines, title, "training step", f"difference from {TORCH_NAME}", size=(7, 4.2), log_y=True,
                   levels=TOLERANCES, title_size=10, legend_size=7, tight=True, dpi=90)


def main(args):
    variants = VARIANTS if not args.only_mindspore else (MINDSPORE,)

    def log(i, results):
        s = results[next(iter(results))].steps[-1]
        side = s.get(MS_KEY) or s.get("torch_ulp")
        print(f"step {i + 1:4d}  loss D {side['loss_d']:.6f}/{s[TORCH_KEY]['loss_d']:.6f}  "
              f"loss G {side['loss_g']:.6f}/{s[TORCH_KEY]['loss_g']:.6f}  D(x) {side['d_x']:.4f}  "
              f"D(G(z)) {side['d_g_z1']:.4f}  loss rel diff {s['loss_rel']:.2e}  "
              f"param diff {s['param_diff']:.2e} ({s['param_name']})",
              flush=True)

    title = (f"trajectory {args.model}: {MS_NAME} {ms.__version__} on {args.device} ({args.mode}), "
             f"{TORCH_NAME} {torch.__version__}, batch {args.batch}, seed {args.seed}")
    print(title)
    results = run_trajectory(args.model, args.steps, args.batch, args.seed, args.device, args.mode,
                             variants=variants, log=log)
    print(format_summary(results))
    for line in first_parting(results):
        print(line)
    settings = {"device": args.device, "mode": args.mode, "batch": args.batch, "seed": args.seed,
                "steps": args.steps, MS_KEY: ms.__version__, TORCH_KEY: torch.__version__}
    if args.json:
        write_json(args.json, args.model, settings, results)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(title, results))
    if args.plot:
        save_plot(args.plot, title, results)
    # Exit status 1 when the twins disagree on the first step's losses: a port error, not drift.
    first = results[MINDSPORE].steps[:1]
    return 0 if all(s["loss_rel"] <= TOLERANCES[0] for s in first) else 1
