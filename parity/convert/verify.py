"""--verify: load SRC and DST into their frameworks' models the standard way and run the
parity forward checks on them."""
import mindspore as ms

from parity.common.checkpoints import DISCRIMINATOR, GENERATOR, MINDSPORE, SHORT, CheckpointError, framework_of
from torch_gan.checkpoint import load_torch_file

from .read import read_checkpoint


def _load_native(path, model, twins):
    """Load a MindSpore or PyTorch file into the twins' models of its framework, the
    standard way (load_param_into_net / load_state_dict, nothing left out). Returns the
    networks it holds."""
    ck = read_checkpoint(path, model)
    pairs = {GENERATOR: twins.pairs()["G"], DISCRIMINATOR: twins.pairs()["D"]}
    if framework_of(path) == MINDSPORE:
        for net, arrays in ck.networks.items():   # MindSpore names as in the file, layout prefix aside
            params = {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in arrays.items()}
            not_loaded, _ = ms.load_param_into_net(pairs[net][0], params, strict_load=True)
            if not_loaded:
                raise CheckpointError(f"{path}: parameters left unloaded: {not_loaded}")
    else:
        raw = load_torch_file(path)
        for net in ck.networks:
            pairs[net][1].load_state_dict(raw[net] if ck.training else raw)
    return tuple(ck.networks)


def verify_files(src, dst, model=None, batch=4, seed=0, notes=None):
    """Load SRC and DST into their frameworks' models and run the parity forward checks
    on seeded inputs; returns parity.report.Check rows for the networks the files hold.
    Dropout is off in train mode, as in the parity check (said in `notes`, when given).
    MindSpore runs on CPU: call mindspore.set_device("CPU") before MindSpore first runs
    (the command line does; MindSpore refuses to set it later)."""
    from parity.check import forward_checks
    from parity.twins import Twins, draw_inputs

    if framework_of(src) == framework_of(dst):
        raise CheckpointError("--verify compares two frameworks: SRC and DST are both "
                              f"{framework_of(src)} files")
    model = model or read_checkpoint(src).model
    twins = Twins(model, seed, dropout_off=True)
    if twins.dropout_layers() and notes is not None:
        notes.append(f"--verify: dropout ({', '.join(twins.dropout_layers())}) off in train mode, as in "
                     f"the parity check: the frameworks' dropout masks cannot match")
    networks = _load_native(src, model, twins)
    _load_native(dst, model, twins)
    z, real = draw_inputs(twins.config, batch, seed)
    checks, _ = forward_checks(twins, z, real, notes)
    keep = tuple(f"{SHORT[n]} " for n in networks)
    return [c for c in checks if c.name.startswith(keep)]
