"""How a mindspore.nn layer and its torch.nn twin correspond, by class name: the one table.

For each pair of layer classes (`RULES`): the parameter names that differ (MindSpore's,
relative to the layer, against PyTorch's), the names one side may hold alone, the weights
whose layout differs (MindSpore's Conv1d family keeps a 2-D kernel: PyTorch's weight with
an axis of 1 at 2), and the settings that must agree, read from both layers and shown in
each framework's own terms. Names a rule does not rename keep their path: Dense/Linear,
Conv2d/3d and their transposes, RNN/LSTM/GRU have rules for their settings alone (their
names, layouts, gate order and bias layout are equal, measured in
docs/parity_check.md#known-layers), and a layer with no rule pairs by identical names.

Nothing here imports a framework: a layer is described by the names of its class and its
bases (`class_names`), settings are read with getattr, and `pair_parameters`,
`compare_settings` and the array helpers work on plain names, shapes, values and numpy
arrays, so a model dumped elsewhere can be paired with these rules too.
"""
import difflib
import math
from dataclasses import dataclass, field

from parity.common.frameworks import FRAMEWORKS, MINDSPORE
from parity.common.names import NUM_BATCHES_TRACKED


@dataclass(frozen=True)
class Setting:
    """A hyperparameter both layers must agree on. `ms` and `torch` read it from a live
    layer in that framework's terms (what a message shows); `ms_common`/`torch_common`
    read it in one convention both share, when the terms differ (momentum, padding)."""
    ms_term: str
    torch_term: str
    ms: object
    torch: object
    ms_common: object = None
    torch_common: object = None


@dataclass(frozen=True)
class Rule:
    """How one MindSpore layer class pairs with one PyTorch class."""
    ms_classes: tuple
    torch_classes: tuple
    names: dict = field(default_factory=dict)   # MindSpore name (relative) -> PyTorch name
    ms_only: tuple = ()       # MindSpore names that PyTorch's layer may lack (unused there)
    torch_only: tuple = ()    # PyTorch names MindSpore has no counterpart for
    settings: tuple = ()

    def torch_name(self, ms_leaf):
        return self.names.get(ms_leaf, ms_leaf)


def attr(name, default=None):
    return lambda layer: getattr(layer, name, default)


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _is_1d(layer):
    """MindSpore's Conv1d family runs as 2-D: its kernel, stride and dilation lead with 1."""
    return bool({"Conv1d", "Conv1dTranspose"} & set(class_names(layer)))


def _ms_spatial(name):
    def read(layer):
        value = _tuple(getattr(layer, name), len(_tuple(layer.kernel_size, 1)))
        return value[1:] if _is_1d(layer) else value
    return read


def _torch_spatial(name):
    return lambda layer: _tuple(getattr(layer, name), len(layer.kernel_size))


def _same_pads(kernel, dilation, stride):
    """Per-side pads of 'same' padding at stride 1 (both frameworks put any odd one last);
    at other strides MindSpore's depend on the input size."""
    if any(s != 1 for s in stride):
        return "same (input-dependent)"
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))


def _ms_pads(layer):
    kernel, dilation, stride = (_ms_spatial(a)(layer) for a in ("kernel_size", "dilation", "stride"))
    mode = layer.pad_mode.lower()
    if mode == "same":
        return _same_pads(kernel, dilation, stride)
    if mode == "valid":
        return ((0, 0),) * len(kernel)
    pads = _tuple(layer.padding, 2 * len(kernel) + (2 if _is_1d(layer) else 0))
    pairs = tuple(zip(pads[::2], pads[1::2]))
    return pairs[1:] if _is_1d(layer) else pairs


def _torch_pads(layer):
    kernel, dilation, stride = layer.kernel_size, layer.dilation, layer.stride
    if layer.padding == "same":
        return _same_pads(kernel, dilation, stride)
    if layer.padding == "valid":
        return ((0, 0),) * len(kernel)
    return tuple((p, p) for p in _tuple(layer.padding, len(kernel)))


def _ms_padding_shown(layer):
    return f"pad_mode {layer.pad_mode!r}" + (f" padding {layer.padding}" if layer.pad_mode.lower() == "pad" else "")


