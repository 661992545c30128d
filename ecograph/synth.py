"""Seeded generator of realistic synthetic Hub snapshots, at any size.

The output is the snapshot format of the fake Hub and of ``ecograph import``: JSONL (gzipped
when the file name ends with ``.gz``), one Hub model object per line, with the
``base_model:ORG/NAME`` and ``base_model:<relation>:ORG/NAME`` tags of every direct parent.

The model behind it, in the order the generator runs (everything vectorised with numpy except
the naming pass, which needs each parent's name before its children's):

- **time**: creation instants grow exponentially from 2019 to late 2025 (the Hub's growth);
  models are indexed in creation order, so a parent is always older than its children.
- **parents**: about 28% of models declare a parent. A child picks its parent with
  probability proportional to the parent's *fitness* among models created before it, most
  often within a recency window (new foundations attract derivatives fast). Fitness is
  heavy-tailed (Pareto): a few foundations get families of thousands (tens of thousands at
  2M models), most get none. Finetunes and merges can become parents (chains up to depth
  ~10); quantizations almost never do, adapters rarely.
- **relations** of models with a parent: adapter ~43%, finetune ~36%, quantized ~19%,
  merge ~2%. Merges have 2-5 parents, mostly from the first parent's family, sometimes
  across families (bridges).
- **real releases** (:data:`RELEASES`): the major series (Llama 2 to 3.3, Mistral 7B to
  Small, Qwen1.5 to Qwen3, Gemma 1 to 3, Phi-2 to Phi-4, DeepSeek-R1 and its distills,
  Falcon, SmolLM2, ...) appear on their release dates with their sizes, real ids, licences
  (``license:`` tag, ``cardData.license`` / ``license_name``), gating, pipeline and library.
- **builders** (:func:`_builders_choose`): a share of the derivatives created after the first
  LLM release are built on a release by their author, who has a home vendor, a preferred size
  class and a loyalty: they stay on their last release or move to the newest release of a
  vendor in their class. So newer series overtake older ones, sizes have a demand, and
  authors migrate with some loyalty; quantizers move at every model (they are fastest).
- **authors** are heavy-tailed; a few prolific quantizers (mradermacher, bartowski,
  RichardErkhov, TheBloke before 2024, ...) publish a large share of quantizations.
- **licences**: a derivative keeps its parent's licence or picks its own
  (:data:`LICENCE_CHANGE`), and some declare none (:data:`LICENCE_UNDECLARED`); gated
  foundations have ungated members, some re-uploads under the same name
  (:data:`REUPLOAD_SHARE`); GGUF quantizations have library ``gguf``, adapters ``peft``.
- **downloads** are lognormal, scaled by the number of children; likes follow downloads.
- **quirks** of real data, a handful per million: self-loops, 2-cycles, parents that were
  deleted (referenced, no line) and messy ``cardData.base_model`` values (URL, trailing
  slash, ``@revision``, comma list, duplicates, case variant, non-string) on models whose
  tags carry no ``base_model`` entries (the Hub derives no tags from invalid values).

The same ``(n_models, seed)`` always gives the same bytes. Generating and gzip-writing
2,000,000 models (154 MB, 581k edges) takes about 26 s of CPU and under 75 s of wall time
on a busy 2-core machine (``benchmarks/bench_synth.py``; ~1.8 GB peak memory).

>>> objs = list(generate(300, seed=1))
>>> len(objs), objs[0]["id"] != objs[1]["id"]
(300, True)
"""

from __future__ import annotations

import gzip
import json
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import UsageError
from .lineage import SIZE_CLASSES, size_class

__all__ = [
    "SynthHub",
    "SynthSummary",
    "build",
    "generate",
    "iter_lines",
    "line_id",
    "write_snapshot",
    "family_sizes",
    "edge_arrays",
]

# Relation codes (0 = no parent).
NONE, FINETUNE, QUANTIZED, ADAPTER, MERGE = 0, 1, 2, 3, 4
REL_NAMES = ("", "finetune", "quantized", "adapter", "merge")

PARENT_SHARE = 0.28
# finetune, quantized, adapter, merge among models with a parent
RELATION_SHARES = (0.36, 0.19, 0.43, 0.02)
MERGE_PARENTS = (2, 3, 4, 5)
MERGE_PARENT_PROBS = (0.62, 0.24, 0.09, 0.05)

# Parent attractiveness ("fitness"): share of eligible models per kind, scale and Pareto
# tail. Calibrated so that family sizes and fan-outs are heavy-tailed like the real Hub's
# (see benchmarks/bench_synth.py for the resulting top families).
_FIT: dict[str, float] = {
    "root_share": 0.06,
    "root_scale": 1.2,
    "root_alpha": 1.2,
    "ft_share": 0.50,
    "ft_scale": 1.2,
    "ft_alpha": 1.4,
    "merge_scale": 0.3,
    "q_share": 0.012,
    "q_scale": 0.6,
    "a_share": 0.004,
    "a_scale": 0.2,
    "window_all": 0.3,
    "window_days": 200.0,
    "window_days_quantized": 45.0,
    "release_fit": 400.0,
}

#: Share of the derivatives created after the first LLM release that builders put on a release.
BUILDER_SHARE = 0.3
#: Beta(a, b) of an author's loyalty: the probability to stay on the release they built on last.
LOYALTY = (2.0, 2.0)
#: At a move: probability to take the newest release of the author's home vendor.
VENDOR_LOYALTY = 0.5
#: At a move: probability to stay in the author's preferred size class.
SIZE_FAITH = 0.85
#: Probability to build on a release's official instruct model rather than on the release.
OFFICIAL_SHARE = 0.4
#: Demand for each size class (lineage.SIZE_CLASSES order): authors' preferences.
SIZE_DEMAND = (0.06, 0.22, 0.42, 0.12, 0.09, 0.08, 0.01)
#: Demand for each vendor's releases (relative).
VENDOR_DEMAND = {
    "Meta": 30.0,
    "Qwen": 24.0,
    "Mistral AI": 14.0,
    "Google": 14.0,
    "Microsoft": 7.0,
    "Hugging Face": 4.0,
    "DeepSeek": 4.0,
    "TII": 3.0,
}
#: A vendor's demand right after a release is (1 + FRESH_BOOST) times its base, decaying
#: with time constant FRESH_DAYS.
FRESH_BOOST = 2.0
FRESH_DAYS = 60.0
#: Share of derivatives that declare no licence; of the others, the share that choose their
#: own licence instead of keeping their parent's (drawn from _LICENSES, so most changes go to
#: apache-2.0, mit or other).
LICENCE_UNDECLARED = 0.3
LICENCE_CHANGE = 0.3
#: Share of the finetunes of a gated foundation that re-upload it under its own name, ungated.
REUPLOAD_SHARE = 0.12

_START = np.datetime64("2019-01-01T00:00:00", "ms").astype(np.int64)
_END = np.datetime64("2025-11-01T00:00:00", "ms").astype(np.int64)
_DAY_MS = 86_400_000
_GROWTH = 4.2  # e^4.2 ~ 67x more models created per day at the end than at the start

# ----------------------------------------------------------------------------- vocabulary

class Release(NamedTuple):
    """A real foundation (or an official derivative of one) that synthetic hubs release.

    ``date`` is the public release date (day approximate where noted in :data:`RELEASES`);
    ``licence`` and ``licence_name`` are the card's ``license`` / ``license_name``; ``gated``
    is the Hub's ``gated`` value (``""`` = false); ``weight`` is the share of demand the model
    gets among the releases of its vendor and size class; ``parent`` names the foundation an
    official derivative is built on (``""`` for a foundation).
    """

    id: str
    date: str
    vendor: str
    series: str
    params_b: float
    arch: str
    licence: str
    licence_name: str = ""
    gated: str = ""
    weight: float = 1.0
    parent: str = ""


