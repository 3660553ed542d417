"""transformers' ``Trainer`` with ``report_to="wandb"``, unmodified, through the opt-in package:
a tiny randomly initialised BERT classifier on synthetic tokens, on the CPU.

What W&B's docs say the integration records (docs.wandb.ai, Hugging Face Transformers): the
training and evaluation metrics as ``train/*`` and ``eval/*`` against ``train/global_step``,
the ``TrainingArguments`` and the model's config as the run's config (with
``model/num_parameters``), ``train_runtime``/``train_loss``... in the summary, with
``WANDB_LOG_MODEL=end`` the model as an artifact ``model-<run id>`` (aliases ``base_model``
for the architecture at the start and ``final_model`` at the end), and with ``WANDB_WATCH=all``
gradient and parameter histograms."""

from __future__ import annotations

import pytest

from tests.integrations.conftest import Integration, history

pytest.importorskip("transformers")
pytest.importorskip("torch")
pytestmark = [pytest.mark.integrations, pytest.mark.slow, pytest.mark.timeout(360)]

TRAIN = """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

torch.manual_seed(0)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, 60, (n, 12), generator=g)
        self.labels = (self.ids[:, 0] > 32).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(12, dtype=torch.long),
                "labels": self.labels[i]}


config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)
args = TrainingArguments(
    output_dir="out", report_to="wandb", max_steps=120, per_device_train_batch_size=4,
    learning_rate=1e-3, logging_steps=10, eval_strategy="steps", eval_steps=60,
    save_strategy="no", use_cpu=True, seed=0, dataloader_num_workers=0,
)
trainer = Trainer(model=model, args=args, train_dataset=Tokens(64, 1), eval_dataset=Tokens(16, 2))
trainer.train()
trainer.evaluate()
"""


def test_trainer_logs_rows_config_summary_model_and_gradients(integ: Integration) -> None:
    integ.run(TRAIN, WANDB_LOG_MODEL="end", WANDB_WATCH="all")
    run = integ.only_run()
    assert run.state == "finished"

    # Rows: the training loss every 10 steps and the evaluation loss at steps 60 and 120 (and
    # the final evaluate()), each with train/global_step, the x axis the callback defines.
    train_rows = history(run, "train/loss")
    assert [r["train/global_step"] for r in train_rows] == list(range(10, 121, 10))
    assert all(isinstance(r["train/loss"], float) and r["train/loss"] > 0 for r in train_rows)
    assert all("train/learning_rate" in r and "train/grad_norm" in r for r in train_rows)
    eval_rows = history(run, "eval/loss")
    assert [r["train/global_step"] for r in eval_rows] == [60, 120, 120]
    assert all("eval/runtime" in r for r in eval_rows)

    # Config: TrainingArguments and the model's config, merged, and the parameter count.
    config = run.config
    assert config["learning_rate"] == 1e-3 and config["max_steps"] == 120
    assert config["per_device_train_batch_size"] == 4 and config["report_to"] == ["wandb"]
    assert config["hidden_size"] == 16 and config["num_hidden_layers"] == 1
    assert config["vocab_size"] == 64 and config["model_type"] == "bert"
    n_params = config["model/num_parameters"]
    assert isinstance(n_params, int) and 1000 < n_params < 100_000

    # Summary: the run-level figures the callback writes there, and the last rows' values.
    summary = run.summary
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                "train_loss", "total_flos"):
        assert isinstance(summary[key], (int, float)), key
    assert summary["train/global_step"] == 120
    assert summary["eval/loss"] == pytest.approx(eval_rows[-1]["eval/loss"])

    # WANDB_LOG_MODEL=end: the architecture at the start, the trained model at the end.
    arts = {tuple(sorted(a.aliases)): a for a in run.logged_artifacts()}
    base = arts[("base_model",)]
    final = next(a for k, a in arts.items() if "final_model" in k)
    assert base.type == final.type == "model"
    assert base.name.split(":")[0] == final.name.split(":")[0] == f"model-{run.id}"
    assert "model_architecture.txt" in {f.name for f in base.files()}
    assert base.metadata["initial_model"] is True
    assert base.metadata["num_parameters"] == n_params
    final_files = {f.name for f in final.files()}
    assert {"model.safetensors", "config.json", "training_args.bin"} <= final_files
    assert final.metadata["final_model"] is True
    assert final.metadata["train_loss"] == pytest.approx(summary["train_loss"])
    root = final.download()
    import json
    from pathlib import Path

    assert json.loads((Path(root) / "config.json").read_text())["hidden_size"] == 16

    # WANDB_WATCH=all (log_freq = max(100, logging_steps) = 100): gradient and parameter
    # histograms of every layer, at step 100 only.
    grads = history(run, "gradients/bert.embeddings.word_embeddings.weight")
    params = history(run, "parameters/classifier.weight")
    assert len(grads) == 1 and len(params) == 1
    hist = grads[0]["gradients/bert.embeddings.word_embeddings.weight"]
    assert hist["_type"] == "histogram" and len(hist["bins"]) == len(hist["values"]) + 1
    assert sum(hist["values"]) == 64 * 16  # every element of the embedding's gradient
