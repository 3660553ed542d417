"""By-hand benchmark of ``watch``'s cost: a small CPU model's training loop (an MLP on
synthetic data) with and without ``run.watch(model, log="all", log_freq=100)``, in
alternating rounds, against a private daemon. Prints each round's time per step and the
overhead: the median of the rounds' (watched / plain - 1), in wall-clock and in the
process's CPU time (which a busy machine inflates less), and from the medians of single steps;
target under 5 %.

Both loops do the same work besides the hooks (each step logs its loss); the watched model is
a copy of the plain one. Run it from the repository root, with trackd and PyTorch (a CPU build)
installed in the interpreter::

    python tests/benchmarks/bench_watch.py                      # 10 rounds of 400 steps each way
    python tests/benchmarks/bench_watch.py --rounds 4 --steps 200 --threads 1

It is not a pytest test (pytest collects no ``bench_*.py``).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds each way (alternating)")
    parser.add_argument("--steps", type=int, default=400, help="training steps per round")
    parser.add_argument("--log-freq", type=int, default=100)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=int, default=256, help="hidden layers' width")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-watch-", ignore_cleanup_errors=True) as tmp:
        # a private daemon and run directory (nothing of the user's is touched)
        os.environ.pop("TRACKD_ADDRESS", None)
        os.environ.update(TRACKD_ROOT=f"{tmp}/root", TRACKD_STATE_DIR=f"{tmp}/state",
                          TRACKD_RUNTIME_DIR=tempfile.mkdtemp(prefix="tdw", dir="/tmp"),
                          TRACKD_UI_PORT="0", TRACKD_SILENT="true")
        os.chdir(tmp)
        import trackd

        trackd.setup()  # the daemon this benchmark starts, stopped before its files go
        try:
            run_bench(args)
        finally:
            trackd.teardown()


def run_bench(args: argparse.Namespace) -> None:
    import torch

    import trackd

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    w = args.width
    plain = torch.nn.Sequential(torch.nn.Linear(784, w), torch.nn.ReLU(), torch.nn.Linear(w, w),
                                torch.nn.ReLU(), torch.nn.Linear(w, 10))
    watched = copy.deepcopy(plain)
    data = [(torch.randn(args.batch, 784), torch.randint(0, 10, (args.batch,)))
            for _ in range(16)]
    run = trackd.init(project="bench-watch", settings={"silent": True})
    run.watch(watched, log="all", log_freq=args.log_freq)

    step_times: dict[str, list[float]] = {"plain": [], "watched": []}

    cpu_times: dict[str, list[float]] = {"plain": [], "watched": []}

    def train(model: torch.nn.Module, opt: torch.optim.Optimizer, steps: int) -> float:
        kind = "watched" if model is watched else "plain"
        times = step_times[kind]
        cpu_start = time.process_time()
        start = last = time.perf_counter()
        for i in range(steps):
            x, y = data[i % len(data)]
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log({"loss": loss.detach()})
            now = time.perf_counter()
            times.append(now - last)
            last = now
        cpu_times[kind].append(time.process_time() - cpu_start)
        return time.perf_counter() - start

    opts = {id(m): torch.optim.Adam(m.parameters(), lr=1e-3) for m in (plain, watched)}
    for m in (plain, watched):  # warm up both (allocations, first-call costs)
        train(m, opts[id(m)], args.log_freq)
    for kept in (step_times, cpu_times):
        kept["plain"].clear()
        kept["watched"].clear()  # the watched steps' count is a multiple of log_freq again
    ratios, per_step = [], {"plain": [], "watched": []}
    for r in range(args.rounds):
        order = (plain, watched) if r % 2 == 0 else (watched, plain)
        times = {}
        for m in order:
            times["watched" if m is watched else "plain"] = train(m, opts[id(m)], args.steps)
        for k, t in times.items():
            per_step[k].append(t / args.steps * 1e3)
        ratios.append(times["watched"] / times["plain"] - 1)
        print(f"round {r + 1:2d}: plain {per_step['plain'][-1]:.3f} ms/step, watched "
              f"{per_step['watched'][-1]:.3f} ms/step, overhead {ratios[-1] * 100:+.2f} %",
              flush=True)
    run.finish()
    logged = args.rounds * args.steps // args.log_freq
    params = sum(p.numel() for p in plain.parameters())
    print(f"\nMLP 784-{w}-{w}-10 ({params:,} parameters, 6 tensors), batch {args.batch}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"watch(log='all', log_freq={args.log_freq}): 12 histograms every {args.log_freq} "
          f"steps ({logged} times in the timed rounds)")
    print(f"plain   median {statistics.median(per_step['plain']):.3f} ms/step")
    print(f"watched median {statistics.median(per_step['watched']):.3f} ms/step")
    print(f"overhead: median of the rounds {statistics.median(ratios) * 100:+.2f} % "
          f"(rounds from {min(ratios) * 100:+.2f} % to {max(ratios) * 100:+.2f} %; target < 5 %)")
    cpu = [w / p - 1 for w, p in zip(cpu_times["watched"], cpu_times["plain"], strict=True)]
    print(f"overhead in this process's CPU time (training and trackd's threads, not waiting "
          f"for a busy machine's cores): median {statistics.median(cpu) * 100:+.2f} %, total "
          f"{(sum(cpu_times['watched']) / sum(cpu_times['plain']) - 1) * 100:+.2f} %")
    # Per step, robust to a busy machine's bursts: the medians of single steps' times.
    f = args.log_freq
    plain_step = statistics.median(step_times["plain"])
    due = step_times["watched"][f - 1::f]  # the steps on which the hooks log
    other = [t for i, t in enumerate(step_times["watched"]) if i % f != f - 1]
    per_log = statistics.median(due) - statistics.median(other)
    quiet = statistics.median(other) - plain_step
    print(f"per step: plain {plain_step * 1e3:.3f} ms, watched without logging "
          f"{statistics.median(other) * 1e3:.3f} ms ({quiet / plain_step * 100:+.2f} %), "
          f"a logging step {per_log * 1e3:+.3f} ms more")
    print(f"overhead from the step medians: "
          f"{(quiet + per_log / f) / plain_step * 100:+.2f} % (target < 5 %)")


if __name__ == "__main__":
    main()