_M, _G = "manual", "manual"  # meta-llama repos are gated "manual"; google's Gemma: see README
#: The major series, released at their real dates with their real sizes, licences and gating.
#: Dates marked ``~`` in the comments are right to the month, not to the day.
RELEASES: tuple[Release, ...] = (
    Release("tiiuae/falcon-7b", "2023-05-25", "TII", "Falcon", 7, "falcon", "apache-2.0"),  # ~
    Release("tiiuae/falcon-40b", "2023-05-25", "TII", "Falcon", 40, "falcon", "apache-2.0"),  # ~
    Release("meta-llama/Llama-2-7b-hf", "2023-07-18", "Meta", "Llama 2", 7, "llama", "llama2",
            gated=_M, weight=3),
    Release("meta-llama/Llama-2-13b-hf", "2023-07-18", "Meta", "Llama 2", 13, "llama", "llama2",
            gated=_M),
    Release("meta-llama/Llama-2-70b-hf", "2023-07-18", "Meta", "Llama 2", 70, "llama", "llama2",
            gated=_M),
    Release("mistralai/Mistral-7B-v0.1", "2023-09-27", "Mistral AI", "Mistral 7B", 7.24,
            "mistral", "apache-2.0", weight=3),
    Release("mistralai/Mistral-7B-Instruct-v0.1", "2023-09-27", "Mistral AI", "Mistral 7B",
            7.24, "mistral", "apache-2.0", parent="mistralai/Mistral-7B-v0.1"),
    Release("microsoft/phi-2", "2023-12-12", "Microsoft", "Phi-2", 2.78, "phi", "mit"),  # ~
    Release("mistralai/Mixtral-8x7B-v0.1", "2023-12-11", "Mistral AI", "Mixtral", 46.7,
            "mixtral", "apache-2.0"),
    Release("Qwen/Qwen1.5-0.5B", "2024-02-05", "Qwen", "Qwen1.5", 0.5, "qwen2", "other",
            "tongyi-qianwen-research"),  # ~
    Release("Qwen/Qwen1.5-1.8B", "2024-02-05", "Qwen", "Qwen1.5", 1.8, "qwen2", "other",
            "tongyi-qianwen-research"),  # ~
    Release("Qwen/Qwen1.5-7B", "2024-02-05", "Qwen", "Qwen1.5", 7, "qwen2", "other",
            "tongyi-qianwen", weight=2),  # ~
    Release("Qwen/Qwen1.5-14B", "2024-02-05", "Qwen", "Qwen1.5", 14, "qwen2", "other",
            "tongyi-qianwen"),  # ~
    Release("Qwen/Qwen1.5-72B", "2024-02-05", "Qwen", "Qwen1.5", 72, "qwen2", "other",
            "tongyi-qianwen"),  # ~
    Release("google/gemma-2b", "2024-02-21", "Google", "Gemma", 2.5, "gemma", "gemma", gated=_G),
    Release("google/gemma-7b", "2024-02-21", "Google", "Gemma", 8.5, "gemma", "gemma", gated=_G,
            weight=2),
    Release("meta-llama/Meta-Llama-3-8B", "2024-04-18", "Meta", "Llama 3", 8, "llama", "llama3",
            gated=_M, weight=3),
    Release("meta-llama/Meta-Llama-3-70B", "2024-04-18", "Meta", "Llama 3", 70, "llama",
            "llama3", gated=_M),
    Release("microsoft/Phi-3-mini-4k-instruct", "2024-04-23", "Microsoft", "Phi-3", 3.8, "phi3",
            "mit"),
    Release("Qwen/Qwen2-0.5B", "2024-06-07", "Qwen", "Qwen2", 0.5, "qwen2", "apache-2.0"),  # ~
    Release("Qwen/Qwen2-1.5B", "2024-06-07", "Qwen", "Qwen2", 1.5, "qwen2", "apache-2.0"),  # ~
    Release("Qwen/Qwen2-7B", "2024-06-07", "Qwen", "Qwen2", 7.6, "qwen2", "apache-2.0",
            weight=2),  # ~
    Release("Qwen/Qwen2-72B", "2024-06-07", "Qwen", "Qwen2", 72.7, "qwen2", "other",
            "tongyi-qianwen"),  # ~
    Release("google/gemma-2-9b", "2024-06-27", "Google", "Gemma 2", 9.2, "gemma2", "gemma",
            gated=_G, weight=3),
    Release("google/gemma-2-27b", "2024-06-27", "Google", "Gemma 2", 27.2, "gemma2", "gemma",
            gated=_G),
    Release("google/gemma-2-9b-it", "2024-06-27", "Google", "Gemma 2", 9.2, "gemma2", "gemma",
            gated=_G, parent="google/gemma-2-9b"),
    Release("mistralai/Mistral-Nemo-Base-2407", "2024-07-18", "Mistral AI", "Mistral Nemo",
            12.2, "mistral", "apache-2.0", weight=2),
    Release("meta-llama/Llama-3.1-8B", "2024-07-23", "Meta", "Llama 3.1", 8.03, "llama",
            "llama3.1", gated=_M, weight=4),
    Release("meta-llama/Llama-3.1-70B", "2024-07-23", "Meta", "Llama 3.1", 70.6, "llama",
            "llama3.1", gated=_M),
    Release("meta-llama/Llama-3.1-405B", "2024-07-23", "Meta", "Llama 3.1", 405.9, "llama",
            "llama3.1", gated=_M),
    Release("meta-llama/Llama-3.1-8B-Instruct", "2024-07-23", "Meta", "Llama 3.1", 8.03,
            "llama", "llama3.1", gated=_M, parent="meta-llama/Llama-3.1-8B"),
    Release("google/gemma-2-2b", "2024-07-31", "Google", "Gemma 2", 2.6, "gemma2", "gemma",
            gated=_G),
    Release("microsoft/Phi-3.5-mini-instruct", "2024-08-20", "Microsoft", "Phi-3.5", 3.8,
            "phi3", "mit"),  # ~
    Release("Qwen/Qwen2.5-0.5B", "2024-09-19", "Qwen", "Qwen2.5", 0.49, "qwen2", "apache-2.0"),
    Release("Qwen/Qwen2.5-1.5B", "2024-09-19", "Qwen", "Qwen2.5", 1.5, "qwen2", "apache-2.0"),
    Release("Qwen/Qwen2.5-3B", "2024-09-19", "Qwen", "Qwen2.5", 3.1, "qwen2", "other",
            "qwen-research"),
    Release("Qwen/Qwen2.5-7B", "2024-09-19", "Qwen", "Qwen2.5", 7.6, "qwen2", "apache-2.0",
            weight=4),
    Release("Qwen/Qwen2.5-14B", "2024-09-19", "Qwen", "Qwen2.5", 14.8, "qwen2", "apache-2.0",
            weight=2),
    Release("Qwen/Qwen2.5-32B", "2024-09-19", "Qwen", "Qwen2.5", 32.8, "qwen2", "apache-2.0",
            weight=2),
    Release("Qwen/Qwen2.5-72B", "2024-09-19", "Qwen", "Qwen2.5", 72.7, "qwen2", "other", "qwen"),
    Release("Qwen/Qwen2.5-7B-Instruct", "2024-09-19", "Qwen", "Qwen2.5", 7.6, "qwen2",
            "apache-2.0", parent="Qwen/Qwen2.5-7B"),
    Release("meta-llama/Llama-3.2-1B", "2024-09-25", "Meta", "Llama 3.2", 1.24, "llama",
            "llama3.2", gated=_M, weight=2),
    Release("meta-llama/Llama-3.2-3B", "2024-09-25", "Meta", "Llama 3.2", 3.21, "llama",
            "llama3.2", gated=_M, weight=2),
    Release("meta-llama/Llama-3.2-11B-Vision", "2024-09-25", "Meta", "Llama 3.2", 10.7,
            "mllama", "llama3.2", gated=_M),
    Release("meta-llama/Llama-3.2-90B-Vision", "2024-09-25", "Meta", "Llama 3.2", 88.6,
            "mllama", "llama3.2", gated=_M),
    Release("HuggingFaceTB/SmolLM2-135M", "2024-10-31", "Hugging Face", "SmolLM2", 0.135,
            "llama", "apache-2.0"),
    Release("HuggingFaceTB/SmolLM2-360M", "2024-10-31", "Hugging Face", "SmolLM2", 0.36, "llama",
            "apache-2.0"),
    Release("HuggingFaceTB/SmolLM2-1.7B", "2024-10-31", "Hugging Face", "SmolLM2", 1.7, "llama",
            "apache-2.0"),
    Release("meta-llama/Llama-3.3-70B-Instruct", "2024-12-06", "Meta", "Llama 3.3", 70.6,
            "llama", "llama3.3", gated=_M, parent="meta-llama/Llama-3.1-70B"),
    Release("microsoft/phi-4", "2024-12-12", "Microsoft", "Phi-4", 14.7, "phi3", "mit"),  # ~
    Release("deepseek-ai/DeepSeek-R1", "2025-01-20", "DeepSeek", "DeepSeek-R1", 671,
            "deepseek_v3", "mit"),
    Release("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "2025-01-20", "DeepSeek", "DeepSeek-R1",
            8.03, "llama", "mit", parent="meta-llama/Llama-3.1-8B"),
    Release("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "2025-01-20", "DeepSeek", "DeepSeek-R1",
            14.8, "qwen2", "mit", parent="Qwen/Qwen2.5-14B"),
    Release("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "2025-01-20", "DeepSeek", "DeepSeek-R1",
            32.8, "qwen2", "mit", parent="Qwen/Qwen2.5-32B"),
    Release("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "2025-01-20", "DeepSeek",
            "DeepSeek-R1", 70.6, "llama", "mit", parent="meta-llama/Llama-3.3-70B-Instruct"),
    Release("mistralai/Mistral-Small-24B-Base-2501", "2025-01-30", "Mistral AI", "Mistral Small",
            23.6, "mistral", "apache-2.0", gated="auto", weight=2),
    Release("google/gemma-3-1b-pt", "2025-03-12", "Google", "Gemma 3", 1.0, "gemma3_text",
            "gemma", gated=_G),
    Release("google/gemma-3-4b-pt", "2025-03-12", "Google", "Gemma 3", 4.3, "gemma3", "gemma",
            gated=_G),
    Release("google/gemma-3-12b-pt", "2025-03-12", "Google", "Gemma 3", 12.2, "gemma3", "gemma",
            gated=_G, weight=2),
    Release("google/gemma-3-27b-pt", "2025-03-12", "Google", "Gemma 3", 27.4, "gemma3", "gemma",
            gated=_G, weight=2),
    Release("Qwen/Qwen3-0.6B-Base", "2025-04-29", "Qwen", "Qwen3", 0.6, "qwen3", "apache-2.0"),
    Release("Qwen/Qwen3-1.7B-Base", "2025-04-29", "Qwen", "Qwen3", 1.7, "qwen3", "apache-2.0"),
    Release("Qwen/Qwen3-4B-Base", "2025-04-29", "Qwen", "Qwen3", 4.0, "qwen3", "apache-2.0",
            weight=2),
    Release("Qwen/Qwen3-8B-Base", "2025-04-29", "Qwen", "Qwen3", 8.2, "qwen3", "apache-2.0",
            weight=4),
    Release("Qwen/Qwen3-14B-Base", "2025-04-29", "Qwen", "Qwen3", 14.8, "qwen3", "apache-2.0",
            weight=2),
    Release("Qwen/Qwen3-32B", "2025-04-29", "Qwen", "Qwen3", 32.8, "qwen3", "apache-2.0",
            weight=2),
    Release("Qwen/Qwen3-8B", "2025-04-29", "Qwen", "Qwen3", 8.2, "qwen3", "apache-2.0",
            parent="Qwen/Qwen3-8B-Base"),
    # not LLMs: they grow families through fitness, like any other root
    Release("stabilityai/stable-diffusion-xl-base-1.0", "2023-07-26", "Stability AI", "SDXL",
            3.5, "sdxl", "openrail++"),
    Release("openai/whisper-large-v3", "2023-11-07", "OpenAI", "Whisper", 1.55, "whisper",
            "apache-2.0"),
    Release("black-forest-labs/FLUX.1-dev", "2024-08-01", "Black Forest Labs", "FLUX.1", 12,
            "flux", "other", "flux-1-dev-non-commercial-license", gated="auto"),
)
#: Older famous models (on the Hub before its 2022 migration): given to the largest other roots.
LEGACY: tuple[tuple[str, str, str], ...] = (
    ("google-bert/bert-base-uncased", "bert", "apache-2.0"),
    ("FacebookAI/xlm-roberta-base", "xlm-roberta", "mit"),
    ("openai-community/gpt2", "gpt2", "mit"),
    ("google/t5-v1_1-base", "t5", "apache-2.0"),
)
#: Every named model: (id, arch, licence, licence_name, gated); rows map into it via ``famous``.
FAMOUS: tuple[tuple[str, str, str, str, str], ...] = tuple(
    (r.id, r.arch, r.licence, r.licence_name, r.gated) for r in RELEASES
) + tuple((mid, arch, lic, "", "") for mid, arch, lic in LEGACY)

