"""Data-parallel training over several devices: one tower of the model per device, gradients averaged.

gpt-2-simple's sessions are graph mode, where ``tf.distribute`` strategies need their own session
set-up; towers are the graph-mode pattern that needs nothing else.  The batch is split evenly, each
device runs ``model.model`` on its share (the variables, made by the first tower, are shared by name,
so checkpoints keep gpt-2-simple's layout), and the loss is the towers' mean, which for equal shares is
the whole batch's mean: its gradients are the averaged tower gradients, computed on each tower's own
device (``colocate_gradients_with_ops``).
"""

from __future__ import annotations

from typing import Any, Callable


def device_path(name: str) -> str:
    """'GPU:1' -> '/device:GPU:1'; plain 'CPU' is the first CPU."""
    return f"/device:{name if ':' in name else name + ':0'}"


def lm_loss(tf, logits, context):
    """Mean next-token cross-entropy, as gpt-2-simple's finetune computes it."""
    return tf.reduce_mean(
        input_tensor=tf.nn.sparse_softmax_cross_entropy_with_logits(labels=context[:, 1:], logits=logits[:, :-1])
    )


def tower_loss(tf, model_fn: Callable[..., Any], hparams: Any, context: Any, devices: list[str]) -> Any:
    """The mean language-model loss of ``context`` split over ``devices`` (one tower each)."""
    shares = tf.split(context, len(devices), axis=0)
    losses = []
    for i, (device, share) in enumerate(zip(devices, shares)):
        with tf.device(device_path(device)):
            logits = model_fn(hparams=hparams, X=share, reuse=i > 0)["logits"]
            losses.append(lm_loss(tf, logits, share))
    return tf.add_n(losses) / len(devices)


class ColocatedOptimizer:
    """An optimizer whose gradients are computed on the device of the op they differentiate.

    gpt-2-simple's accumulating optimizer calls ``compute_gradients(loss, var_list)``; this passes the
    colocation flag, so each tower's backward pass stays on its device.
    """

    def __init__(self, opt: Any):
        self.opt = opt

    def compute_gradients(self, loss: Any, var_list: Any) -> Any:
        return self.opt.compute_gradients(loss, var_list, colocate_gradients_with_ops=True)

    def apply_gradients(self, grads_and_vars: Any) -> Any:
        return self.opt.apply_gradients(grads_and_vars)

    def minimize(self, loss: Any, var_list: Any) -> Any:
        return self.opt.minimize(loss, var_list=var_list, colocate_gradients_with_ops=True)
