"""What keeps a model's two files, or any two twin modules, from being twins."""
import importlib
import inspect
from pathlib import Path


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


# The frameworks' own names of one hook: a MindSpore Cell's construct is a PyTorch Module's forward.
HOOKS = {"construct": "forward", "extend_repr": "extra_repr"}


def package_modules(package):
    """The dotted names, relative to `package` ("" for the package itself), of every module
    file under it."""
    root = Path(importlib.import_module(package).__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def public_api(module):
    """{name: None for a function, the sorted public method names for a class} of what a
    module defines itself (not what it imports), without a leading _; hooks under
    PyTorch's names."""
    api = {}
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, type):
            methods = (n for n, v in vars(value).items() if not n.startswith("_")
                       and (callable(v) or isinstance(v, (staticmethod, classmethod, property))))
            api[name] = sorted(HOOKS.get(n, n) for n in methods)
        elif inspect.isfunction(value):
            api[name] = None
    return api


def mirror_differences(ms_package, torch_package):
    """{dotted path relative to the packages: what differs} of two twin packages: a module
    file that one has and the other has not; a public function or class one module defines
    and its twin does not; a public method one class has and its twin has not."""
    found = {}
    ms_modules, torch_modules = package_modules(ms_package), package_modules(torch_package)
    for name in sorted(set(ms_modules) ^ set(torch_modules)):
        found[name] = f"module only in {ms_package if name in ms_modules else torch_package}"
    for name in sorted(set(ms_modules) & set(torch_modules)):
        ms_api, torch_api = (public_api(importlib.import_module(".".join(filter(None, (package, name)))))
                             for package in (ms_package, torch_package))
        prefix = f"{name}." if name else ""
        for item in sorted(set(ms_api) ^ set(torch_api)):
            found[prefix + item] = f"only in {ms_package if item in ms_api else torch_package}"
        for item in sorted(set(ms_api) & set(torch_api)):
            ms_methods, torch_methods = ms_api[item], torch_api[item]
            if (ms_methods is None) != (torch_methods is None):
                found[prefix + item] = "a function in one, a class in the other"
            elif ms_methods is not None:
                for method in sorted(set(ms_methods) ^ set(torch_methods)):
                    found[f"{prefix}{item}.{method}"] = \
                        f"method only in {ms_package if method in ms_methods else torch_package}"
    return found