# arch -> (pipeline_tag, library_name of full models, is an LLM)
ARCHS: dict[str, tuple[str, str, bool]] = {
    "llama": ("text-generation", "transformers", True),
    "qwen2": ("text-generation", "transformers", True),
    "mistral": ("text-generation", "transformers", True),
    "gemma2": ("text-generation", "transformers", True),
    "phi3": ("text-generation", "transformers", True),
    "phi": ("text-generation", "transformers", True),
    "mixtral": ("text-generation", "transformers", True),
    "falcon": ("text-generation", "transformers", True),
    "gpt2": ("text-generation", "transformers", True),
    "deepseek_v3": ("text-generation", "transformers", True),
    "qwen3": ("text-generation", "transformers", True),
    "gemma": ("text-generation", "transformers", True),
    "gemma3_text": ("text-generation", "transformers", True),
    "gemma3": ("image-text-to-text", "transformers", True),
    "mllama": ("image-text-to-text", "transformers", True),
    "bert": ("fill-mask", "transformers", False),
    "xlm-roberta": ("fill-mask", "transformers", False),
    "t5": ("text2text-generation", "transformers", False),
    "whisper": ("automatic-speech-recognition", "transformers", False),
    "vit": ("image-classification", "transformers", False),
    "sdxl": ("text-to-image", "diffusers", False),
    "flux": ("text-to-image", "diffusers", False),
    "sentence-transformers": ("sentence-similarity", "sentence-transformers", False),
}
_ARCH_LIST = tuple(ARCHS)
# share of other (non-famous) root families per arch, in _ARCH_LIST order
_ARCH_P = np.array(
    [22, 16, 10, 5, 4, 2, 1, 1, 5, 1, 0, 0, 0, 0, 0, 10, 3, 4, 3, 4, 3, 2, 4], dtype=float
)
_LICENSES = ("apache-2.0", "mit", "other", "cc-by-nc-4.0", "cc-by-4.0", "openrail", "gpl-3.0")
_LICENSE_P = np.array([45, 22, 17, 7, 4, 3, 2], dtype=float)
#: (licence, licence_name) pairs a model can carry: the drawn ones, then the releases' ones.
_LICENCE_TABLE: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys([(x, "") for x in _LICENSES] + [(r.licence, r.licence_name) for r in RELEASES]
                  + [(lic, "") for _, _, lic in LEGACY])
)

_WORDS = (
    "Nova Aurora Atlas Orion Zephyr Falcon Phoenix Titan Vega Lyra Nimbus Sage Echo Onyx Iris "
    "Helix Apex Quill Ember Cobalt Juniper Saffron Pico Tempest Solstice Borealis Cascade "
    "Mistral Lumen Raven Kestrel Cedar Maple Coral Polaris Comet Nebula Quasar Pulsar Zenith"
).split()
_TOPICS = (
    "Instruct chat sft dpo orpo kto grpo math code medical legal finance roleplay uncensored "
    "abliterated reasoning tools function-calling summarize translate ko ja zh de fr es it pt "
    "ru vi ar hi tr pl nl sv multilingual longctx 128k rag agent storywriter creative bio"
).split()
_TASKS = (
    "alpaca gsm8k sql sentiment ner qa dolly oasst ultrachat sharegpt squad imdb medqa "
    "python json emoji pokemon anime portrait pixel-art watercolor style character"
).split()
_METHODS = ("slerp", "ties", "dare_ties", "linear", "model_stock", "della", "passthrough")
_QSUFFIXES = (
    "GGUF",
    "i1-GGUF",
    "Q4_K_M-GGUF",
    "AWQ",
    "GPTQ",
    "bnb-4bit",
    "8bit",
    "exl2",
    "mlx-4bit",
    "Q8_0-GGUF",
    "fp8",
)
_QSUFFIX_P = np.array([46, 10, 12, 5, 5, 8, 3, 2, 4, 4, 1], dtype=float)
# prolific quantizers: (name, weight, active until (ms since epoch) or None)
_QUANTIZERS = (
    ("mradermacher", 30, None),
    ("RichardErkhov", 14, None),
    ("bartowski", 12, None),
    ("QuantFactory", 7, None),
    ("TheBloke", 8, int(np.datetime64("2024-02-01", "ms").astype(np.int64))),
    ("tensorblock", 6, None),
    ("MaziyarPanahi", 5, None),
    ("NikolayKozloff", 4, None),
    ("lmstudio-community", 4, None),
    ("DevQuasar", 4, None),
    ("second-state", 3, None),
    ("unsloth", 3, None),
)
_ONNX_QUANTIZERS = ("Xenova", "onnx-community")
_ADAPTER_AUTHORS = ("Lots-of-LoRAs", "mlx-community", "lora-library", "sd-community")
_SYL = (
    "ka lo mi ra ven tor sa li no ze fa ri an el os ul ta be do gi hu ja ku ma ne pa qu si vo "
    "wu xi yo zu ar en ix or us"
).split()
_ORG_SUFFIX = ("-ai", "-lab", "-labs", "AI", "-research", "-nlp", "", "", "", "", "", "", "")


