"""What keeps a model's two files, or any two twin modules, from being twins."""
import importlib


def public_classes(module):
    """Names of the classes a module defines itself (not those it imports), without a leading _."""
    return {name for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__ and not name.startswith("_")}


def twin_differences(config):
    """What keeps a model's two files from being twins, as [str] (empty when they are): the
    same public classes, and for G and D the same parameter paths (PyTorch's names through
    parity/common/names.py) with the trainable ones in the same order (the converter maps
    Adam's moments by it)."""
    from parity.common.names import NUM_BATCHES_TRACKED, ms_to_torch_names

    problems = []
    ms_module, torch_module = map(importlib.import_module, (config.ms_module, config.torch_module))
    if public_classes(ms_module) != public_classes(torch_module):
        problems.append(f"classes: {config.ms_module} {sorted(public_classes(ms_module))}, "
                        f"{config.torch_module} {sorted(public_classes(torch_module))}")
    for net, network, kwargs in (("G", "Generator", config.generator_kwargs),
                                 ("D", "Discriminator", config.discriminator_kwargs)):
        ms_net, torch_net = (getattr(module, network)(**kwargs) for module in (ms_module, torch_module))
        ms_params = list(ms_net.parameters_and_names())
        as_torch = ms_to_torch_names([name for name, _ in ms_params])
        torch_names = [n for n in torch_net.state_dict() if not n.endswith(NUM_BATCHES_TRACKED)]
        if sorted(as_torch.values()) != sorted(torch_names):
            problems.append(f"{net} parameters: MindSpore {sorted(as_torch.values())}, PyTorch {sorted(torch_names)}")
        trainable = [as_torch[name] for name, param in ms_params if param.requires_grad]
        if trainable != [name for name, _ in torch_net.named_parameters()]:
            problems.append(f"{net} trainable order: MindSpore {trainable}, "
                            f"PyTorch {[name for name, _ in torch_net.named_parameters()]}")
    return problems
