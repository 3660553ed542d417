"""Examples printed in the seed reference, kept word for word but for the import line
(``import trackd as wandb``), for the tests that run them."""

from __future__ import annotations

from typing import Any

#: The setup() example ("2.7 - setup()").
SEED_SETUP_EXAMPLE = '''\
import multiprocessing

import trackd as wandb


def run_experiment(params):
   with wandb.init(config=params):
        # Run experiment
        pass


if __name__ == "__main__":
   # Start backend and set global config
   wandb.setup(settings={"project": "my_project"})

   # Define experiment parameters
   experiment_params = [
        {"learning_rate": 0.01, "epochs": 10},
        {"learning_rate": 0.001, "epochs": 20},
   ]

   # Start multiple processes, each running a separate experiment
   processes = []
   for params in experiment_params:
        p = multiprocessing.Process(target=run_experiment, args=(params,))
        p.start()
        processes.append(p)

   # Wait for all processes to complete
   for p in processes:
        p.join()

   # Optional: Explicitly shut down the backend
   wandb.teardown()
'''


#: The examples of ``Run.log`` ("method Run.log"), by their titles in the seed.
SEED_LOG_EXAMPLES = {
    'Basic usage': '''\
import trackd as wandb

run = wandb.init()
run.log({"accuracy": 0.9, "epoch": 5})
''',
    'Incremental logging': '''\
import trackd as wandb

run = wandb.init()
run.log({"loss": 0.2}, commit=False)
# Somewhere else when I'm ready to report this step:
run.log({"accuracy": 0.8})
''',
    'Histogram': '''\
import numpy as np
import trackd as wandb

# sample gradients at random from normal distribution
gradients = np.random.randn(100, 100)
run = wandb.init()
run.log({"gradients": wandb.Histogram(gradients)})
''',
    'Image from NumPy': '''\
import numpy as np
import trackd as wandb

run = wandb.init()
examples = []
for i in range(3):
    pixels = np.random.randint(low=0, high=256, size=(100, 100, 3))
    image = wandb.Image(pixels, caption=f"random field {i}")
    examples.append(image)
run.log({"examples": examples})
''',
    'Image from PIL': '''\
import numpy as np
from PIL import Image as PILImage
import trackd as wandb

run = wandb.init()
examples = []
for i in range(3):
    pixels = np.random.randint(
         low=0,
         high=256,
         size=(100, 100, 3),
         dtype=np.uint8,
    )
    pil_image = PILImage.fromarray(pixels, mode="RGB")
    image = wandb.Image(pil_image, caption=f"random field {i}")
    examples.append(image)
run.log({"examples": examples})
''',
    'Video from NumPy': '''\
import numpy as np
import trackd as wandb

run = wandb.init()
# axes are (time, channel, height, width)
frames = np.random.randint(
    low=0,
    high=256,
    size=(10, 3, 100, 100),
    dtype=np.uint8,
)
run.log({"video": wandb.Video(frames, fps=4)})
''',
    'Matplotlib plot': '''\
from matplotlib import pyplot as plt
import numpy as np
import trackd as wandb

run = wandb.init()
fig, ax = plt.subplots()
x = np.linspace(0, 10)
y = x * x
ax.plot(x, y)  # plot y = x^2
run.log({"chart": fig})
''',
    'PR Curve': '''\
import trackd as wandb

run = wandb.init()
run.log({"pr": wandb.plot.pr_curve(y_test, y_probas, labels)})
''',
    '3D Object': '''\
import trackd as wandb

run = wandb.init()
run.log(
    {
         "generated_samples": [
             wandb.Object3D(open("sample.obj")),
             wandb.Object3D(open("sample.gltf")),
             wandb.Object3D(open("sample.glb")),
         ]
    }
)
''',
}


def run_log_example(title: str, **given: Any) -> dict[str, Any]:
    """Run the ``Run.log`` example titled ``title`` as written, in this process and directory,
    leaving its run open; its namespace (``run``, its arrays...), which holds ``given`` first:
    the names the example uses but does not define (``y_test``...)."""
    namespace: dict[str, Any] = dict(given)
    exec(compile(SEED_LOG_EXAMPLES[title], f"<seed: {title}>", "exec"), namespace)  # noqa: S102
    return namespace