def _author_name(rank: int) -> str:
    """A deterministic synthetic user name for an author rank."""
    h = (rank * 7919 + 12345) % 50653  # a bijection of each block of 37**3 ranks: varied names
    a = _SYL[h % 37]
    b = _SYL[(h // 37) % 37]
    c = _SYL[(h // 1369) % 37]
    n = rank // 50653
    base = f"{a}{b}{c}" if rank % 3 else f"{a.capitalize()}{b}{c.capitalize()}"
    suffix = _ORG_SUFFIX[rank % len(_ORG_SUFFIX)]
    return f"{base}{n if n else ''}{suffix}"


# ----------------------------------------------------------------------------- model


@dataclass
class SynthHub:
    """A generated hub, column-oriented (row ``i`` = the ``i``-th model by creation time)."""

    n: int
    seed: int
    created_ms: np.ndarray  # int64, strictly increasing
    parent: np.ndarray  # int64, first parent or -1
    relation: np.ndarray  # int8 codes (0 = no parent)
    root: np.ndarray  # int64, root of the first-parent chain
    extra: dict[int, list[int]]  # merge / quirk parents beyond the first
    author_rank: np.ndarray  # int64 (negative: a prolific quantizer/adapter author)
    downloads: np.ndarray  # int64
    arch: np.ndarray  # int16 index into _ARCH_LIST, per row (inherited from the root)
    license: np.ndarray  # int16 index into _LICENCE_TABLE (-1: none declared)
    famous: dict[int, int]  # row -> index into FAMOUS
    self_loops: np.ndarray  # rows whose tags also name themselves
    cycles: list[tuple[int, int]]  # (a, b): b is a's first parent and a is b's extra parent
    missing: np.ndarray  # rows whose first parent was deleted (no line)
    messy: np.ndarray  # rows whose parents are only in a messy cardData.base_model
    fitness: np.ndarray  # float64, attractiveness as a parent

    @property
    def with_parent(self) -> int:
        return int((self.relation > 0).sum())


@dataclass
class SynthSummary:
    """What :func:`write_snapshot` wrote."""

    path: str
    models: int
    with_parent: int
    edges: int
    relations: dict[str, int]
    top_families: list[tuple[str, int]]
    max_fanout: tuple[str, int]
    seconds: float
    bytes: int

    @property
    def parent_share(self) -> float:
        return self.with_parent / self.models if self.models else 0.0


def _pareto(rng: np.random.Generator, alpha: float, size: int) -> np.ndarray:
    return rng.pareto(alpha, size) + 1.0


def _weighted_draw(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """For each (lo, hi), draw an index in [lo, hi) with probability ∝ weight (``cum`` is the
    inclusive cumulative weight). Returns -1 where the range has no weight."""
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    top = np.where(hi > 0, cum[np.maximum(hi - 1, 0)], 0.0)
    mass = top - base
    u = base + rng.random(lo.shape[0]) * mass
    idx = np.searchsorted(cum, u, side="right")
    ok = (mass > 0) & (idx < hi) & (idx >= lo)
    return np.where(ok, idx, -1)


def _resolve(pointer: np.ndarray) -> np.ndarray:
    """Follow ``pointer`` (row -> row, a fixed point at the end of each chain) to its end."""
    out = pointer
    while True:
        nxt = out[out]
        if np.array_equal(nxt, out):
            return out
        out = nxt


def _place_releases(created: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Rows of the :data:`RELEASES` a hub of ``n`` models has room for: (row, index).

    A hub gets one release per 60 models (the most demanded first, then in catalogue
    order), each at the first row created on its release date; ``created`` is moved back to
    the date where the row order allows it (it stays strictly increasing). Official
    derivatives come with their foundation.
    """
    budget = n // 60
    chosen: set[int] = set()
    for k in sorted(range(len(RELEASES)), key=lambda k: (-RELEASES[k].weight, k)):
        if len(chosen) >= budget:
            break
        r = RELEASES[k]
        if r.parent and r.parent not in {RELEASES[j].id for j in chosen}:
            continue
        chosen.add(k)
    out: list[tuple[int, int]] = []
    last = -1
    for k in sorted(chosen, key=lambda k: (RELEASES[k].date, bool(RELEASES[k].parent), k)):
        day = int(np.datetime64(RELEASES[k].date, "ms").astype(np.int64)) + 9 * 3_600_000
        row = max(int(np.searchsorted(created, day, side="left")), last + 1)
        if row >= n:
            break
        low = created[row - 1] + 1 if row else day
        if max(day, low) < created[row]:
            created[row] = max(day, low)
        out.append((row, k))
        last = row
    return out


def _builders_choose(
    rng: np.random.Generator,
    created: np.ndarray,
    rel: np.ndarray,
    ranks: np.ndarray,
    releases: list[tuple[int, int]],
    n_authors: int,
) -> np.ndarray:
    """First parents that builders choose among the LLM releases (row, or -1 per row).

    A share :data:`BUILDER_SHARE` of the derivatives created after the first LLM release
    are built on a release by their author. Each community author has a home vendor, a
    preferred size class (:data:`SIZE_DEMAND`) and a loyalty drawn from
    ``Beta(*LOYALTY)``: at each derivative they stay on the release of their previous one
    with that probability, else they *move*: to the newest release of their home vendor
    (probability :data:`VENDOR_LOYALTY`) or of a vendor drawn by demand (a vendor's
    :data:`VENDOR_DEMAND`, raised after its releases: ``× (1 + FRESH_BOOST ·
    exp(-days since its last release / FRESH_DAYS))``), in their size class (probability
    :data:`SIZE_FAITH`, else a class drawn by demand; the nearest class the vendor has when
    it has none). Prolific quantizers move at every model, to one of the sizes of the newest
    release of a vendor drawn by demand (quantizations come first). With
    probability :data:`OFFICIAL_SHARE` a derivative is built on the release's official
    instruct model rather than on the release itself.
    """
    n = created.size
    out = np.full(n, -1, dtype=np.int64)
    series_of = {r.id: r.series for r in RELEASES}
    row_of = {RELEASES[k].id: row for row, k in releases}
    targets: list[tuple[int, int]] = []
    official = np.full(n, -1, dtype=np.int64)
    for row, k in releases:
        r = RELEASES[k]
        if not ARCHS[r.arch][2]:
            continue
        if r.parent and series_of[r.parent] == r.series:
            official[row_of[r.parent]] = row
        else:
            targets.append((row, k))
    if not targets:
        return out
    vendors = sorted({RELEASES[k].vendor for _, k in targets})
    n_v, n_c = len(vendors), len(SIZE_CLASSES)
    t_row = np.array([row for row, _ in targets], dtype=np.int64)
    t_vendor = np.array([vendors.index(RELEASES[k].vendor) for _, k in targets])
    t_class = np.array([SIZE_CLASSES.index(str(size_class(RELEASES[k].params_b)))
                        for _, k in targets])
    t_series = np.array([sorted(series_of.values()).index(RELEASES[k].series)
                         for _, k in targets])
    t_weight = np.array([RELEASES[k].weight for _, k in targets])
    t_time = created[t_row]
    t_key = t_vendor * n_c + t_class
    order = np.lexsort((t_row, t_time, t_key))
    s_key, s_time, s_row = t_key[order], t_time[order], t_row[order]
    s_series, cw = t_series[order], np.cumsum(t_weight[order])
    same = np.r_[False, (s_key[1:] == s_key[:-1]) & (s_series[1:] == s_series[:-1])]
    start = np.maximum.accumulate(np.where(same, 0, np.arange(s_key.size)))
    combined = s_key * (1 << 42) + s_time

    ev = np.flatnonzero((rel > 0) & (created > s_time.min()) & (ranks > -1000))
    ev = ev[rng.random(ev.size) < BUILDER_SHARE]
    t = created[ev]
    author = ranks[ev]
    community = author >= 0
    safe = np.maximum(author, 0)
    stay_p = rng.beta(*LOYALTY, n_authors)
    demand_c = np.array(SIZE_DEMAND) / sum(SIZE_DEMAND)
    pref = rng.choice(n_c, size=n_authors, p=demand_c)
    base = np.array([VENDOR_DEMAND.get(v, 1.0) for v in vendors])
    home = rng.choice(n_v, size=n_authors, p=base / base.sum())
    jump = ~community | (rng.random(ev.size) >= stay_p[safe])
    by_author = np.argsort(author, kind="stable")  # events stay in time order per author
    first_of_author = np.r_[True, author[by_author][1:] != author[by_author][:-1]]
    jump[by_author[first_of_author]] = True
    faithful = community & (rng.random(ev.size) < SIZE_FAITH)
    cls = np.where(faithful, pref[safe], rng.choice(n_c, size=ev.size, p=demand_c))
    # each vendor's demand at each event: none before its first release, fresh ones raised
    demand = np.zeros((ev.size, n_v))
    for v in range(n_v):
        times = np.sort(t_time[t_vendor == v])
        last = np.searchsorted(times, t, side="left") - 1
        age_days = (t - times[np.maximum(last, 0)]) / _DAY_MS
        demand[:, v] = np.where(
            last >= 0, base[v] * (1.0 + FRESH_BOOST * np.exp(-age_days / FRESH_DAYS)), 0.0
        )
    cum_d = np.cumsum(demand, axis=1)
    drawn = (cum_d < (rng.random(ev.size) * cum_d[:, -1])[:, None]).sum(axis=1)
    at_home = community & (rng.random(ev.size) < VENDOR_LOYALTY)
    at_home &= demand[np.arange(ev.size), home[safe]] > 0
    vendor = np.where(at_home, home[safe], np.minimum(drawn, n_v - 1))
    # the newest release of (vendor, class) before the event; else the nearest class
    pick = np.full(ev.size, -1, dtype=np.int64)
    for step in (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6):
        c2 = cls + step
        todo = (pick < 0) & (c2 >= 0) & (c2 < n_c)
        key = vendor * n_c + c2
        pos = np.searchsorted(combined, key * (1 << 42) + t, side="left") - 1
        ok = todo & (pos >= 0) & (s_key[np.maximum(pos, 0)] == key)
        pick[ok] = pos[ok]
    # several sizes of one series in a class: one of them, by weight
    lo_w = np.where(start[pick] > 0, cw[np.maximum(start[pick] - 1, 0)], 0.0)
    u = lo_w + rng.random(ev.size) * (cw[pick] - lo_w)
    pick = np.clip(np.searchsorted(cw, u, side="right"), start[pick], pick)
    target = s_row[pick]
    # quantizers take one of the sizes of the vendor's newest release
    v_order = np.lexsort((t_row, t_time, t_vendor))
    v_vendor, v_time, v_row = t_vendor[v_order], t_time[v_order], t_row[v_order]
    v_same = np.r_[False, (v_vendor[1:] == v_vendor[:-1]) & (v_time[1:] == v_time[:-1])]
    v_start = np.maximum.accumulate(np.where(v_same, 0, np.arange(v_vendor.size)))
    newest = np.searchsorted(v_vendor * (1 << 42) + v_time, vendor * (1 << 42) + t) - 1
    newest = np.maximum(newest, 0)
    spread = newest - v_start[newest] + 1
    any_size = v_row[v_start[newest] + (rng.random(ev.size) * spread).astype(np.int64)]
    target = np.where(community, target, any_size)
    # between moves, an author stays on the release of their last move
    pos_sorted = np.arange(ev.size)
    last_move = np.maximum.accumulate(np.where(jump[by_author], pos_sorted, -1))
    chosen = np.empty(ev.size, dtype=np.int64)
    chosen[by_author] = target[by_author][last_move]
    off = official[chosen]
    use_off = (rng.random(ev.size) < OFFICIAL_SHARE) & (off >= 0) & (off < ev)
    out[ev] = np.where(use_off, off, chosen)
    return out


def build(n_models: int, seed: int = 0) -> SynthHub:
    """Generate the columns of a synthetic hub of ``n_models`` models (deterministic)."""
    if n_models < 1:
        raise UsageError("n_models must be >= 1")
    n = int(n_models)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EC0]))
    idx = np.arange(n, dtype=np.int64)

    # --- creation times: exponential growth, strictly increasing in row order
    u = np.sort(rng.random(n))
    frac = np.log1p(u * math.expm1(_GROWTH)) / _GROWTH
    created = (_START + frac * (_END - _START)).astype(np.int64) + idx

    # --- who declares a parent, and how
    wants = rng.random(n) < PARENT_SHARE * 1.01
    rel = np.where(
        wants, rng.choice(4, size=n, p=np.array(RELATION_SHARES) / sum(RELATION_SHARES)) + 1, 0
    ).astype(np.int8)

    # --- the real releases, at their dates (official derivatives are finetunes of theirs)
    releases = _place_releases(created, n)
    rel_rows = np.array([row for row, _ in releases], dtype=np.int64)
    rel[rel_rows] = [FINETUNE if RELEASES[k].parent else NONE for _, k in releases]

    # --- fitness (attractiveness as a parent)
    fit = np.zeros(n)
    roots_ok = (rel == 0) & (rng.random(n) < _FIT["root_share"])
    fit[roots_ok] = _FIT["root_scale"] * _pareto(rng, _FIT["root_alpha"], int(roots_ok.sum()))
    ft_ok = (rel == FINETUNE) & (rng.random(n) < _FIT["ft_share"])
    fit[ft_ok] = _FIT["ft_scale"] * _pareto(rng, _FIT["ft_alpha"], int(ft_ok.sum()))
    merge_rows = rel == MERGE  # merges get merged (and quantized) again: chains
    fit[merge_rows] = _FIT["merge_scale"] * _pareto(rng, 1.5, int(merge_rows.sum()))
    q_ok = (rel == QUANTIZED) & (rng.random(n) < _FIT["q_share"])
    fit[q_ok] = _FIT["q_scale"] * _pareto(rng, 1.2, int(q_ok.sum()))
    a_ok = (rel == ADAPTER) & (rng.random(n) < _FIT["a_share"])
    fit[a_ok] = _FIT["a_scale"] * _pareto(rng, 1.5, int(a_ok.sum()))
    # LLM releases get their derivatives from their builders (below); the others by fitness
    for row, k in releases:
        llm = ARCHS[RELEASES[k].arch][2]
        fit[row] = 0.0 if llm else _FIT["release_fit"]
    fit = np.minimum(fit, 2e5)
    cum = np.cumsum(fit)

    # --- authors: heavy-tailed ranks; quantizations mostly by the prolific quantizers
    n_authors = max(50, n // 6)
    w = np.arange(1, n_authors + 1, dtype=float) ** -0.7
    cum_a = np.cumsum(w)
    ranks = np.searchsorted(cum_a, rng.random(n) * cum_a[-1], side="right").astype(np.int64)
    quant = rel == QUANTIZED
    qpick = rng.random(n) < 0.55
    qw = np.array([q[1] for q in _QUANTIZERS], dtype=float)
    qidx = rng.choice(len(_QUANTIZERS), size=n, p=qw / qw.sum())
    for k, (_, _, until) in enumerate(_QUANTIZERS):
        if until is not None:
            late = (qidx == k) & (created > until)
            qidx[late] = 0
    ranks = np.where(quant & qpick, -1 - qidx, ranks)
    apick = (rel == ADAPTER) & (rng.random(n) < 0.06)
    ranks = np.where(apick, -100 - rng.integers(0, len(_ADAPTER_AUTHORS), n), ranks)
    ranks[rel_rows] = -1000  # the releases' own organisations

    # --- first parent: weighted by fitness among older models, mostly within a window
    # (shorter for quantizations: quantizers work on what is new)
    parent = np.full(n, -1, dtype=np.int64)
    row_of = {RELEASES[k].id: row for row, k in releases}
    for row, k in releases:
        if RELEASES[k].parent:
            parent[row] = row_of[RELEASES[k].parent]
    built = _builders_choose(rng, created, rel, ranks, releases, n_authors)
    parent[built >= 0] = built[built >= 0]
    child = np.flatnonzero((rel > 0) & (parent < 0))
    days = np.where(rel[child] == QUANTIZED, _FIT["window_days_quantized"], _FIT["window_days"])
    window = np.where(
        rng.random(child.size) < _FIT["window_all"],
        np.inf,
        rng.exponential(1.0, child.size) * days * _DAY_MS,
    )
    lo = np.searchsorted(created, created[child] - np.minimum(window, 1e15), side="left")
    lo = np.where(np.isinf(window), 0, lo)
    first = _weighted_draw(rng, cum, lo, child)
    retry = first < 0
    if retry.any():
        first[retry] = _weighted_draw(
            rng, cum, np.zeros(int(retry.sum()), dtype=np.int64), child[retry]
        )
    parent[child] = first
    rel[parent < 0] = NONE
    has = parent >= 0

    # --- root of each first-parent chain (pointer jumping)
    root = _resolve(np.where(has, parent, idx))

    # --- the releases carry their names; the largest other families the legacy ones
    famous = {row: k for row, k in releases}
    tree = np.bincount(root, minlength=n) - 1
    root_rows = np.flatnonzero(~has & (tree > 0))
    root_rows = root_rows[~np.isin(root_rows, rel_rows)]
    n_legacy = min(len(LEGACY), root_rows.size // 20)
    top_roots = root_rows[np.argsort(-tree[root_rows], kind="stable")[:n_legacy]]
    famous.update({int(r): len(RELEASES) + k for k, r in enumerate(top_roots)})

    # --- merges: 2-5 parents, ~80% from the first parent's family
    extra: dict[int, list[int]] = {}
    merges = np.flatnonzero(rel == MERGE)
    if merges.size:
        k_extra = rng.choice(MERGE_PARENTS, size=merges.size, p=MERGE_PARENT_PROBS) - 1
        eligible = np.flatnonzero(fit > 0)
        key = root[eligible] * n + eligible
        order = np.argsort(key, kind="stable")
        key, elig_sorted = key[order], eligible[order]
        cum_f = np.cumsum(fit[elig_sorted])
        slots_row = np.repeat(merges, k_extra)
        same = rng.random(slots_row.size) < 0.8
        fam = root[slots_row]
        lo_f = np.searchsorted(key, fam * n, side="left")
        hi_f = np.searchsorted(key, fam * n + slots_row, side="left")
        pick = np.full(slots_row.size, -1, dtype=np.int64)
        pos = _weighted_draw(rng, cum_f, lo_f, hi_f)
        ok = same & (pos >= 0)
        pick[ok] = elig_sorted[pos[ok]]
        first_of_slot = parent[slots_row]
        for _ in range(4):  # not found, or the first parent again: draw from the whole hub
            rest = (pick < 0) | (pick == first_of_slot)
            if not rest.any():
                break
            g_lo = np.zeros(int(rest.sum()), dtype=np.int64)
            pick[rest] = _weighted_draw(rng, cum, g_lo, slots_row[rest])
        for m, p in zip(slots_row.tolist(), pick.tolist(), strict=True):
            if p < 0 or p == parent[m]:
                continue
            lst = extra.setdefault(m, [])
            if p not in lst:
                lst.append(p)
        lonely = [m for m in merges.tolist() if m not in extra]
        rel[lonely] = FINETUNE  # could not find a second parent: a plain finetune

    # --- quirks (a handful per million; at least one of each when n >= 1000)
    scale = n / 1_000_000
    free = np.flatnonzero(has & (rel != MERGE))
    free = free[~np.isin(free, list(extra)) & ~np.isin(free, rel_rows)]
    n_self = max(1 if n >= 1000 else 0, round(20 * scale))
    n_cyc = max(1 if n >= 1000 else 0, round(5 * scale))
    n_miss = max(2 if n >= 1000 else 0, round(600 * scale))
    n_messy = max(7 if n >= 1000 else 0, round(1500 * scale))
    picks = rng.choice(free, size=min(free.size, n_self + n_miss + n_messy), replace=False)
    picks = np.sort(picks)
    sel = rng.permutation(picks.size)
    self_loops = np.sort(picks[sel[:n_self]])
    missing = np.sort(picks[sel[n_self : n_self + n_miss]])
    messy = np.sort(picks[sel[n_self + n_miss :]])
    used = set(picks.tolist())
    for s in self_loops.tolist():
        extra.setdefault(s, []).append(s)
    cycles: list[tuple[int, int]] = []
    cand = free[(rel[free] == FINETUNE) & has[np.maximum(parent[free], 0)]]
    cand = cand[rel[parent[cand]] == FINETUNE]
    if cand.size:
        for a in rng.permutation(cand).tolist():
            if len(cycles) >= n_cyc:
                break
            b = int(parent[a])
            if a in used or b in used or b in extra or b in famous:
                continue
            used.update((a, b))
            extra[b] = [a]
            rel[b] = MERGE  # the Hub infers "merge" for several parents
            cycles.append((a, b))

    # --- family attributes, downloads
    arch_root = rng.choice(len(_ARCH_LIST), size=n, p=_ARCH_P / _ARCH_P.sum()).astype(np.int16)
    for r, k in famous.items():
        arch_root[r] = _ARCH_LIST.index(FAMOUS[k][1])
    arch = arch_root[root]
    # licences: a derivative keeps its parent's (even when it does not declare it) unless it
    # picks its own; roots and the releases have their own; some models declare none
    own = rng.choice(len(_LICENSES), size=n, p=_LICENSE_P / _LICENSE_P.sum()).astype(np.int16)
    picks_own = ~has | (rng.random(n) < LICENCE_CHANGE)
    for r, k in famous.items():
        own[r] = _LICENCE_TABLE.index((FAMOUS[k][2], FAMOUS[k][3]))
        picks_own[r] = True
    lic = own[_resolve(np.where(picks_own, idx, parent))]
    declared = np.where(has, rng.random(n) >= LICENCE_UNDECLARED, rng.random(n) < 0.9)
    declared[list(famous)] = True
    lic = np.where(declared, lic, -1).astype(np.int16)
    nchild = np.bincount(parent[has], minlength=n)
    for ps in extra.values():
        for p in ps:
            nchild[p] += 1
    dl = rng.lognormal(1.2, 2.0, n) * (1.0 + nchild) ** 1.25
    dl[list(famous)] *= 50
    downloads = np.minimum(dl, 5e7).astype(np.int64)  # the real top models: ~1e7-5e7 a month

    return SynthHub(
        n=n,
        seed=seed,
        created_ms=created,
        parent=parent,
        relation=rel,
        root=root,
        extra=extra,
        author_rank=ranks,
        downloads=downloads,
        arch=arch,
        license=lic,
        famous=famous,
        self_loops=self_loops,
        cycles=cycles,
        missing=missing,
        messy=messy,
        fitness=fit,
    )


# ----------------------------------------------------------------------------- JSON lines


def _iso(ms: np.ndarray) -> list[str]:
    return [s + "Z" for s in np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")]


def iter_lines(hub: SynthHub, *, chunk: int = 20_000) -> Iterator[list[str]]:
    """Yield the snapshot's JSON lines (each ending with ``\\n``) in chunks of ``chunk`` rows.

    Line ``i`` is row ``i`` of ``hub`` (which is not modified); :func:`line_id` reads its
    model id back. Lines are built from preformatted templates: every string in them is a
    generated id or a fixed vocabulary word, so no JSON escaping is needed.
    """
    n = hub.n
    rng = np.random.default_rng(np.random.SeedSequence([hub.seed, 0x11AE]))
    topic = rng.integers(0, len(_TOPICS), n).tolist()
    task = rng.integers(0, len(_TASKS), n).tolist()
    word = rng.integers(0, len(_WORDS), n).tolist()
    method = rng.integers(0, len(_METHODS), n).tolist()
    qsuf = rng.choice(len(_QSUFFIXES), size=n, p=_QSUFFIX_P / _QSUFFIX_P.sum()).tolist()
    version = rng.integers(0, 6, n).tolist()
    size_b = rng.choice(
        np.array(["0.5B", "1B", "1.5B", "3B", "7B", "8B", "13B", "14B", "32B", "70B"]), n
    ).tolist()
    card_rel = (rng.random(n) < 0.3).tolist()
    convers = (rng.random(n) < 0.5).tolist()
    gated_r = rng.random(n)
    reupload = (rng.random(n) < REUPLOAD_SHARE).tolist()
    modified = hub.created_ms + (rng.exponential(40.0, n) * _DAY_MS).astype(np.int64)
    modified = np.minimum(modified, _END + 30 * _DAY_MS)
    created_s = hub.created_ms
    likes = (hub.downloads**0.6 * rng.lognormal(-1.5, 1.0, n)).astype(np.int64).tolist()
    dl_all = (hub.downloads * (1 + rng.exponential(4.0, n))).astype(np.int64).tolist()
    downloads = hub.downloads.tolist()
    parent = hub.parent.tolist()
    relation = hub.relation.tolist()
    ranks = hub.author_rank.tolist()
    arch = hub.arch.tolist()
    lic = hub.license.tolist()
    root = hub.root.tolist()
    extra = hub.extra
    famous = hub.famous
    missing = set(hub.missing.tolist())
    messy = {r: k for k, r in enumerate(hub.messy.tolist())}

    names: list[str] = [""] * n  # name part (after the slash)
    ids: list[str] = [""] * n  # this run's names; ``hub`` is left as it is
    stems: list[str] = [""] * n
    seen: set[str] = set()
    author_cache: dict[int, str] = {}
    head_cache: dict[tuple[int, int, int, bool], tuple[str, str | None]] = {}
    miss_ids: dict[int, str] = {}

    def author_of(rank: int) -> str:
        a = author_cache.get(rank)
        if a is None:
            if rank <= -100:
                a = _ADAPTER_AUTHORS[-100 - rank]
            elif rank < 0:
                a = _QUANTIZERS[-1 - rank][0]
            else:
                a = _author_name(rank)
            author_cache[rank] = a
        return a

    def unique(author: str, name: str) -> tuple[str, str]:
        if len(name) > 88:
            name = name[:88].rstrip("-._")
        mid = f"{author}/{name}"
        key = mid.lower()
        if key in seen:
            k = 2
            while f"{key}-{k}" in seen:
                k += 1
            name = f"{name}-{k}"
            mid = f"{author}/{name}"
            key = mid.lower()
        seen.add(key)
        return mid, name

    def head(a: int, r: int, q: int, conv: bool) -> tuple[str, str | None]:
        """Tags before the base_model ones, and the library name."""
        key = (a, r, q, conv)
        got = head_cache.get(key)
        if got is not None:
            return got
        arch_name = _ARCH_LIST[a]
        pipe, lib, llm = ARCHS[arch_name]
        tags: list[str]
        library: str | None = lib
        if r == ADAPTER:
            library = "diffusers" if lib == "diffusers" else "peft"
            tags = [library, "safetensors", arch_name]
            if library == "diffusers":
                tags += ["lora", "template:sd-lora"]
        elif r == QUANTIZED and not llm:
            library = "transformers.js"
            tags = ["transformers.js", "onnx", arch_name]
        elif r == QUANTIZED:
            s = _QSUFFIXES[q]
            if "GGUF" in s:
                library = "gguf"
                tags = ["gguf", arch_name]
                if s.startswith("i1"):
                    tags.append("imatrix")
            elif s.startswith("mlx"):
                library = "mlx"
                tags = ["mlx", "safetensors", arch_name, "4-bit"]
            elif s == "AWQ":
                tags = ["transformers", "safetensors", arch_name, "4-bit", "awq"]
            elif s == "GPTQ":
                tags = ["transformers", "safetensors", arch_name, "4-bit", "gptq"]
            elif s == "exl2":
                tags = ["transformers", "safetensors", arch_name, "exl2"]
            elif s == "fp8":
                tags = ["transformers", "safetensors", arch_name, "fp8", "compressed-tensors"]
            else:
                tags = ["transformers", "safetensors", arch_name, s.split("-")[-1], "bitsandbytes"]
        else:
            tags = [lib, "safetensors", arch_name]
            if r == MERGE:
                tags += ["mergekit", "merge"]
        tags.append(pipe)
        if llm and conv:
            tags.append("conversational")
        out = ('"' + '", "'.join(tags) + '"', library)
        head_cache[key] = out
        return out

    tail_tags = '"endpoints_compatible", "region:us"'
    # (tag, card entry) of each licence; index -1 (none declared) is the last one
    licence_json = [
        (f', "license:{x}"', f'"license": "{x}"' + (f', "license_name": "{m}"' if m else ""))
        for x, m in _LICENCE_TABLE
    ] + [("", "")]
    created_iso_all = _iso(created_s)
    modified_iso_all = _iso(modified)
    cycle_child = {b: a for a, b in hub.cycles}  # b lists a (named early, see below)
    # the most attractive finetunes are the instruct/chat versions of their parents
    ft_rows = np.flatnonzero(hub.relation == FINETUNE)
    n_hubs = max(1, n // 5000)
    hubs = set(ft_rows[np.argsort(-hub.fitness[ft_rows], kind="stable")[:n_hubs]].tolist())

    def name_row(i: int, r: int, author: str) -> None:
        """Give row ``i`` its id (its first parent is already named)."""
        p = parent[i]
        a = arch[i]
        if r == NONE:
            if ARCHS[_ARCH_LIST[a]][2]:
                base = f"{_WORDS[word[i]]}-{size_b[i]}"
            else:
                base = f"{_WORDS[word[i]].lower()}-{_TASKS[task[i]]}"
            if version[i] > 2:
                base += f"-v{version[i] - 2}"
        else:
            pname = names[p]
            stem = stems[p]
            if r == QUANTIZED:
                if author == "RichardErkhov":
                    pauth = ids[p].split("/", 1)[0]
                    base = f"{pauth}_-_{pname}-{_QSUFFIXES[qsuf[i]].lower()}"
                elif not ARCHS[_ARCH_LIST[a]][2]:
                    base = pname
                else:
                    base = f"{pname}-{_QSUFFIXES[qsuf[i]]}"
            elif r == ADAPTER:
                base = f"{stem.lower()}-{_TASKS[task[i]]}-lora"
            elif r == MERGE:
                older = [x for x in extra.get(i, ()) if x < i]
                o = stems[older[0]].split("-")[0].strip("_.") if older else ""
                o = o or _WORDS[word[i]]
                if version[i] == 0:
                    base = f"mergekit-{_METHODS[method[i]]}-{_WORDS[word[i]].lower()}{i % 9973}"
                else:
                    base = f"{stem}-{o}-{_METHODS[method[i]]}"
            elif reupload[i] and p in famous and FAMOUS[famous[p]][4] and p == root[p]:
                base = pname  # a re-upload of a gated foundation, ungated
            elif i in hubs:
                base = f"{stem}-Instruct" if version[i] % 2 else f"{stem}-it"
            else:
                base = f"{stem}-{_TOPICS[topic[i]]}"
                if version[i] > 3:
                    base += f"-v{version[i] - 3}"
        mid, name = unique(author, base)
        names[i] = name
        ids[i] = mid
        stems[i] = name if len(name) <= 40 else (stems[root[i]] or name[:40].rstrip("-._"))

    out: list[str] = []
    for i in range(n):
        r = relation[i]
        a = arch[i]
        fam_k = famous.get(i)
        gated = "false"
        if fam_k is not None:
            mid = FAMOUS[fam_k][0]
            author, name = mid.split("/", 1)
            seen.add(mid.lower())
            gated = f'"{FAMOUS[fam_k][4]}"' if FAMOUS[fam_k][4] else "false"
            names[i], ids[i], stems[i] = name, mid, name
        elif ids[i]:  # named early: the child half of a 2-cycle
            mid = ids[i]
            author = mid.split("/", 1)[0]
        else:
            author = author_of(ranks[i])
            name_row(i, r, author)
            mid = ids[i]
            if r == NONE and gated_r[i] < 0.004:
                gated = '"manual"'
            elif r == NONE and gated_r[i] < 0.007:
                gated = '"auto"'
        if i in cycle_child:  # this row lists a younger model as a parent: name it now
            c = cycle_child[i]
            name_row(c, relation[c], author_of(ranks[c]))
        # ---- parents
        card_extra = ""
        bm = ""
        lic_tag, lic_card = licence_json[lic[i]]
        conv = convers[i]
        if r != NONE:
            p = parent[i]
            rname = REL_NAMES[r]
            pids = [ids[p]]
            if i in missing:
                mp = miss_ids.get(p)
                if mp is None:
                    mp, _ = unique(ids[p].split("/", 1)[0], f"{names[p]}-old")
                    miss_ids[p] = mp
                pids = [mp]
            for x in extra.get(i, ()):
                pids.append(ids[x] if x != i else mid)
            k = messy.get(i)
            if k is None:
                bm = ", " + ", ".join(f'"base_model:{x}", "base_model:{rname}:{x}"' for x in pids)
                if len(pids) == 1:
                    card_extra = f'"base_model": "{pids[0]}", '
                else:
                    card_extra = '"base_model": ["' + '", "'.join(pids) + '"], '
                if card_rel[i] or r == MERGE:
                    card_extra += f'"base_model_relation": "{rname}", '
            else:
                card_extra = _messy_card(k % 7, pids) + ", "
                if k % 3 == 0:
                    card_extra += f'"base_model_relation": "{rname}", '
        tags_head, library = head(a, r, qsuf[i], conv)
        lib_json = f'"{library}"' if library else "null"
        card_lib = f'"library_name": "{library}", ' if library else ""
        card_body = f"{card_extra}{card_lib}{lic_card}"
        if card_body.endswith(", "):
            card_body = card_body[:-2]
        pipe = ARCHS[_ARCH_LIST[a]][0]
        out.append(
            f'{{"id": "{mid}", "author": "{author}", "createdAt": "{created_iso_all[i]}", '
            f'"lastModified": "{modified_iso_all[i]}", "downloads": {downloads[i]}, '
            f'"downloadsAllTime": {dl_all[i]}, "likes": {likes[i]}, '
            f'"trendingScore": {likes[i] // 40}, "library_name": {lib_json}, '
            f'"pipeline_tag": "{pipe}", "private": false, "gated": {gated}, '
            f'"tags": [{tags_head}, "en"{bm}{lic_tag}, {tail_tags}], '
            f'"cardData": {{{card_body}}}}}\n'
        )
        if len(out) >= chunk:
            yield out
            out = []
    if out:
        yield out


def line_id(line: str) -> str:
    """The model id of a line written by :func:`iter_lines` (it comes first, unescaped).

    >>> line_id('{"id": "org/model-7B", "author": "org"}')
    'org/model-7B'
    """
    start = line.index('"id": "') + 7
    return line[start:line.index('"', start)]


def _messy_card(kind: int, pids: list[str]) -> str:
    """A messy ``"base_model": ...`` card entry for the parents ``pids`` (no tags exist)."""
    first = pids[0]
    if kind == 0:
        return f'"base_model": "https://huggingface.co/{first}"'
    if kind == 1:
        return f'"base_model": "{first}/"'
    if kind == 2:
        return f'"base_model": "{first}@main"'
    if kind == 3:
        joined = ", ".join(pids) if len(pids) > 1 else f"{first}, {first}"
        return f'"base_model": "{joined}"'
    if kind == 4:
        return f'"base_model": ["{first}", "{first}"]'
    if kind == 5:
        return f'"base_model": "{first.lower()}"'
    return '"base_model": 7'


def generate(n_models: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the model objects of a synthetic hub (parsed JSON; for small hubs and tests)."""
    for lines in iter_lines(build(n_models, seed)):
        for line in lines:
            yield json.loads(line)


# ----------------------------------------------------------------------------- writing


def edge_arrays(hub: SynthHub) -> tuple[np.ndarray, np.ndarray]:
    """(parent rows, child rows) of every edge between two written models.

    Edges to deleted (missing) parents and non-string card values are left out; self-loops,
    2-cycles and merge parents are in.
    """
    keep = hub.parent >= 0
    keep[hub.missing] = False  # their parent in the file is a deleted model
    keep[hub.messy[6::7]] = False  # non-string card value: no parent at all
    src = [hub.parent[keep]]
    dst = [np.flatnonzero(keep)]
    if hub.extra:
        dst.append(np.fromiter((c for c, ps in hub.extra.items() for _ in ps), dtype=np.int64))
        src.append(np.fromiter((p for ps in hub.extra.values() for p in ps), dtype=np.int64))
    return np.concatenate(src), np.concatenate(dst)


def family_sizes(hub: SynthHub, roots: list[int] | np.ndarray) -> dict[int, int]:
    """Exact family sizes (descendants over all parent edges, root excluded) of ``roots``.

    One breadth-first search per root, all at once (:func:`ecograph.graph.traverse.bfs_csr`).
    """
    from .graph.traverse import bfs_csr  # here, so importing synth stays light

    n = hub.n
    src, dst = edge_arrays(hub)
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    indptr = np.searchsorted(src, np.arange(n + 1))
    roots = np.asarray(roots, dtype=np.int64)
    label, _, _ = bfs_csr(indptr, dst, roots, labels=np.arange(roots.size))
    sizes = np.bincount(label, minlength=roots.size)
    return dict(zip(roots.tolist(), sizes.tolist(), strict=True))


def _top_families(hub: SynthHub, k: int = 10) -> list[tuple[int, int]]:
    tree = np.bincount(hub.root, minlength=hub.n) - 1  # first-parent tree sizes (approx.)
    roots = np.flatnonzero(hub.relation == 0)
    cand = roots[np.argsort(-tree[roots], kind="stable")[: 3 * k]]
    sizes = family_sizes(hub, cand)
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def write_snapshot(
    path: str | Path,
    n_models: int,
    seed: int = 0,
    *,
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Generate a synthetic hub and write it to ``path`` (gzip when it ends with ``.gz``).

    ``progress(n)`` is called with the number of models written since the last call.
    Compression runs in a second thread (zlib releases the GIL), so generation and gzip
    overlap on a multi-core machine. Same ``(n_models, seed)`` -> same bytes.
    """
    t0 = time.perf_counter()
    path = Path(path)
    hub = build(n_models, seed)
    gz = path.name.endswith(".gz")
    q: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    error: list[BaseException] = []

    def writer() -> None:
        try:
            with path.open("wb") as raw:
                if gz:
                    with gzip.GzipFile(
                        filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0
                    ) as fh:
                        while (data := q.get()) is not None:
                            fh.write(data)
                else:
                    while (data := q.get()) is not None:
                        raw.write(data)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)
            while q.get() is not None:
                pass

    top = _top_families(hub)
    src, _ = edge_arrays(hub)
    fan = np.bincount(src, minlength=hub.n)
    max_row = int(np.argmax(fan))
    wanted = sorted({max_row, *(r for r, _ in top)})  # rows the summary names
    names: dict[int, str] = {}
    th = threading.Thread(target=writer, name="synth-writer", daemon=True)
    th.start()
    try:
        first_row = 0
        for lines in iter_lines(hub):
            if error:
                break
            q.put("".join(lines).encode("utf-8"))
            for row in wanted:
                if first_row <= row < first_row + len(lines):
                    names[row] = line_id(lines[row - first_row])
            first_row += len(lines)
            if progress is not None:
                progress(len(lines))
    finally:
        q.put(None)
        th.join()
    if error:
        raise error[0]
    rel_counts = np.bincount(hub.relation, minlength=5)
    n_edges = int(src.size + hub.missing.size)
    return SynthSummary(
        path=str(path),
        models=hub.n,
        with_parent=hub.with_parent - int(_non_string_messy(hub)),
        edges=n_edges,
        relations={REL_NAMES[k]: int(rel_counts[k]) for k in range(1, 5)},
        top_families=[(names[r], s) for r, s in top],
        max_fanout=(names[max_row], int(fan[max_row])),
        seconds=time.perf_counter() - t0,
        bytes=path.stat().st_size,
    )


def _non_string_messy(hub: SynthHub) -> int:
    """Messy rows whose card value is a non-string (they end up with no parent at all)."""
    return int(hub.messy[6::7].size)
