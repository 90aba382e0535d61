"""Layout of the project's checkpoint files, shared by both trainers and the converter.

Weights-only files hold one network, under the model's own parameter names:
    MindSpore `.ckpt`: MindSpore names (`main.1.gamma`, `main.1.moving_mean`, ...)
    PyTorch `.pt`/`.pth`: a state_dict (`main.1.weight`, `main.1.running_mean`, ...)

Training checkpoints hold G, D, both Adam states, the epoch and the run's config:

    MindSpore `.ckpt` (mindspore.save_checkpoint of a list of {"name", "data"} entries):
        generator.<name>                  G's parameters and running statistics
        discriminator.<name>              D's
        optimizer_g.exp_avg.<name>        mindspore.mint.optim.Adam's first moment of G's <name>
        optimizer_g.exp_avg_sq.<name>     its second moment
        optimizer_g.state_step            its step count (one float32 scalar for all parameters)
        optimizer_d.*                     the same for D
        epoch                             int32 scalar: epochs completed
        config                            the run's config as a JSON string (append_dict)

    PyTorch `.pt` (torch.save of a dict, loadable with weights_only=True):
        {"generator": state_dict, "discriminator": state_dict,
         "optimizer_g": torch.optim.Adam state_dict, "optimizer_d": ...,
         "epoch": int, "config": dict}
    PyTorch's Adam state is keyed by parameter index, in the order of
    module.parameters(), which is the order of the trainable names of the MindSpore twin.
"""
GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
OPTIMIZER = {GENERATOR: "optimizer_g", DISCRIMINATOR: "optimizer_d"}
EXP_AVG = "exp_avg"
EXP_AVG_SQ = "exp_avg_sq"
STATE_STEP = "state_step"
EPOCH = "epoch"
CONFIG = "config"

MINDSPORE_SUFFIXES = (".ckpt",)
TORCH_SUFFIXES = (".pt", ".pth")