def _conv_settings(transpose=False):
    settings = (
        Setting("stride", "stride", _ms_spatial("stride"), _torch_spatial("stride")),
        Setting("pad_mode/padding", "padding", _ms_padding_shown, attr("padding"), _ms_pads, _torch_pads),
        Setting("dilation", "dilation", _ms_spatial("dilation"), _torch_spatial("dilation")),
        Setting("group", "groups", attr("group"), attr("groups")),
        Setting("has_bias", "bias", attr("has_bias"), lambda m: m.bias is not None),
        Setting("padding mode", "padding_mode", lambda c: "zeros", attr("padding_mode")),
    )
    if transpose:
        settings += (Setting("output_padding", "output_padding",
                             lambda c: _tuple(getattr(c, "output_padding", 0), len(_ms_spatial("kernel_size")(c))),
                             _torch_spatial("output_padding")),)
    return settings


def _ms_momentum(layer):
    """MindSpore's momentum, shown with PyTorch's equivalent: MindSpore's BatchNorm keeps
    1 - momentum (PyTorch's convention) in `momentum`."""
    return f"{1.0 - layer.momentum:g} (PyTorch's {layer.momentum:g})"


def _ms_batch_statistics(layer):
    """use_batch_statistics: None (batch in train mode, running in eval) is PyTorch's
    track_running_stats=True; True (always the batch) is track_running_stats=False."""
    return {None: True, True: False, False: "always running (no PyTorch twin)"}[layer.use_batch_statistics]


def _batchnorm_settings(ms_layer=lambda cell: cell):
    inner = lambda read: (lambda cell: read(ms_layer(cell)))   # noqa: E731  BatchNorm3d's sits in bn2d
    return (
        Setting("eps", "eps", inner(attr("eps")), attr("eps")),
        Setting("momentum", "momentum", inner(_ms_momentum), attr("momentum"),
                inner(lambda c: c.momentum), attr("momentum")),
        Setting("use_batch_statistics", "track_running_stats", inner(attr("use_batch_statistics")),
                attr("track_running_stats"), inner(_ms_batch_statistics), attr("track_running_stats")),
        Setting("affine", "affine", inner(lambda c: c.gamma.requires_grad), attr("affine")),
    )


BATCHNORM_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                   "moving_variance": "running_var"}
AFFINE_NAMES = {"gamma": "weight", "beta": "bias"}


def dropout_p(layer):
    """MindSpore's Dropout drops `p` when given, else 1 - keep_prob (keep_prob is then stale)."""
    p = getattr(layer, "p", None)
    return p if p is not None else 1.0 - layer.keep_prob


def _ms_dropout_shown(layer):
    p = getattr(layer, "p", None)
    return f"p {p:g}" if p is not None else f"keep_prob {layer.keep_prob:g}"


def _normalized_axes(layer):
    """How many trailing axes MindSpore's LayerNorm normalises: -begin_norm_axis, or (a
    positive axis, which depends on the input's rank) its normalized_shape's length."""
    return -layer.begin_norm_axis if layer.begin_norm_axis < 0 else len(layer.normalized_shape)


def _upsample_scale(value):
    return None if value is None else tuple(float(v) for v in _tuple(value, 1))


def _rnn_settings():
    return tuple(Setting(ms, pt, attr(ms), attr(pt)) for ms, pt in (
        ("hidden_size", "hidden_size"), ("num_layers", "num_layers"), ("bidirectional", "bidirectional"),
        ("batch_first", "batch_first"), ("has_bias", "bias"), ("dropout", "dropout")))


def _pool_settings():
    kernel = lambda read: (lambda layer: _tuple(read(layer), 2))   # noqa: E731
    return (Setting("kernel_size", "kernel_size", kernel(attr("kernel_size")), kernel(attr("kernel_size"))),
            Setting("stride", "stride", kernel(attr("stride")), kernel(attr("stride"))),
            Setting("pad_mode/padding", "padding", _ms_pool_padding_shown, attr("padding"),
                    _ms_pool_pads, lambda m: _tuple(m.padding, 2)))


def _ms_pool_pads(layer):
    """MindSpore's pooling pads per spatial axis (its 'pad' mode keeps them as (0, h, w))."""
    mode = layer.pad_mode.upper()
    if mode == "VALID":
        return (0, 0)
    return tuple(_tuple(layer.padding, 2)[-2:]) if mode == "PAD" else "same (input-dependent)"


def _ms_pool_padding_shown(layer):
    return f"pad_mode {layer.pad_mode!r}" + (f" padding {layer.padding}" if layer.pad_mode.upper() == "PAD" else "")


EPS = Setting("eps", "eps", attr("eps"), attr("eps"))

