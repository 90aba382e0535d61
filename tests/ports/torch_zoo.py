"""The PyTorch originals of ms_zoo.py's ports."""
import math

import torch
from torch import nn


class EncoderBlock(nn.Module):
    def __init__(self, dim=16, heads=2, dropout=0.1):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)
        self.attn_drop = nn.Dropout(dropout)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))

    def forward(self, x):
        b, s, d = x.shape
        h = self.norm1(x)
        q, k, v = (f(h).reshape(b, s, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        attn = self.attn_drop(self.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)))
        x = x + self.out((attn @ v).transpose(1, 2).reshape(b, s, d))
        return x + self.mlp(self.norm2(x))


class UNetBlock(nn.Module):
    def __init__(self, channels=4, groups=2):
        super().__init__()
        wide = 2 * channels
        self.down = nn.Sequential(nn.Conv2d(channels, wide, 3, padding=1), nn.GroupNorm(groups, wide), nn.SiLU(),
                                  nn.MaxPool2d(2))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(wide, channels, 3, padding=1),
                                nn.GroupNorm(groups, channels), nn.SiLU())
        self.join = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x):
        return self.join(torch.cat((x, self.up(self.down(x))), dim=1))


class Tagger(nn.Module):
    def __init__(self, vocab=20, dim=8, tags=5):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(2 * dim, dim, batch_first=True)
        self.head = nn.Linear(dim, tags)

    def forward(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        out, _ = self.gru(out)
        return self.head(out)


class StyleBlock(nn.Module):
    def __init__(self, channels=6):
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.norm = nn.InstanceNorm2d(channels, affine=True)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(self.act(self.norm(self.conv1(x))))


class AudioBlock(nn.Module):
    def __init__(self, channels=8):
        super().__init__()
        self.conv = nn.Conv1d(1, channels, 5, stride=2, padding=2)
        self.bn = nn.BatchNorm1d(channels)
        self.act = nn.LeakyReLU(0.2)
        self.dilated = nn.Conv1d(channels, channels, 3, dilation=2, padding=2)
        self.elu = nn.ELU()
        self.back = nn.ConvTranspose1d(channels, 1, 4, stride=2, padding=1)

    def forward(self, x):
        return self.back(self.elu(self.dilated(self.act(self.bn(self.conv(x))))))


def encoder_block():
    return EncoderBlock()


def tagger():
    return Tagger()
