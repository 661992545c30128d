"""Lineages of foundations: vendor, series, params_b, size_class, released (DESIGN §8)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecograph.errors import InputError
from ecograph.lineage import (
    LINEAGE_SCHEMA,
    SIZE_CLASSES,
    default_table,
    lineages,
    load_table,
    parse_name,
    resolve_table,
    size_class,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

# (real foundation id, series, params_b from the name)
SERIES_CASES = [
    ("meta-llama/Llama-2-7b-hf", "Llama 2", 7),
    ("meta-llama/Llama-2-13b-chat-hf", "Llama 2", 13),
    ("meta-llama/Llama-2-70b", "Llama 2", 70),
    ("meta-llama/Meta-Llama-3-8B", "Llama 3", 8),
    ("meta-llama/Meta-Llama-3-70B", "Llama 3", 70),
    ("meta-llama/Llama-3.1-8B", "Llama 3.1", 8),
    ("meta-llama/Llama-3.1-405B", "Llama 3.1", 405),
    ("meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2", 1),
    ("meta-llama/Llama-3.2-3B", "Llama 3.2", 3),
    ("meta-llama/Llama-3.2-11B-Vision-Instruct", "Llama 3.2 Vision", 11),
    ("meta-llama/Llama-4-Scout-17B-16E", "Llama 4", 272),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "Llama 4", 272),
    ("meta-llama/Llama-4-Maverick-17B-128E-Instruct", "Llama 4", 17 * 128),
    ("meta-llama/Llama-Guard-3-1B", "Llama Guard 3", 1),
    ("meta-llama/Meta-Llama-Guard-2-8B", "Llama Guard 2", 8),
    ("codellama/CodeLlama-7b-Python-hf", "CodeLlama Python", 7),
    ("codellama/CodeLlama-34b-hf", "CodeLlama", 34),
    ("Qwen/Qwen2.5-7B", "Qwen2.5", 7),
    ("Qwen/Qwen2.5-0.5B", "Qwen2.5", 0.5),
    ("Qwen/Qwen2-1.5B-Instruct", "Qwen2", 1.5),
    ("Qwen/Qwen2-57B-A14B", "Qwen2", 57),
    ("Qwen/Qwen3-30B-A3B-Base", "Qwen3", 30),
    ("Qwen/Qwen3-235B-A22B", "Qwen3", 235),
    ("Qwen/Qwen3-0.6B-Base", "Qwen3", 0.6),
    ("Qwen/Qwen1.5-110B-Chat", "Qwen1.5", 110),
    ("Qwen/Qwen-1_8B-Chat", "Qwen", 1.8),
    ("Qwen/Qwen-7B-Chat-Int4", "Qwen", 7),
    ("Qwen/CodeQwen1.5-7B-Chat", "CodeQwen1.5", 7),
    ("Qwen/Qwen2-Math-72B-Instruct", "Qwen2 Math", 72),
    ("Qwen/Qwen2.5-VL-7B-Instruct", "Qwen2.5 VL", 7),
    ("Qwen/Qwen2-0.5B-Instruct-MLX", "Qwen2", 0.5),
    ("mistralai/Mistral-7B-v0.1", "Mistral 7B", 7),
    ("mistralai/Mistral-7B-Instruct-v0.3", "Mistral 7B", 7),
    ("mistralai/Mixtral-8x7B-v0.1", "Mixtral 8x7B", 56),
    ("mistralai/Mixtral-8x22B-v0.1", "Mixtral 8x22B", 176),
    ("mistralai/Mistral-Small-24B-Base-2501", "Mistral Small", 24),
    ("mistralai/Mistral-Small-3.1-24B-Instruct-2503", "Mistral Small 3.1", 24),
    ("mistralai/Mistral-Nemo-Base-2407", "Mistral Nemo", None),
    ("mistralai/Ministral-8B-Instruct-2410", "Ministral", 8),
    ("mistralai/Mistral-Large-Instruct-2411", "Mistral Large", None),
    ("mistralai/Devstral-Small-2505", "Devstral Small", None),
    ("mistralai/Codestral-22B-v0.1", "Codestral", 22),
    ("google/gemma-2-9b-it", "Gemma 2", 9),
    ("google/gemma-2-2b-jpn-it", "Gemma 2 jpn", 2),
    ("google/gemma-7b", "Gemma", 7),
    ("google/gemma-1.1-2b-it", "Gemma 1.1", 2),
    ("google/gemma-3-1b-pt", "Gemma 3", 1),
    ("google/gemma-3-27b-it-qat-q4_0-unquantized", "Gemma 3", 27),
    ("google/codegemma-7b", "CodeGemma", 7),
    ("google/medgemma-4b-it", "MedGemma", 4),
    ("google/flan-t5-base", "Flan T5", None),
    ("microsoft/phi-2", "Phi-2", None),
    ("microsoft/phi-1_5", "Phi-1.5", None),
    ("microsoft/Phi-3-mini-4k-instruct", "Phi-3", None),
    ("microsoft/Phi-3-medium-128k-instruct", "Phi-3", None),
    ("microsoft/Phi-3.5-vision-instruct", "Phi-3.5 vision", None),
    ("microsoft/phi-4", "Phi-4", None),
    ("microsoft/Phi-4-mini-instruct", "Phi-4", None),
    ("microsoft/WizardLM-2-8x22B", "WizardLM 2", 176),
    ("microsoft/Orca-2-13b", "Orca 2", 13),
    ("deepseek-ai/DeepSeek-R1", "DeepSeek-R1", None),
    ("deepseek-ai/DeepSeek-R1-0528", "DeepSeek-R1", None),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1 Distill Qwen", 1.5),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "DeepSeek-R1 Distill Llama", 70),
    ("deepseek-ai/DeepSeek-V3-0324", "DeepSeek-V3", None),
    ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", "DeepSeek-Coder-V2 Lite", None),
    ("deepseek-ai/deepseek-coder-6.7b-instruct", "DeepSeek Coder", 6.7),
    ("deepseek-ai/deepseek-llm-7b-base", "DeepSeek LLM", 7),
    ("tiiuae/falcon-7b-instruct", "Falcon", 7),
    ("tiiuae/falcon-180B-chat", "Falcon", 180),
    ("tiiuae/Falcon3-10B-Base", "Falcon3", 10),
    ("tiiuae/falcon-mamba-7b", "Falcon Mamba", 7),
    ("EleutherAI/pythia-410m-deduped", "Pythia", 0.41),
    ("EleutherAI/pythia-6.9b", "Pythia", 6.9),
    ("EleutherAI/gpt-neox-20b", "GPT-NeoX", 20),
    ("EleutherAI/gpt-j-6b", "GPT-J", 6),
    ("EleutherAI/gpt-neo-125m", "GPT-Neo", 0.125),
    ("bigscience/bloom-7b1", "BLOOM", 7.1),
    ("bigscience/bloomz-560m", "BLOOMZ", 0.56),
    ("HuggingFaceTB/SmolLM2-135M", "SmolLM2", 0.135),
    ("HuggingFaceTB/SmolLM2-1.7B", "SmolLM2", 1.7),
    ("HuggingFaceTB/SmolLM-1.7B-Instruct-v0.2", "SmolLM", 1.7),
    ("allenai/OLMo-2-1124-7B", "OLMo 2", 7),
    ("allenai/OLMo-2-0425-1B", "OLMo 2", 1),
    ("allenai/OLMoE-1B-7B-0924-SFT", "OLMoE", 7),
    ("nvidia/Llama-3_1-Nemotron-Ultra-253B-v1", "Llama 3.1 Nemotron Ultra", 253),
    ("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct", "Llama 3.1 Nemotron UltraLong", 8),
    ("nvidia/Mistral-NeMo-Minitron-8B-Instruct", "Mistral Nemo Minitron", 8),
    ("ibm-granite/granite-3.1-8b-instruct", "Granite 3.1", 8),
    ("ibm-granite/granite-3.1-3b-a800m-base", "Granite 3.1", 3),
    ("ibm-granite/granite-guardian-3.0-2b", "Granite Guardian 3.0", 2),
    ("01-ai/Yi-1.5-9B-Chat-16K", "Yi 1.5", 9),
    ("01-ai/Yi-34B", "Yi", 34),
    ("THUDM/glm-4-9b-chat-1m", "GLM 4", 9),
    ("THUDM/GLM-4-32B-Base-0414", "GLM 4", 32),
    ("THUDM/chatglm3-6b", "ChatGLM3", 6),
    ("internlm/internlm2_5-7b-chat", "InternLM2.5", 7),
    ("internlm/internlm3-8b-instruct", "InternLM3", 8),
    ("openai-community/gpt2-large", "GPT-2", None),
    ("CohereForAI/c4ai-command-r-v01", "Command R", None),
    ("CohereForAI/c4ai-command-r-plus-08-2024", "Command R+", None),
    ("CohereLabs/c4ai-command-r7b-12-2024", "Command R7B", None),
    ("CohereLabs/c4ai-command-a-03-2025", "Command A", None),
    ("CohereLabs/aya-expanse-32b", "Aya Expanse", 32),
    ("CohereLabs/aya-23-8B", "Aya 23", 8),
    ("apple/OpenELM-1_1B", "OpenELM", 1.1),
    ("apple/OpenELM-450M", "OpenELM", 0.45),
    ("openbmb/MiniCPM3-4B", "MiniCPM3", 4),
    ("baichuan-inc/Baichuan2-13B-Chat", "Baichuan2", 13),
    ("upstage/SOLAR-10.7B-v1.0", "SOLAR", 10.7),
    ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct", "EXAONE 3.5", 7.8),
    ("stabilityai/stablelm-2-1_6b", "StableLM 2", 1.6),
    ("stabilityai/stablelm-3b-4e1t", "StableLM", 3),
    ("bigcode/starcoder2-7b", "StarCoder2", 7),
    ("lmsys/vicuna-7b-v1.5", "Vicuna", 7),
    ("mosaicml/mpt-7b", "MPT", 7),
    ("facebook/opt-1.3b", "OPT", 1.3),
    ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "TinyLlama", 1.1),
    ("NousResearch/Meta-Llama-3.1-8B-Instruct", "Llama 3.1", 8),
    ("nvidia/Llama3-ChatQA-1.5-8B", "Llama 3 ChatQA 1.5", 8),
    # lowercase ids spell the series like their vendor does
    ("meta-llama/llama-3.1-8b", "Llama 3.1", 8),
    ("google/GEMMA-2-9B", "Gemma 2", 9),
]

# Ids with nothing to remove (or only such tokens): the series is the name, as spelled.
LEFT_ALONE = [
    "bigcode/starcoderplus",
    "stabilityai/StableBeluga2",
    "black-forest-labs/FLUX.1-dev",
    "microsoft/biogpt",
    "microsoft/DialoGPT-medium",
    "deepseek-ai/DeepSeek-R1-Zero",
    "arcee-ai/Virtuoso-Small-v2",
    "HuggingFaceH4/tiny-random-LlamaForCausalLM",
    "someone/7B",
    "someone/Instruct-2407",
    "someone/_Spydaz_Web_AI_",
]


@pytest.mark.parametrize(("model_id", "series", "params"), SERIES_CASES)
def test_series_and_size_of_real_ids(model_id: str, series: str, params: float | None) -> None:
    table = default_table()
    assert table.series(model_id) == series
    name = model_id.split("/", 1)[1]
    assert parse_name(name).params_b == (pytest.approx(params) if params else None)


def test_enough_real_ids_across_vendors() -> None:
    vendors = {default_table().vendor(i) for i, _, _ in SERIES_CASES}
    assert len(SERIES_CASES) >= 80 and len(vendors) >= 20


@pytest.mark.parametrize("model_id", LEFT_ALONE)
def test_ids_left_alone(model_id: str) -> None:
    assert default_table().series(model_id) == model_id.split("/", 1)[1]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_name_parses(name: str) -> None:
    parsed = parse_name(name)
    assert isinstance(parsed.series, str)
    assert parsed.params_b is None or parsed.params_b >= 0
    assert parsed.series or not name.strip("-_ \t\n")  # empty only for an empty name


def test_vendors_are_facts_and_case_insensitive() -> None:
    table = default_table()
    expected = {
        "meta-llama": "Meta", "facebook": "Meta", "Qwen": "Qwen (Alibaba)",
        "mistralai": "Mistral AI", "google": "Google", "microsoft": "Microsoft",
        "deepseek-ai": "DeepSeek", "tiiuae": "TII", "EleutherAI": "EleutherAI",
        "bigscience": "BigScience", "stabilityai": "Stability AI",
        "HuggingFaceTB": "Hugging Face", "allenai": "Ai2", "nvidia": "NVIDIA",
        "ibm-granite": "IBM", "01-ai": "01.AI", "THUDM": "Zhipu AI", "zai-org": "Zhipu AI",
        "internlm": "Shanghai AI Lab", "openai": "OpenAI", "openai-community": "OpenAI",
        "CohereForAI": "Cohere", "CohereLabs": "Cohere", "Snowflake": "Snowflake",
        "apple": "Apple", "openbmb": "OpenBMB", "baichuan-inc": "Baichuan",
        "upstage": "Upstage", "black-forest-labs": "Black Forest Labs",
        "moonshotai": "Moonshot AI", "LiquidAI": "Liquid AI", "ibm": "IBM",
        "Salesforce": "Salesforce", "bigcode": "BigCode", "lmsys": "LMSYS",
        "NousResearch": "Nous Research", "LGAI-EXAONE": "LG AI Research",
        "codellama": "Meta", "xai-org": "xAI", "MiniMaxAI": "MiniMax",
    }
    assert len(expected) >= 40
    for org, vendor in expected.items():
        assert table.vendor(f"{org}/x") == vendor
        assert table.vendor(f"{org.upper()}/x") == vendor
    assert table.vendor("TheBloke/x") == "TheBloke"  # an unknown org is its own vendor
    assert table.vendor("gpt2") == "gpt2"  # a legacy id without an org


def test_size_classes() -> None:
    assert SIZE_CLASSES == ("<1B", "1-4B", "5-9B", "10-20B", "21-40B", "41-80B", ">80B")
    cases = {0.135: "<1B", 0.5: "<1B", 0.94: "<1B", 0.99989: "1-4B", 1.0: "1-4B",
             3.8: "1-4B", 4.5: "1-4B", 4.97: "5-9B", 8.03: "5-9B", 9.24: "5-9B",
             10.7: "10-20B", 20.9: "10-20B", 21.0: "21-40B", 32.8: "21-40B",
             40.9: "21-40B", 41.0: "41-80B", 70.6: "41-80B", 80.4: "41-80B",
             81.0: ">80B", 405.0: ">80B"}
    for value, label in cases.items():
        assert size_class(value) == label, value
    assert size_class(None) is None


def test_lineages_frame() -> None:
    models = pl.DataFrame({
        "id": ["google/gemma-3-1b-it", "microsoft/phi-2", "acme/Rocket-2-70B", "x/unknown"],
        "created_at": [datetime(2025, 3, 12, 23, 30, tzinfo=UTC),
                       datetime(2023, 12, 13, tzinfo=UTC), None, None],
        "safetensors_total": [999_885_952, 2_779_683_840, None, 0],
    })
    roots = ["microsoft/phi-2", "google/gemma-3-1b-it", "acme/Rocket-2-70B", "nobody/Zed-8B"]
    got = lineages(models, roots)
    assert got.schema == pl.Schema(LINEAGE_SCHEMA)
    assert got.rows() == [
        ("microsoft/phi-2", "Microsoft", "Phi-2", pytest.approx(2.77968384), "1-4B",
         date(2023, 12, 13)),
        # the Hub's count (just under 1e9) is a "1B" model
        ("google/gemma-3-1b-it", "Google", "Gemma 3", pytest.approx(0.999885952), "1-4B",
         date(2025, 3, 12)),
        ("acme/Rocket-2-70B", "acme", "Rocket 2", 70.0, "41-80B", None),
        ("nobody/Zed-8B", "nobody", "Zed", 8.0, "5-9B", None),  # no model row
    ]
    # without a safetensors_total column the name decides; without dates, released is null
    bare = lineages(models.select("id"), ["google/gemma-3-1b-it", "microsoft/phi-2"])
    assert bare.select("params_b", "size_class", "released").rows() == [
        (1.0, "1-4B", None), (None, None, None)]


def test_override_files(tmp_path: Path) -> None:
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(
        "# my lineages\norg,vendor,id,pattern,series\n"
        "TheBloke,Tom Jobbins,,,\n"
        ",,acme/odd-name,,Rocket 1\n"
        ",,,^acme/rocket-,Rocket\n"
        "meta-llama,Meta Platforms,,,\n"
    )
    table = resolve_table(csv_file)
    assert table.vendor("thebloke/x") == "Tom Jobbins"
    assert table.vendor("meta-llama/x") == "Meta Platforms"  # overrides the bundled row
    assert table.vendor("google/x") == "Google"  # the bundled rows stay
    assert table.series("ACME/Odd-Name") == "Rocket 1"
    assert table.series("acme/Rocket-3-7B") == "Rocket"
    toml_file = tmp_path / "mine.toml"
    toml_file.write_text(
        '[vendors]\n"acme" = "ACME"\n\n[[series]]\npattern = "^mistralai/Mistral-7B-"\n'
        'series = "Mistral"\n\n[[series]]\nid = "acme/x"\nseries = "X"\n'
    )
    table = resolve_table(toml_file)
    assert table.vendor("acme/x") == "ACME"
    assert table.series("mistralai/Mistral-7B-v0.1") == "Mistral"  # user rules come first
    assert table.series("acme/x") == "X"
    got = lineages(pl.DataFrame({"id": ["acme/x"]}), ["acme/x"], overrides=toml_file)
    assert got.select("vendor", "series").row(0) == ("ACME", "X")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.csv", "org,vendor\nacme,ACME\nbroken\n", r"bad\.csv:3: expected 2 fields"),
        ("bad.csv", "org,colour\n", r"bad\.csv:1: header must name"),
        ("bad.csv", "\n# c\nid,series\n\nacme/x,\n", r"bad\.csv:5: id or pattern without"),
        ("bad.csv", "pattern,series\n([,X\n", r"bad\.csv:2: bad pattern"),
        ("bad.csv", "org,vendor\nacme,\n", r"bad\.csv:2: org and vendor go together"),
        ("bad.csv", "", r"bad\.csv: empty lineages file"),
        ("bad.toml", '[vendors]\n"acme" = "A"\n"x" = \n', r"bad\.toml: malformed TOML.*line 3"),
        ("bad.toml", '[vendors]\n"acme" = "A"\n"x" = 3\n', r"bad\.toml:3: x must map"),
        ("bad.toml", '[vendors]\n"a" = "A"\n\n[[series]]\nid = "a/a"\nseries = "S"\n\n'
         '[[series]]\nid = "a/b"\npattern = "a"\nseries = "T"\n',
         r"bad\.toml:8: a series needs exactly"),
        ("bad.toml", '[colours]\nred = "r"\n', r"bad\.toml:1: unknown key 'colours'"),
        ("bad.txt", "org,vendor\n", r"expected a \.csv or \.toml file"),
    ],
)
def test_malformed_override_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_table(path)
    assert "\n" not in str(info.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read lineages file"):
        load_table(tmp_path / "nope.csv")


def test_every_real_foundation_parses() -> None:
    edges_csv = REAL / "hf_dep_network_hakanotal" / "edges.csv"
    if not edges_csv.exists():
        pytest.skip("real lineage data not available")
    edges = pl.read_csv(edges_csv).filter(pl.col("source") != pl.col("target"))
    roots = edges.filter(~pl.col("source").is_in(edges.get_column("target").implode()))
    ids = roots.get_column("source").unique().sort()
    got = lineages(pl.DataFrame({"id": ids}), ids)
    assert got.height == ids.len() and got.get_column("series").null_count() == 0
    meta = got.filter(pl.col("root").str.starts_with("meta-llama/"))
    assert set(meta.get_column("vendor")) == {"Meta"}
    # the Llama generations the Hub builds on are all found
    assert {"Llama 2", "Llama 3", "Llama 3.1", "Llama 3.2"} <= set(meta.get_column("series"))