RULES = (
    Rule(("BatchNorm1d", "BatchNorm2d"), ("BatchNorm1d", "BatchNorm2d"), BATCHNORM_NAMES,
         torch_only=(NUM_BATCHES_TRACKED,), settings=_batchnorm_settings()),
    Rule(("BatchNorm3d",), ("BatchNorm3d",), {f"bn2d.{k}": v for k, v in BATCHNORM_NAMES.items()},
         torch_only=(NUM_BATCHES_TRACKED,), settings=_batchnorm_settings(lambda cell: cell.bn2d)),
    Rule(("LayerNorm",), ("LayerNorm",), AFFINE_NAMES, settings=(
        Setting("epsilon", "eps", attr("epsilon"), attr("eps")),
        Setting("begin_norm_axis (last axes)", "normalized_shape (last axes)", attr("begin_norm_axis"),
                attr("normalized_shape"), _normalized_axes, lambda m: len(m.normalized_shape)),
        Setting("affine", "elementwise_affine", lambda c: c.gamma.requires_grad, attr("elementwise_affine")))),
    Rule(("GroupNorm",), ("GroupNorm",), AFFINE_NAMES, settings=(
        EPS, Setting("num_groups", "num_groups", attr("num_groups"), attr("num_groups")),
        Setting("affine", "affine", attr("affine"), attr("affine")))),
    # MindSpore's InstanceNorm always holds gamma, beta and running statistics (gamma and
    # beta frozen without affine); PyTorch's only with affine / track_running_stats.
    Rule(("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
         BATCHNORM_NAMES, ms_only=tuple(BATCHNORM_NAMES), torch_only=(NUM_BATCHES_TRACKED,), settings=(
             EPS, Setting("momentum", "momentum", attr("momentum"), attr("momentum")),
             Setting("affine", "affine", lambda c: c.gamma.requires_grad, attr("affine")))),
    # An InstanceNorm written as a GroupNorm of one channel a group (MindSpore's
    # InstanceNorm does not run on CPU): the same normalisation, without running statistics.
    Rule(("GroupNorm",), ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), AFFINE_NAMES, settings=(
        EPS, Setting("num_groups", "channels a group", attr("num_groups"), lambda m: 1,
                     lambda c: c.num_channels // c.num_groups, lambda m: 1),
        Setting("affine", "affine", attr("affine"), attr("affine")),
        Setting("(no running statistics)", "track_running_stats", lambda c: False, attr("track_running_stats")))),
    Rule(("Embedding",), ("Embedding",), {"embedding_table": "weight"}, settings=(
        Setting("padding_idx", "padding_idx", attr("padding_idx"), attr("padding_idx")),)),
    Rule(("PReLU",), ("PReLU",), {"w": "weight"}),
    Rule(("Dense",), ("Linear",), settings=(Setting("has_bias", "bias", attr("has_bias"), lambda m: m.bias is not None),
                                            Setting("activation", "(none)", attr("activation"), lambda m: None))),
    Rule(("Conv1d",), ("Conv1d",), settings=_conv_settings()),
    Rule(("Conv1dTranspose",), ("ConvTranspose1d",), settings=_conv_settings(transpose=True)),
    Rule(("Conv2d", "Conv3d"), ("Conv2d", "Conv3d"), settings=_conv_settings()),
    Rule(("Conv2dTranspose", "Conv3dTranspose"), ("ConvTranspose2d", "ConvTranspose3d"),
         settings=_conv_settings(transpose=True)),
    Rule(("RNN", "LSTM", "GRU"), ("RNN", "LSTM", "GRU"), settings=_rnn_settings()),
    Rule(("MultiheadAttention",), ("MultiheadAttention",), settings=tuple(
        Setting(name, name, attr(name), attr(name)) for name in ("num_heads", "dropout", "batch_first"))),
    Rule(("LeakyReLU",), ("LeakyReLU",), settings=(Setting("alpha", "negative_slope", attr("alpha"),
                                                           attr("negative_slope")),)),
    Rule(("ELU",), ("ELU",), settings=(Setting("alpha", "alpha", lambda c: c.elu.alpha, attr("alpha")),)),
    Rule(("GELU",), ("GELU",), settings=(Setting("approximate", "approximate", attr("approximate"),
                                                 attr("approximate")),)),
    Rule(("Softmax",), ("Softmax",), settings=(Setting("axis", "dim", lambda c: c.softmax.axis, attr("dim"),
                                                       lambda c: _tuple(c.softmax.axis, 1)[0], attr("dim")),)),
    Rule(("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"), ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"),
         settings=(Setting("p/keep_prob", "p", _ms_dropout_shown, attr("p"), dropout_p, attr("p")),)),
    # the project's own dropout, masks from the run's seed (ms_gan/models/dropout.py and its twin)
    Rule(("ms_gan.models.dropout.Dropout2d",), ("torch_gan.models.dropout.Dropout2d",),
         settings=(Setting("p", "p", attr("p"), attr("p")), Setting("channels", "channels", attr("channels"),
                                                                     attr("channels")))),
    Rule(("Upsample",), ("Upsample",), settings=(
        Setting("mode", "mode", attr("mode"), attr("mode")),
        Setting("align_corners", "align_corners", attr("align_corners"), attr("align_corners"),
                lambda c: bool(c.align_corners), lambda m: bool(m.align_corners)),
        Setting("scale_factor", "scale_factor", attr("scale_factor"), attr("scale_factor"),
                lambda c: _upsample_scale(c.scale_factor), lambda m: _upsample_scale(m.scale_factor)),
        Setting("size", "size", attr("size"), attr("size")))),
    Rule(("MaxPool2d", "AvgPool2d"), ("MaxPool2d", "AvgPool2d"), settings=_pool_settings()),
    Rule(("Flatten",), ("Flatten",), settings=(Setting("start_dim", "start_dim", attr("start_dim"), attr("start_dim")),
                                               Setting("end_dim", "end_dim", attr("end_dim"), attr("end_dim")))),
)


def class_names(layer):
    """The names of a layer's class and its bases, most derived first: a framework's own
    class by its bare name ("Conv2d"), any other as module.name, so that a user's class
    called Upsample is not taken for the framework's."""
    return [cls.__name__ if cls.__module__.split(".")[0] in FRAMEWORKS else f"{cls.__module__}.{cls.__name__}"
            for cls in type(layer).__mro__]


def _has(rule_classes, classes, own):
    """Whether one of `classes` is one of a rule's; a user's own rule (`own`) names its
    classes bare or as module.name."""
    return any(c in rule_classes or (own and c.rpartition(".")[2] in rule_classes) for c in classes)


def find_rule(ms_classes, torch_classes, rules=()):
    """The rule for these class names (class_names of each layer): the first of a user's
    `rules`, else of RULES, whose classes hold one of each side's; or None."""
    for own, group in ((True, rules), (False, RULES)):
        for rule in group:
            if _has(rule.ms_classes, ms_classes, own) and _has(rule.torch_classes, torch_classes, own):
                return rule
    return None


# ---------------------------------------------------------------- names


class UnmatchedNames(KeyError):
    """Parameters of one model with no counterpart in the other; the message lists both
    sides' leftovers with their nearest candidates."""

    def __str__(self):
        return self.args[0]


def translate(path, mapping):
    """A MindSpore path in PyTorch's terms under a user's mapping: a dict of MindSpore
    names or layer paths (the longest matching prefix wins), or a callable returning the
    PyTorch path or None (unchanged)."""
    if mapping is None:
        return path
    if callable(mapping):
        new = mapping(path)
        return path if new is None else new
    if path in mapping:
        return mapping[path]
    prefixes = [p for p in mapping if path.startswith(p + ".")]
    if not prefixes:
        return path
    best = max(prefixes, key=len)
    return mapping[best] + path[len(best):]


def _layer_of(name, layers):
    """The deepest layer path that owns parameter `name` ('' is the model)."""
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        path = ".".join(parts[:i])
        if path in layers:
            return path
    return ""


def pair_parameters(ms_layers, torch_layers, ms_params, torch_params, mapping=None, rules=()):
    """{MindSpore parameter name: PyTorch name} of two models.

    ms_layers / torch_layers: {layer path: class names (class_names)}; ms_params /
    torch_params: {parameter or buffer name: shape}. A MindSpore layer pairs with the
    PyTorch layer at its path (after `mapping`); where the pair has a rule (`rules` first,
    then RULES) its names are renamed by it, every other name keeps its path. Raises
    UnmatchedNames listing what is left on either side, and ValueError for shapes that
    differ beyond a rule's reshape."""
    pairs, dropped_torch = {}, set()
    for ms_path, ms_classes in ms_layers.items():
        torch_path = translate(ms_path, mapping) if ms_path else ms_path
        torch_classes = torch_layers.get(torch_path)
        rule = torch_classes and find_rule(ms_classes, torch_classes, rules)
        if not rule:
            continue
        prefix, torch_prefix = (ms_path + "." if ms_path else ""), (torch_path + "." if torch_path else "")
        for name in ms_params:
            leaf = name[len(prefix):]
            if name.startswith(prefix) and (leaf in rule.names or leaf in rule.ms_only or
                                            _layer_of(name, ms_layers) == ms_path):
                target = torch_prefix + rule.torch_name(leaf)
                if target in torch_params or leaf not in rule.ms_only:
                    pairs[name] = target
                else:
                    pairs[name] = None           # PyTorch's layer has no such tensor: nothing to copy
        dropped_torch.update(torch_prefix + leaf for leaf in rule.torch_only if torch_prefix + leaf in torch_params)
    for name in ms_params:
        pairs.setdefault(name, translate(name, mapping))
    _check_names(pairs, torch_params, dropped_torch)
    _check_shapes(pairs, ms_params, torch_params)
    return pairs


def _nearest(name, candidates):
    near = difflib.get_close_matches(name, candidates, n=2, cutoff=0.4)
    return f"nearest {', '.join(near)}" if near else "nothing near"


def _check_names(pairs, torch_params, dropped_torch):
    ms_left = sorted(n for n, t in pairs.items() if t is not None and t not in torch_params)
    taken = set(pairs.values()) | dropped_torch
    torch_left = sorted(n for n in torch_params if n not in taken)
    if not ms_left and not torch_left:
        return
    lines = []
    if ms_left:
        lines.append(f"the PyTorch model has nothing for MindSpore's {ms_left}:")
        lines += [f"  {n}{'' if pairs[n] == n else f' (as {pairs[n]})'}: {_nearest(pairs[n], torch_left)}"
                  for n in ms_left]
    if torch_left:
        lines.append(f"the MindSpore model has nothing for PyTorch's {torch_left}:")
        lines += [f"  {n}: {_nearest(n, ms_left)}" for n in torch_left]
    lines.append("give a mapping (a dict of MindSpore names or layer paths to PyTorch's, or a callable) "
                 "for twins whose names differ")
    raise UnmatchedNames("\n".join(lines))


def _check_shapes(pairs, ms_params, torch_params):
    """Shapes must be equal, or MindSpore's PyTorch's with an axis of 1 at 2 (the Conv1d
    family's kernel: the same data order, so a reshape copies it)."""
    wrong = []
    for name, target in pairs.items():
        if target is None:
            continue
        ms_shape, torch_shape = tuple(ms_params[name]), tuple(torch_params[target])
        if ms_shape != torch_shape and ms_shape != inserted_axis(torch_shape):
            wrong.append(f"{name} {ms_shape} against PyTorch's {target} {torch_shape}")
    if wrong:
        raise ValueError("shapes differ: " + "; ".join(wrong))


def inserted_axis(shape):
    """PyTorch's Conv1d-family weight shape as MindSpore's (an axis of 1 at 2)."""
    return tuple(shape[:2]) + (1,) + tuple(shape[2:]) if len(shape) >= 3 else tuple(shape)


def to_ms_array(array, ms_shape):
    """A PyTorch array in MindSpore's layout (a numpy reshape: the data order is the same)."""
    return array if tuple(array.shape) == tuple(ms_shape) else array.reshape(ms_shape)


def to_torch_array(array, torch_shape):
    return array if tuple(array.shape) == tuple(torch_shape) else array.reshape(torch_shape)


# ---------------------------------------------------------------- settings


def read_settings(rule, layer, framework):
    """[(term, shown value, comparable value)] of a live layer under `rule`;
    framework is MINDSPORE or TORCH. Plain values: a dump can carry them."""
    rows = []
    for s in rule.settings:
        if framework == MINDSPORE:
            read, common, term = s.ms, s.ms_common or s.ms, s.ms_term
        else:
            read, common, term = s.torch, s.torch_common or s.torch, s.torch_term
        rows.append((term, read(layer), common(layer)))
    return rows


def _same(a, b):
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
                and not isinstance(b, bool) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12))
    return a == b


def shown(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def compare_settings(layer_name, ms_rows, torch_rows):
    """['layer: MindSpore epsilon 1e-07, PyTorch eps 1e-05', ...] for each setting whose
    comparable values differ (rows from read_settings, one list per framework)."""
    return [f"{layer_name}: MindSpore {ms_term} {shown(ms_shown)}, PyTorch {torch_term} {shown(torch_shown)}"
            for (ms_term, ms_shown, ms_value), (torch_term, torch_shown, torch_value) in zip(ms_rows, torch_rows)
            if not _same(ms_value, torch_value)]
