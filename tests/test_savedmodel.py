"""SavedModel: models using the op save, reload in a fresh process after
`import tf_custom_op` and serve the same outputs; without the library the
error names the op and (through tf_custom_op.saved_model.load) the package;
`saved_model_cli show` lists the signature and the op."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tf_custom_op
from support import processes
from support.processes import child_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 180


def run_python(code, cwd, env_extra=None):
    """`code` in a fresh interpreter; the JSON it prints last."""
    proc = processes.run_python(code, env=env_extra, timeout=TIMEOUT, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Upsampler(tf.Module):
    """A tf.Module whose signature runs the custom op (unknown batch)."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(7)
        self.w = tf.Variable(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 5, 4], tf.float32, name="x")])
    def serve(self, x):
        shape = tf.stack([tf.shape(x)[0], 8, 10, 2])
        return {"y": tf.nn.relu(tf_custom_op.conv2d_transpose(x, self.w, shape, 2, "SAME"))}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    base = tmp_path_factory.mktemp("savedmodel")
    x = np.random.default_rng(3).standard_normal((3, 4, 5, 4)).astype(np.float32)
    module = Upsampler()
    module_dir = str(base / "module")
    tf.saved_model.save(module, module_dir, signatures={"serving_default": module.serve})
    expected = {"module": module.serve(tf.constant(x))["y"].numpy()}

    keras_dir = None
    try:
        import keras  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover
        keras = None
    if keras is not None:
        keras.utils.set_random_seed(5)
        model = keras.Sequential([keras.Input((4, 5, 4)),
                                  keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")])
        keras_dir = str(base / "keras")
        with tf_custom_op.patched():  # traced while patched: the custom op
            model.export(keras_dir, format="tf_saved_model", verbose=False)
        expected["keras"] = model(x).numpy()
    np.save(base / "x.npy", x)
    return dict(base=str(base), module=module_dir, keras=keras_dir, x=x, expected=expected)


def test_reload_in_fresh_process_serves_same_outputs(saved):
    out = run_python(f"""
        import json, numpy as np, tensorflow as tf
        import tf_custom_op  # registers the op
        x = np.load({os.path.join(saved['base'], 'x.npy')!r})
        res = {{}}
        m = tf.saved_model.load({saved['module']!r})
        res["module"] = m.signatures["serving_default"](x=tf.constant(x))["y"].numpy().tolist()
        keras_dir = {saved['keras']!r}
        if keras_dir:
            k = tf.saved_model.load(keras_dir)
            out = k.signatures["serving_default"](tf.constant(x))
            res["keras"] = list(out.values())[0].numpy().tolist()
            res["keras_serve"] = k.serve(tf.constant(x)).numpy().tolist()
        h = tf_custom_op.saved_model.load({saved['module']!r})  # keep a reference
        res["helper"] = h.serve(tf.constant(x))["y"].numpy().tolist()
        print(json.dumps(res))
        """, cwd=saved["base"])
    np.testing.assert_allclose(out["module"], saved["expected"]["module"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["helper"], saved["expected"]["module"], rtol=1e-5, atol=1e-5)
    if saved["keras"]:
        np.testing.assert_allclose(out["keras"], saved["expected"]["keras"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["keras_serve"], saved["expected"]["keras"],
                                   rtol=1e-5, atol=1e-5)


def test_saved_graph_holds_the_custom_op(saved):
    assert tf_custom_op.saved_model.uses_custom_op(saved["module"])
    if saved["keras"]:
        assert tf_custom_op.saved_model.uses_custom_op(saved["keras"])


def test_loading_without_the_library_fails_clearly(saved):
    out = run_python(f"""
        import json, os, tensorflow as tf
        res = {{}}
        try:  # no `import tf_custom_op`: TensorFlow's error names the op
            tf.saved_model.load({saved['module']!r})
            res["plain"] = None
        except Exception as err:
            res["plain"] = [type(err).__name__, str(err)]
        # With the package but its library missing: an error naming the package.
        import tf_custom_op
        try:
            tf_custom_op.saved_model.load({saved['module']!r})
            res["helper"] = None
        except Exception as err:
            res["helper"] = [type(err).__name__, str(err)]
        print(json.dumps(res))
        """, cwd=saved["base"], env_extra={"TF_CUSTOM_OP_LIBRARY": "/nonexistent/lib.so"})
    assert out["plain"] is not None
    assert "TfCustomOp>Conv2DBackpropInput" in out["plain"][1]
    assert "not registered" in out["plain"][1]
    assert out["helper"] is not None and out["helper"][0] == "OpLibraryError"
    assert "tf_custom_op" in out["helper"][1] and "import tf_custom_op" in out["helper"][1]
    assert "/nonexistent/lib.so" in out["helper"][1]


def test_saved_model_cli_show_lists_signature_and_op(saved):
    env = child_env()
    proc = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show",
         "--dir", saved["module"], "--all"],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=saved["base"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "signature_def['serving_default']" in out
    assert "inputs['x']" in out and "outputs['y']" in out
    assert "(-1, 8, 10, 2)" in out
    assert "TfCustomOp>Conv2DBackpropInput" in out
