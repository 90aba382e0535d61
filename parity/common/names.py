"""Parameter-name rules between MindSpore and PyTorch: the one place they live.

The twins have the same attribute names, so a parameter's path is the same in both;
only BatchNorm's own names differ:

    MindSpore                 PyTorch
    <bn>.gamma            <-> <bn>.weight
    <bn>.beta             <-> <bn>.bias
    <bn>.moving_mean      <-> <bn>.running_mean
    <bn>.moving_variance  <-> <bn>.running_var
    (none)                <-  <bn>.num_batches_tracked

A BatchNorm layer is recognised by its running mean, so the rules work on a bare
checkpoint with no model at hand.
"""

MS_TO_TORCH_BN = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
TORCH_TO_MS_BN = {torch_name: ms_name for ms_name, torch_name in MS_TO_TORCH_BN.items()}
NUM_BATCHES_TRACKED = "num_batches_tracked"


def _split(name):
    layer, _, leaf = name.rpartition(".")
    return layer, leaf


def _batchnorm_layers(names, running_mean_leaf):
    return {_split(n)[0] for n in names if _split(n)[1] == running_mean_leaf}


def ms_to_torch_names(ms_names):
    """{MindSpore name: PyTorch name} for a collection of MindSpore parameter names."""
    bn_layers = _batchnorm_layers(ms_names, "moving_mean")
    mapping = {}
    for name in ms_names:
        layer, leaf = _split(name)
        if layer in bn_layers and leaf in MS_TO_TORCH_BN:
            mapping[name] = f"{layer}.{MS_TO_TORCH_BN[leaf]}"
        else:
            mapping[name] = name
    return mapping


def torch_to_ms_names(torch_names):
    """{PyTorch name: MindSpore name}; `num_batches_tracked` maps to None (MindSpore has
    no such parameter)."""
    bn_layers = _batchnorm_layers(torch_names, "running_mean")
    mapping = {}
    for name in torch_names:
        layer, leaf = _split(name)
        if layer in bn_layers and leaf == NUM_BATCHES_TRACKED:
            mapping[name] = None
        elif layer in bn_layers and leaf in TORCH_TO_MS_BN:
            mapping[name] = f"{layer}.{TORCH_TO_MS_BN[leaf]}"
        else:
            mapping[name] = name
    return mapping


def ms_role(kind, torch_leaf):
    """MindSpore's name for a PyTorch parameter of a layer of the given kind."""
    return TORCH_TO_MS_BN.get(torch_leaf, torch_leaf) if kind == "batchnorm" else torch_leaf
