"""A few SGD steps of a small conv model that uses the custom op, on one device
or under a tf.distribute strategy; prints the final weights as JSON.

    python tests/_distribute_job.py single
    python tests/_distribute_job.py mirrored        # 2 logical CPU devices (+ single)
    TF_CONFIG=... python tests/_distribute_job.py multiworker

Used by tests/test_distribute.py (each run is a fresh process: logical devices
and TF_CONFIG must be set before TensorFlow starts).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH = 4
STEPS = 3
LR = 0.1


def make_strategy(mode):
    if mode == "single":
        return None
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if mode == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.RING))
    raise SystemExit(f"unknown mode {mode}")


def train(strategy):
    """STEPS steps on one device (strategy None) or under `strategy`."""
    import tf_custom_op  # pylint: disable=import-outside-toplevel
    tf_custom_op.patch()  # tf.nn.conv2d's input gradient through the custom op
    tf_custom_op.patching.reset_stats()

    rng = np.random.default_rng(0)
    x_all = rng.standard_normal((GLOBAL_BATCH, 4, 4, 3)).astype(np.float32)
    target_all = rng.standard_normal((GLOBAL_BATCH, 8, 8, 5)).astype(np.float32)
    w1_init = (0.3 * rng.standard_normal((3, 3, 2, 3))).astype(np.float32)
    w2_init = (0.3 * rng.standard_normal((3, 3, 2, 5))).astype(np.float32)

    def loss_fn(w1, w2, x, target):
        batch = tf.shape(x)[0]
        # custom op forward (transpose conv), then tf.nn.conv2d whose input
        # gradient (needed for w1) goes through the patched gradient.
        h = tf.nn.relu(tf_custom_op.conv2d_transpose(x, w1, tf.stack([batch, 8, 8, 2]), 2, "SAME"))
        y = tf.nn.conv2d(h, w2, 1, "SAME")
        per_example = tf.reduce_mean(tf.square(y - target), axis=[1, 2, 3])
        return tf.reduce_sum(per_example) / GLOBAL_BATCH

    if strategy is None:
        w1, w2 = tf.Variable(w1_init), tf.Variable(w2_init)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = loss_fn(w1, w2, x_all, target_all)
            g1, g2 = tape.gradient(loss, [w1, w2])
            w1.assign_sub(LR * g1)
            w2.assign_sub(LR * g2)
            return loss
        replicas = 1
    else:
        with strategy.scope():
            w1, w2 = tf.Variable(w1_init), tf.Variable(w2_init)
        replicas = strategy.num_replicas_in_sync
        per_replica = GLOBAL_BATCH // replicas

        def shard(values):
            return strategy.experimental_distribute_values_from_function(
                lambda ctx: tf.constant(values[ctx.replica_id_in_sync_group * per_replica:
                                               (ctx.replica_id_in_sync_group + 1) * per_replica]))

        x_dist, target_dist = shard(x_all), shard(target_all)

        def replica_step(x, target):
            with tf.GradientTape() as tape:
                loss = loss_fn(w1, w2, x, target)
            return [loss] + tape.gradient(loss, [w1, w2])

        @tf.function
        def step():
            loss, g1, g2 = strategy.run(replica_step, args=(x_dist, target_dist))
            loss, g1, g2 = (strategy.reduce(tf.distribute.ReduceOp.SUM, t, axis=None)
                            for t in (loss, g1, g2))
            w1.assign_sub(LR * g1)
            w2.assign_sub(LR * g2)
            return loss

    losses = [float(step()) for _ in range(STEPS)]
    return {
        "replicas": replicas,
        "losses": losses,
        "w1": w1.numpy().tolist(),
        "w2": w2.numpy().tolist(),
        "custom_ops_built": tf_custom_op.patching.stats()["custom"],
    }


def main(mode):
    # The strategy (and logical devices) come before any other TF work.
    strategy = make_strategy(mode)
    result = {"mode": mode, "result": train(strategy)}
    if mode == "mirrored":  # the single-device reference, same process
        result["single"] = train(None)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
