"""--verify: load SRC and DST into their frameworks' models the standard way and run the
parity forward checks on them. Each file is read once: convert hands over SRC as it read it."""
import mindspore as ms

from parity.common.checkpoints import DISCRIMINATOR, GENERATOR, MINDSPORE, SHORT, CheckpointError, framework_of
from torch_gan.checkpoint import to_tensors

from .read import read_checkpoint


def _load_native(path, ck, twins):
    """Load a MindSpore or PyTorch file, as read (`ck`), into the twins' models of its
    framework, the standard way (load_param_into_net / load_state_dict, nothing left out)."""
    pairs = {GENERATOR: twins.pairs()["G"], DISCRIMINATOR: twins.pairs()["D"]}
    if framework_of(path) == MINDSPORE:
        for net, arrays in ck.networks.items():   # MindSpore names as in the file, layout prefix aside
            params = {n: ms.Parameter(ms.Tensor(a), name=n) for n, a in arrays.items()}
            not_loaded, _ = ms.load_param_into_net(pairs[net][0], params, strict_load=True)
            if not_loaded:
                raise CheckpointError(f"{path}: parameters left unloaded: {not_loaded}")
    else:   # the state_dicts as torch.load gave them
        for net in ck.networks:
            pairs[net][1].load_state_dict(to_tensors(ck.source[net] if ck.training else ck.source))


def verify_files(src, dst, model=None, batch=4, seed=0, notes=None):
    """Read SRC and DST and verify them (verify_checkpoints)."""
    src_ck = read_checkpoint(src, model)
    return verify_checkpoints(src, src_ck, dst, read_checkpoint(dst, src_ck.model), batch, seed, notes)


def verify_checkpoints(src, src_ck, dst, dst_ck, batch=4, seed=0, notes=None):
    """Load SRC and DST (`src_ck`, `dst_ck`: as read_checkpoint read them) into their
    frameworks' models and run the parity forward checks on seeded inputs; returns
    parity.report.Check rows for the networks the files hold. Dropout is off in train mode,
    as in the parity check (said in `notes`, when given). MindSpore runs on CPU: call
    mindspore.set_device("CPU") before MindSpore first runs (the command line does;
    MindSpore refuses to set it later)."""
    from parity.check import forward_checks
    from parity.twins import Twins, draw_inputs

    if framework_of(src) == framework_of(dst):
        raise CheckpointError("--verify compares two frameworks: SRC and DST are both "
                              f"{framework_of(src)} files")
    twins = Twins(src_ck.model, seed, dropout_off=True)
    if twins.dropout_layers() and notes is not None:
        notes.append(f"--verify: dropout ({', '.join(twins.dropout_layers())}) off in train mode, as in "
                     f"the parity check: the frameworks' dropout masks cannot match")
    _load_native(src, src_ck, twins)
    _load_native(dst, dst_ck, twins)
    z, real = draw_inputs(twins.config, batch, seed)
    checks, _ = forward_checks(twins, z, real, notes)
    keep = tuple(f"{SHORT[n]} " for n in src_ck.networks)
    return [c for c in checks if c.name.startswith(keep)]
