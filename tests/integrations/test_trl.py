"""TRL's completion tables, unmodified, through the opt-in package: a tiny randomly initialised
causal LM and a tokenizer built here (nothing from the hub), on the CPU.

What TRL's docs say is logged to W&B: ``GRPOTrainer`` with ``log_completions=True`` logs a
``completions`` table (step, prompt, completion, one column per reward function, advantage)
at each logging step, besides the trainer's metrics (``train/loss``, ``train/reward``...);
``LogCompletionsCallback`` logs ``wandb.log({"completions": <pandas.DataFrame>})``, which W&B
turns into a Table (step, prompt, completion), growing at each ``freq`` steps."""

from __future__ import annotations

import json

import pytest

from tests.integrations.conftest import Integration, history

pytest.importorskip("trl")
pytest.importorskip("datasets")
pytest.importorskip("torch")
pytestmark = [pytest.mark.integrations, pytest.mark.slow, pytest.mark.timeout(360)]

MODEL = """
import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

torch.manual_seed(0)
words = "the a cat dog sat ran on mat fast slow big small red blue".split()
vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "<unk>", *words])}
core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>",
                                    unk_token="<unk>")
config = GPT2Config(vocab_size=len(vocab), n_positions=32, n_embd=16, n_layer=1, n_head=2,
                    pad_token_id=0, eos_token_id=1, bos_token_id=1)
model = GPT2LMHeadModel(config)
prompts = ["the cat", "a dog", "the big mat", "a red cat"]
"""

GRPO = MODEL + """
from trl import GRPOConfig, GRPOTrainer


def length_reward(completions, **kwargs):
    return [float(len(c.split())) for c in completions]


args = GRPOConfig(output_dir="out", report_to="wandb", max_steps=2, logging_steps=1,
                  per_device_train_batch_size=4, num_generations=2, max_completion_length=4,
                  log_completions=True, use_cpu=True, bf16=False, save_strategy="no", seed=0)
trainer = GRPOTrainer(model=model, reward_funcs=length_reward, args=args,
                      train_dataset=Dataset.from_dict({"prompt": prompts}),
                      processing_class=tokenizer)
trainer.train()
"""


def test_grpo_completions_table(integ: Integration) -> None:
    integ.run(GRPO)
    run = integ.only_run()
    assert run.state == "finished"
    rows = history(run, "train/loss")
    assert [r["train/global_step"] for r in rows] == [1, 2]
    assert all("train/reward" in r for r in rows)
    assert run.config["num_generations"] == 2 and run.config["log_completions"] is True

    # At each log() call: steps 1 and 2, and the trainer's closing log (train_runtime...) again.
    tables = history(run, "completions")
    assert [r["train/global_step"] for r in tables] == [1, 2, 2]
    for row in tables:
        ref = row["completions"]
        assert ref["_type"] == "table-file" and ref["nrows"] == 4
        table = json.loads(run.file(ref["path"]).read_bytes())
        assert table["columns"] == ["step", "prompt", "completion", "length_reward", "advantage"]
        assert {r[0] for r in table["data"]} == {row["train/global_step"]}
        assert {r[1] for r in table["data"]} <= {"the cat", "a dog", "the big mat", "a red cat"}
        assert all(r[3] == float(len(r[2].split())) for r in table["data"])
    assert run.summary["completions"]["path"] == tables[-1]["completions"]["path"]


SFT = MODEL + """
from trl import LogCompletionsCallback, SFTConfig, SFTTrainer

text = Dataset.from_dict({"text": [p + " sat on the mat" for p in prompts] * 4})
evals = Dataset.from_dict({"prompt": prompts[:2], "completion": ["sat", "ran"]})
args = SFTConfig(output_dir="out", report_to="wandb", max_steps=4, logging_steps=2,
                 per_device_train_batch_size=4, eval_strategy="steps", eval_steps=2,
                 use_cpu=True, bf16=False, save_strategy="no", seed=0, max_length=16)
trainer = SFTTrainer(model=model, args=args, train_dataset=text, eval_dataset=evals,
                     processing_class=tokenizer)
trainer.add_callback(LogCompletionsCallback(trainer, freq=2))
trainer.train()
"""


def test_log_completions_callback_dataframe_becomes_a_table(integ: Integration) -> None:
    integ.run(SFT)
    run = integ.only_run()
    assert [r["train/global_step"] for r in history(run, "train/loss")] == [2, 4]
    tables = history(run, "completions")
    assert len(tables) == 2
    last = tables[-1]["completions"]
    assert last["_type"] == "table-file"
    table = json.loads(run.file(last["path"]).read_bytes())
    assert table["columns"] == ["step", "prompt", "completion"]
    # The callback's table grows: the two prompts at step 2, then again at step 4.
    assert [r[0] for r in table["data"]] == ["2", "2", "4", "4"]
    assert [r[1] for r in table["data"]] == ["the cat", "a dog"] * 2
