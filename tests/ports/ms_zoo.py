"""Small MindSpore ports, written the way porters write them: each mirrors torch_zoo.py's
class of the same name, attribute for attribute. The keyword arguments are the settings a
port gets wrong; their defaults are the faithful port."""
import math

from mindspore import nn, ops


class EncoderBlock(nn.Cell):
    """A pre-norm transformer encoder block, attention written from its parts."""

    def __init__(self, dim=16, heads=2, dropout=0.1, epsilon=1e-5, approximate=False, keep_prob=None):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm((dim,), epsilon=epsilon)
        self.q = nn.Dense(dim, dim)
        self.k = nn.Dense(dim, dim)
        self.v = nn.Dense(dim, dim)
        self.softmax = nn.Softmax(axis=-1)
        self.attn_drop = nn.Dropout(p=dropout) if keep_prob is None else nn.Dropout(keep_prob=keep_prob)
        self.out = nn.Dense(dim, dim)
        self.norm2 = nn.LayerNorm((dim,), epsilon=epsilon)
        self.mlp = nn.SequentialCell(nn.Dense(dim, 2 * dim), nn.GELU(approximate=approximate),
                                     nn.Dropout(p=dropout), nn.Dense(2 * dim, dim))

    def construct(self, x):
        b, s, d = x.shape
        h = self.norm1(x)
        q, k, v = (f(h).reshape(b, s, self.heads, d // self.heads).transpose(0, 2, 1, 3)
                   for f in (self.q, self.k, self.v))
        attn = self.attn_drop(self.softmax(ops.matmul(q, k.transpose(0, 1, 3, 2)) / math.sqrt(d // self.heads)))
        x = x + self.out(ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(b, s, d))
        return x + self.mlp(self.norm2(x))


class UNetBlock(nn.Cell):
    """One level of a U-Net: down, up, and the skip connection joined by a 1x1 conv."""

    def __init__(self, channels=4, groups=2, eps=1e-5, pad_mode="pad", pool_stride=2):
        super().__init__()
        wide = 2 * channels
        padding = 1 if pad_mode == "pad" else 0
        self.down = nn.SequentialCell(nn.Conv2d(channels, wide, 3, pad_mode=pad_mode, padding=padding, has_bias=True),
                                      nn.GroupNorm(groups, wide, eps=eps), nn.SiLU(),
                                      nn.MaxPool2d(kernel_size=2, stride=pool_stride))
        self.up = nn.SequentialCell(nn.Upsample(scale_factor=2.0, mode="nearest", recompute_scale_factor=True),
                                    nn.Conv2d(wide, channels, 3, pad_mode="pad", padding=1, has_bias=True),
                                    nn.GroupNorm(groups, channels, eps=eps), nn.SiLU())
        self.join = nn.Conv2d(2 * channels, channels, 1, has_bias=True)

    def construct(self, x):
        return self.join(ops.cat((x, self.up(self.down(x))), axis=1))


class Tagger(nn.Cell):
    """A sequence tagger: Embedding, a 2-layer bidirectional LSTM, a GRU, a Dense head."""

    def __init__(self, vocab=20, dim=8, tags=5, bidirectional=True):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.gru = nn.GRU(2 * dim, dim, batch_first=True)
        self.head = nn.Dense(dim, tags)

    def construct(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        out, _ = self.gru(out)
        return self.head(out)


class StyleBlock(nn.Cell):
    """An image block with instance normalisation and PReLU. MindSpore's InstanceNorm2d
    does not run on CPU (docs/parity_check.md#your-own-port): the port writes it as a
    GroupNorm of one channel a group, the same normalisation."""

    def __init__(self, channels=6, eps=1e-5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, pad_mode="pad", padding=1, has_bias=True)
        self.norm = nn.GroupNorm(channels, channels, eps=eps)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, 3, 3, pad_mode="pad", padding=1, has_bias=True)

    def construct(self, x):
        return x + self.conv2(self.act(self.norm(self.conv1(x))))


class AudioBlock(nn.Cell):
    """A 1-D convolutional block over waveforms: strided and dilated Conv1d, BatchNorm1d,
    LeakyReLU, ELU, and a transposed Conv1d back to the input length."""

    def __init__(self, channels=8, momentum=0.9, slope=0.2, stride=2):
        super().__init__()
        self.conv = nn.Conv1d(1, channels, 5, stride=stride, pad_mode="pad", padding=2, has_bias=True)
        self.bn = nn.BatchNorm1d(channels, momentum=momentum)
        self.act = nn.LeakyReLU(alpha=slope)
        self.dilated = nn.Conv1d(channels, channels, 3, dilation=2, pad_mode="pad", padding=2, has_bias=True)
        self.elu = nn.ELU()
        self.back = nn.Conv1dTranspose(channels, 1, 4, stride=2, pad_mode="pad", padding=1, has_bias=True)

    def construct(self, x):
        return self.back(self.elu(self.dilated(self.act(self.bn(self.conv(x))))))


def encoder_block():
    return EncoderBlock()


def encoder_block_default_epsilon():
    """A port that left LayerNorm's epsilon at MindSpore's default, 1e-7."""
    return EncoderBlock(epsilon=1e-7)


def tagger():
    return Tagger()
